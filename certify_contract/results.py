"""What a certification returns: typed, frozen records, the same for every caller.

The library builds them, the command line prints them, the worker stores them
as JSON and the API reads them back into the same types, so its OpenAPI
document describes every field (each field's docstring is its description).
"""

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from certify_contract.errors import ErrorBody
from certify_contract.options import (
    Aggregate,
    CompileMode,
    Method,
    NoiseMode,
    Precision,
    Sampling,
    Scores,
    Sequential,
)
from certify_contract.records import RECORD_CONFIG, STRICT_RECORD_CONFIG, ReadsLikeJson

UNIT_RANGE = (0.0, 1.0)

StopReason = Literal["certified", "not_certifiable", "abstain", "converged", "n_max"]
# Why adaptive sampling stopped, in words (the dashboard shows these).
STOP_REASONS: dict[StopReason, str] = {
    "certified": "settled: certified at the radius asked",
    "not_certifiable": "settled: the radius asked cannot be certified",
    "abstain": "an upper bound showed the class cannot pass one half (no claim, no α spent)",  # noqa: RUF001
    "converged": "an upper bound showed the radius could grow by at most the tolerance",
    "n_max": "every look was taken",
}


@dataclass(frozen=True)
class ModelRef:
    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    name: str
    """The model's registered name."""
    sha256: str
    """Hash of the weights file: which exact model the certificate is about."""
    version: str | None = None
    """The registered version (`POST /models`); null for a model a worker serves from its files."""


@dataclass(frozen=True)
class PatchLayout(ReadsLikeJson):
    """Smooth-Reduce on images: resize, cut k patches at fixed offsets, resize each."""

    __pydantic_config__: ClassVar[dict[str, object]] = STRICT_RECORD_CONFIG

    k: int
    """Number of patches."""
    input_size: list[int]
    """(H, W) of the certified image."""
    resize: list[int] | None
    """(H, W) the image is resized to before cutting; null: not resized."""
    patch_size: list[int]
    """(H, W) of each patch."""
    offsets: list[list[int]]
    """(row, column) of each patch's top-left corner, fixed before any sampling."""
    model_size: list[int]
    """(H, W) each patch is resized to for the model."""
    interpolation: str
    """How both resizes interpolate."""


@dataclass(frozen=True)
class ClipLayout(ReadsLikeJson):
    """Smooth-Reduce on video: k clips of consecutive frames at fixed starts."""

    __pydantic_config__: ClassVar[dict[str, object]] = STRICT_RECORD_CONFIG

    kind: Literal["temporal-clips"]
    """Tells a clip layout from a patch layout."""
    k: int
    """Number of clips."""
    frames: int
    """Frames of the certified tensor."""
    clip_length: int
    """Frames per clip."""
    starts: list[int]
    """First frame of each clip, fixed before any sampling."""


@dataclass(frozen=True)
class TensorInput(ReadsLikeJson):
    """The certified tensor, given directly as a tensor (library use)."""

    __pydantic_config__: ClassVar[dict[str, object]] = STRICT_RECORD_CONFIG

    shape: list[int]
    """Shape of the certified tensor: (C, H, W), or (C, T, H, W) for video."""
    value_range: list[float]
    """Range of its values: always [0, 1] pixel space, where the noise is added."""


@dataclass(frozen=True)
class ImageInput(ReadsLikeJson):
    """The certified tensor, decoded from an uploaded image."""

    __pydantic_config__: ClassVar[dict[str, object]] = STRICT_RECORD_CONFIG

    shape: list[int]
    """Shape of the certified tensor (C, H, W): the model's input geometry."""
    value_range: list[float]
    """Range of its values: always [0, 1] pixel space, where the noise is added."""
    source_format: str
    """The upload's format as decoded (PNG, JPEG, ...)."""
    source_size: list[int]
    """The upload's (width, height) before resizing."""
    source_mode: str
    """The upload's Pillow mode (L, RGB, ...) before conversion."""
    resize_method: str
    """How the upload was resized to the model's input size."""


@dataclass(frozen=True)
class VideoInput(ReadsLikeJson):
    """The certified tensor, decoded and sampled from an uploaded video."""

    __pydantic_config__: ClassVar[dict[str, object]] = STRICT_RECORD_CONFIG

    shape: list[int]
    """Shape of the certified frame tensor (C, T, H, W)."""
    value_range: list[float]
    """Range of its values: always [0, 1] pixel space, where the noise is added."""
    source_container: str
    """The container format as demuxed (mp4, matroska, avi)."""
    source_codec: str
    """The video stream's codec."""
    source_size: list[int]
    """The stream's (width, height) before resizing."""
    source_fps: float | None
    """The stream's average frame rate, when it declares one."""
    decoded_frames: int
    """Frames decoded from the stream."""
    frame_policy: Literal["uniform", "fps"]
    """uniform: T frames spread evenly; fps: frames sampled at `policy_fps`."""
    policy_fps: float | None
    """The sampling rate of the fps policy; null for uniform."""
    frame_indices: list[int]
    """Which decoded frames (0-based, presentation order) make up the T frames."""
    frame_timestamps_s: list[float]
    """The presentation time of each of those frames."""
    resize_method: str
    """How frames were resized to the model's input size."""


DescribedInput = ImageInput | VideoInput
CertifiedInput = TensorInput | ImageInput | VideoInput


@dataclass(frozen=True)
class Certificate:
    """The smoothed classifier's prediction and a certified L2 radius.

    Guarantee: with probability at least `1 - alpha` over the certifier's own
    sampling, if `abstained` is false then the smoothed classifier predicts
    `label` at every input within L2 distance `radius` of the certified input
    (the tensor described by `input`, in [0, 1] pixel space).
    """

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    label: int | None
    """The certified class index; null when abstaining."""
    label_name: str | None
    """The class's name from the model's manifest; null when abstaining."""
    abstained: bool
    """True when the votes do not support any label at level alpha."""
    radius: float | None
    """Certified L2 radius in [0, 1] pixel units (rounded down); null when abstaining."""
    p_lower: float
    """One-sided (1 - alpha) Clopper-Pearson lower bound on the label's probability."""
    n_a: int
    """Votes for the label among the n estimation samples."""
    n: int
    """Estimation samples."""
    n0: int
    """Selection samples (the votes that chose the label)."""
    alpha: float
    """Failure probability of the certificate."""
    sigma: float
    """Noise level used."""
    method: Method
    """cohen, or smooth-reduce over patches."""
    aggregate: Aggregate | None
    """Smooth-Reduce's aggregation; null for cohen."""
    noise: NoiseMode | None
    """Smooth-Reduce's noise mode; null for cohen."""
    scores: Scores | None
    """What Smooth-Reduce aggregates; null for cohen."""
    geometry: PatchLayout | ClipLayout | None
    """Where the patches or clips lie; null for cohen."""
    lift_norm: float
    """Certified upper bound on the patch map's norm; the radius is divided by it (1 when shared)."""
    lift_norm_method: str
    """How `lift_norm` was bounded."""
    centre_error: float
    """Independent noise: bound on the distance between the float32 lifted centre the noise was
    added to and the exact lifted input; the radius is (sigma Phi^-1(p_lower) - centre_error) /
    lift_norm. 0 otherwise."""
    model: ModelRef
    """The model certified."""
    seed: int
    """Seed of the noise; the same seed gives the same certificate."""
    elapsed_s: float
    """Seconds spent sampling and counting."""
    selection_counts: list[int]
    """Per-class votes of the n0 selection samples."""
    estimation_counts: list[int]
    """Per-class votes of the n estimation samples (behind `n_a` and `p_lower`)."""
    input: CertifiedInput
    """The certified tensor, and how the upload became it."""
    sampling: Sampling = "fixed"
    """fixed: exactly n estimation samples; adaptive: stopped at a look declared before sampling."""
    model_evaluations: int | None = None
    """Base-model evaluations spent: (n0 + n) samples times the patches per sample."""
    n_max: int | None = None
    """Adaptive: the largest number of estimation samples it could have drawn; null when fixed."""
    looks: list[int] | None = None
    """Adaptive: the sample counts at which it looked, declared before sampling; null when fixed."""
    alpha_per_look: list[float] | None = None
    """Adaptive: the share of alpha each look spends (they sum to at most alpha); `p_lower` is
    the bound at the look it stopped at, with that look's share. Null when fixed, and with
    `sequential` cs (whose bound holds at every look at once at the full alpha)."""
    futility_alpha: float | None = None
    """Adaptive: the budget of the early stops that claim nothing; null when fixed."""
    looks_taken: int | None = None
    """Adaptive: how many looks it took (`n` is the sample count of the last one)."""
    stop_reason: StopReason | None = None
    """Adaptive: why it stopped: certified / not_certifiable (decision at `radius_asked`),
    abstain (an upper bound showed p <= 1/2), converged (the radius could grow by at most the
    tolerance), n_max (every look taken). Null when fixed."""
    radius_asked: float | None = None
    """Adaptive decision mode: the radius asked about; null otherwise."""
    certified_at_radius: bool | None = None
    """Adaptive decision mode: whether the input is certified at `radius_asked`; null otherwise."""
    tolerance: float | None = None
    """Adaptive estimation: the stop's tolerance (x sigma), so the stop re-derives from the record;
    null otherwise."""
    sequential: Sequential | None = None
    """Adaptive: the stopping rule: group (the looks split alpha; `alpha_per_look`) or cs (a
    confidence sequence at the full alpha, valid at every look at once; no `alpha_per_look`).
    Null when fixed."""
    precision: Precision = "fp32"
    """The base model's arithmetic (fp32, or bf16 / fp16 autocast): part of the classifier
    certified, like the model's weights."""
    compile: CompileMode = "off"
    """off (eager), or the torch.compile mode the base model ran in."""
    forward_rows: int | None = None
    """Rows of every forward pass when the model ran at one fixed batch shape (compiled, or
    reduced precision on CUDA), so that the votes do not depend on `batch_size`; null: the
    passes follow `batch_size` (the votes do not depend on it either)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Prediction:
    """PREDICT: the smoothed classifier's label, or an abstention.

    With probability at least `1 - alpha` the returned label, when not
    abstaining, is the smoothed classifier's prediction.
    """

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    label: int | None
    """The predicted class index; null when abstaining."""
    label_name: str | None
    """The class's name from the model's manifest; null when abstaining."""
    abstained: bool
    """True when the top two counts are not significantly different at level alpha."""
    p_value: float
    """Two-sided binomial test of the top two counts."""
    counts: list[int]
    """Per-class votes of the n samples."""
    n: int
    """Samples."""
    alpha: float
    """Failure probability."""
    sigma: float
    """Noise level used."""
    method: Method
    """cohen, or smooth-reduce over patches."""
    model: ModelRef
    """The model used."""
    seed: int
    """Seed of the noise."""
    elapsed_s: float
    """Seconds spent sampling and counting."""
    precision: Precision = "fp32"
    """The base model's arithmetic (fp32, or bf16 / fp16 autocast)."""
    compile: CompileMode = "off"
    """off (eager), or the torch.compile mode the base model ran in."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Outcome = Literal["succeeded", "failed", "canceled"]


@dataclass(frozen=True)
class JobOutcome:
    """How a certification job ended: a certificate, or the error that stopped it."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    outcome: Outcome
    certificate: Certificate | None = None
    error: ErrorBody | None = None

    def __post_init__(self) -> None:
        if (self.outcome == "succeeded") != (self.certificate is not None) or \
                (self.certificate is None) == (self.error is None):
            raise ValueError("A job outcome carries a certificate when it succeeded, else an error.")

    @classmethod
    def succeeded(cls, certificate: Certificate) -> "JobOutcome":
        return cls("succeeded", certificate=certificate)

    @classmethod
    def failed(cls, error: ErrorBody) -> "JobOutcome":
        return cls("failed", error=error)

    @classmethod
    def canceled(cls, detail: str) -> "JobOutcome":
        return cls("canceled", error=ErrorBody("canceled", detail))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
