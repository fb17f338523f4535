"""What the service offers: the models its workers serve, the options it takes, its health."""

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from certify_contract.option_spec import MediaKind
from certify_contract.records import RECORD_CONFIG
from certify_contract.registry import RegisteredModel
from certify_contract.throughput import Throughput

OptionKind = Literal["choice", "integer", "number", "text"]


@dataclass(frozen=True)
class WarmUp:
    """A precision and compile mode a worker ran (compiling, if asked) before its first job."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    precision: str
    """fp32, bf16 or fp16."""
    compile: str
    """off, or the torch.compile mode."""
    forward_rows: int | None
    """The fixed batch shape of its forward passes; null: they follow `batch_size`."""
    seconds: float
    """How long the warm-up took (compiling included)."""


@dataclass(frozen=True)
class ModelInfo:
    """A model live workers serve."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    name: str
    """The model's registered name."""
    kind: MediaKind
    """The media it takes: image or video."""
    sha256: str
    """Hash of the weights file."""
    workers: int
    """Live workers serving this model."""
    manifest: dict[str, Any]
    """The model's manifest: input shape, class names, training sigma, ..."""
    warm: list[WarmUp] = field(default_factory=list)
    """What a worker serving it warmed up before its first job: the manifest's default precision
    and compile mode, and those the operator listed (`CERTIFY_WARM_UP`). Other modes compile on
    first use, once per worker process."""
    throughput: list[Throughput] = field(default_factory=list)
    """Measured model passes per second, per arithmetic (`GET /estimate` divides by it); empty
    until a live worker has published a figure."""


@dataclass(frozen=True)
class ModelList:
    """The served models, and the defaults for each kind of media."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    default_image_model: str
    """The model an image goes to when the request names none."""
    default_video_model: str | None
    """The model a video goes to when the request names none."""
    models: list[ModelInfo]
    """Every model a live worker serves."""
    registered: list[RegisteredModel] = field(default_factory=list)
    """The latest version of every registered model the caller may see (`GET /models/{name}`
    lists all versions); a worker loads one on first use."""
    uploads_allowed: bool = False
    """Whether this caller may register a model with `POST /models` (`CERTIFY_MODEL_UPLOADS`:
    admin keys only, every tenant, or nobody)."""


@dataclass(frozen=True)
class Health:
    """A health probe's answer."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    status: str
    """`ok` (alive) or `ready` (Redis answers and a worker is live)."""
    workers: int | None = None
    """Live workers on the queue (readiness only)."""


@dataclass(frozen=True)
class OptionCondition:
    """An option that applies only while another option has a value."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    option: str
    """The option this one depends on."""
    value: str
    """The value it must have."""


@dataclass(frozen=True, kw_only=True)
class OptionInfo:
    """One certification option as the form of `POST /certify` takes it."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    name: str
    """The form field's name."""
    flag: str
    """The command-line flag of `certify local` and `certify submit`."""
    kind: OptionKind
    """choice (one of `choices`), integer, number, or text."""
    choices: list[str]
    """The allowed values of a choice; empty otherwise."""
    default: Any
    """The default value; null when unset means `default_text`."""
    default_text: str
    """The default in words."""
    help: str
    """One line: what the option does."""
    optional: bool
    """True when the option may be left unset."""
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    applies_when: OptionCondition | None = None
    """The option applies only while another option has this value."""
    media: MediaKind | None = None
    """The option applies to image or to video models only."""


@dataclass(frozen=True)
class OptionList:
    """The form fields of `POST /certify` besides `file` and `model`."""

    __pydantic_config__: ClassVar[dict[str, object]] = RECORD_CONFIG

    options: list[OptionInfo]
