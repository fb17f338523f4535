"""The form of `POST /certify`, derived from the one definition of the options.

Every option of `certify_contract.CertifyOptions` becomes a form field with
its type, default, bounds and help; the service adds only its own caps (so
that one request cannot occupy a worker for hours), the upload and the model
name. Unknown fields are refused, not ignored, and the rules between options
run here exactly as in the library.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from fastapi import UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    model_validator,
)
from starlette.datastructures import FormData

from certify_contract import OPTION_NAMES, OPTION_SPECS, CertifyOptions, OptionSpec

# The service's upper bounds, on top of the options' own (the library has none).
SERVICE_CAPS: Mapping[str, int] = {
    "n0": 100_000, "n": 1_000_000, "batch_size": 10_000, "resize": 1024, "patch_size": 1024,
    "patches": 1024, "stride": 1024, "patch_seed": 2**31 - 1, "frames": 1024,
}


class ModelOptionsBase(BaseModel):
    """The model and the options (added by `create_model`), checked together."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None, max_length=200, examples=["fmnist-cnn-s025"],
        description="Model name from GET /models (default: the default model for the media kind).",
    )

    _options: CertifyOptions | None = PrivateAttr(default=None)

    def options(self) -> CertifyOptions:
        assert self._options is not None, "built by the validator below"
        return self._options

    @model_validator(mode="after")
    def _rules_between_options(self) -> Self:
        # Raises InvalidOptionError (a ValueError) with the library's message.
        self._options = CertifyOptions.from_dict({name: getattr(self, name) for name in OPTION_NAMES})
        return self


class OptionsFormBase(ModelOptionsBase):
    """The model, the callback and the options, checked together."""

    callback_url: str | None = Field(
        default=None, max_length=2000, examples=["https://hooks.example.com/certify"],
        description="Where to POST the final view when it ends, signed (see the README's "
        "webhooks section); its host must be on the server's allow-list.",
    )


def _form_field(spec: OptionSpec) -> tuple[Any, Any]:
    bounds, cap = spec.meta.bounds, SERVICE_CAPS.get(spec.name)
    at_most = bounds.at_most if cap is None else min(cap, bounds.at_most or cap)
    return spec.annotation, Field(
        default=spec.default, description=spec.help_line, ge=bounds.at_least, gt=bounds.above,
        le=at_most, lt=bounds.below,
    )


class CertifyFormBase(OptionsFormBase):
    file: UploadFile = Field(description="The image or video to certify.")


def option_fields() -> dict[str, Any]:
    """The options as form fields, for `create_model` (also used by the batch form)."""
    return {spec.name: _form_field(spec) for spec in OPTION_SPECS}


if TYPE_CHECKING:  # to the type checker the form is its base; FastAPI sees every field
    CertifyForm = CertifyFormBase
else:
    CertifyForm = create_model("CertifyForm", __base__=CertifyFormBase, **option_fields())


CERTIFY_FORM_BODY = {"required": True, "content": {"multipart/form-data": {
    "schema": {"$ref": "#/components/schemas/CertifyForm"}}}}


def validated_form(fields: FormData) -> CertifyForm:
    """The form of `POST /certify`; errors read exactly as FastAPI's (422 `invalid_option`)."""
    # An empty field is an unset one, as browsers send untouched inputs.
    values = {name: value for name, value in fields.multi_items() if value != ""}
    try:
        return CertifyForm.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
