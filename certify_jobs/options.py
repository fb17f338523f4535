"""Certification options as the service accepts them, checked without torch.

Ranges and combinations mirror `certify_core.options.CertifyOptions.validate`
(the worker runs that check again); the service adds upper bounds so that
one request cannot occupy a worker for hours. A test keeps the two in step.
"""

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_N = 1_000_000
MAX_N0 = 100_000
MAX_BATCH_SIZE = 10_000
MAX_GEOMETRY = 1024
MAX_FRAMES = 1024
GEOMETRY_FIELDS = ("resize", "patch_size", "patches", "stride")


class OptionError(ValueError):
    """A combination of options the certifier would refuse."""


class CertifyForm(BaseModel):
    """The form fields of `POST /certify`, named like the command-line options."""

    # The multipart form also carries `file`; other unknown fields are ignored like
    # unknown JSON keys would be.
    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(
        default=None, max_length=200, examples=["fmnist-cnn-s025"],
        description="Model name from GET /models (default: the default model for the media kind).",
    )
    method: Literal["cohen", "smooth-reduce"] = Field(
        default="cohen", description="Plain randomized smoothing or Smooth-Reduce over patches."
    )
    aggregate: Literal["mean", "max"] = Field(default="mean", description="Smooth-Reduce only.")
    noise: Literal["shared", "independent"] = Field(
        default="shared", description="Smooth-Reduce noise: one draw for all patches, or one each."
    )
    scores: Literal["softmax", "logits"] = Field(default="softmax")
    sigma: float | None = Field(
        default=None, gt=0, le=10, description="Noise level (default: the model's training sigma)."
    )
    n0: int = Field(default=100, ge=1, le=MAX_N0, description="Selection samples.")
    n: int = Field(default=100_000, ge=1, le=MAX_N, description="Estimation samples.")
    alpha: float = Field(default=0.001, gt=0, lt=1, description="Failure probability.")
    batch_size: int = Field(default=1000, ge=1, le=MAX_BATCH_SIZE)
    resize: int | None = Field(default=None, ge=1, le=MAX_GEOMETRY, description="Pre-resize S.")
    patch_size: int | None = Field(default=None, ge=1, le=MAX_GEOMETRY, description="Patch size D.")
    patches: int | None = Field(
        default=None, ge=1, le=MAX_GEOMETRY, description="K patches at seeded random offsets."
    )
    stride: int | None = Field(
        default=None, ge=1, le=MAX_GEOMETRY, description="Grid of patches with this stride."
    )
    patch_seed: int = Field(default=0, ge=0, le=2**31 - 1)
    frames: int | None = Field(
        default=None, ge=1, le=MAX_FRAMES,
        description="Video only: frames in the certified tensor (default twice the model's clip).",
    )

    @model_validator(mode="after")
    def _check_combinations(self) -> Self:
        check_combinations(self.core_options())
        return self

    def core_options(self) -> dict[str, Any]:
        """The keyword arguments of `certify_core.CertifyOptions` (everything but the model)."""
        return self.model_dump(exclude={"model"})


def check_combinations(options: dict[str, Any]) -> None:
    if options.get("patches") is not None and options.get("stride") is not None:
        raise OptionError("Give either `patches` (random offsets) or `stride` (grid), not both.")
    if options.get("method") == "cohen":
        given = [name for name in GEOMETRY_FIELDS if options.get(name) is not None]
        if given:
            raise OptionError(f"Options {given} apply to method 'smooth-reduce' only, not 'cohen'.")
