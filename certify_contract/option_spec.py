"""The machinery behind `CertifyOptions`: how one field states everything about an option.

A field's annotation gives the option's type (a `Literal` gives its choices,
`| None` lets it be unset); `option(...)` gives its default, bounds, one line
of help and when it applies. `option_specs` reads both back into
`OptionSpec`s, from which the API form, the command-line flags and the HTTP
client are built, and which check values with precise messages.
"""

import dataclasses
import math
import types
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from certify_contract.errors import InvalidOptionError

T = TypeVar("T")
MediaKind = Literal["image", "video"]
_META = "certify_option"
MAX_TEXT = 400


@dataclass(frozen=True)
class Bounds:
    """An interval of allowed numbers; `None` leaves that side open-ended."""

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None

    def contains(self, value: float) -> bool:
        return not (
            (self.at_least is not None and value < self.at_least)
            or (self.above is not None and value <= self.above)
            or (self.at_most is not None and value > self.at_most)
            or (self.below is not None and value >= self.below)
        )

    @property
    def low(self) -> float | None:
        return self.at_least if self.at_least is not None else self.above

    @property
    def high(self) -> float | None:
        return self.at_most if self.at_most is not None else self.below

    def describe(self) -> str:
        """`in (0, 1)`, `>= 1`, ...: the phrase of an error message."""
        low, high = self.low, self.high
        if low is not None and high is not None:
            opening = "(" if self.above is not None else "["
            closing = ")" if self.below is not None else "]"
            return f"in {opening}{low:g}, {high:g}{closing}"
        if low is not None:
            return f"{'>' if self.above is not None else '>='} {low:g}"
        if high is not None:
            return f"{'<' if self.below is not None else '<='} {high:g}"
        return "a number"


@dataclass(frozen=True)
class OptionMeta:
    """What `option(...)` records on a field, beside its default."""

    help: str
    bounds: Bounds
    default_text: str | None
    when: tuple[str, str] | None
    media: MediaKind | None


def option(
    default: T, help: str, *, at_least: float | None = None, above: float | None = None,
    at_most: float | None = None, below: float | None = None, default_text: str | None = None,
    when: tuple[str, str] | None = None, media: MediaKind | None = None,
) -> T:
    """A dataclass field that is an option.

    `default_text` says what an unset (`None`) default means; `when=(name,
    value)` makes the option apply only while option `name` is `value`;
    `media` makes it apply to image or to video models only.
    """
    meta = OptionMeta(help, Bounds(at_least, above, at_most, below), default_text, when, media)
    return dataclasses.field(default=default, metadata={_META: meta})


@dataclass(frozen=True)
class OptionSpec:
    """Everything about one option, read back from its field."""

    name: str
    annotation: Any
    kind: type
    choices: tuple[str, ...]
    optional: bool
    default: Any
    meta: OptionMeta

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        return self.meta.default_text or str(self.default)

    @property
    def help_line(self) -> str:
        return f"{self.meta.help} (default: {self.default_text})"

    def check(self, value: object) -> None:
        """Raise `InvalidOptionError` unless `value` is allowed for this option."""
        if value is None and self.optional:
            return
        if self.choices:
            if value not in self.choices:
                raise InvalidOptionError(
                    f"Expected `{self.name}` in {list(self.choices)}, got {value!r}.", self.name)
            return
        bounds = self.meta.bounds
        if self.kind is str:
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise InvalidOptionError(
                    f"Expected `{self.name}` as text of at most {MAX_TEXT} characters, got {value!r:.100}.",
                    self.name)
            return
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not bounds.contains(value):
                raise InvalidOptionError(
                    f"Expected `{self.name}` to be an integer {bounds.describe()}, got {value!r}.",
                    self.name)
            return
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not bounds.contains(value):  # type: ignore[arg-type]
            raise InvalidOptionError(f"Expected `{self.name}` {bounds.describe()}, got {value!r}.",
                                     self.name)


def _type_parts(annotation: Any) -> tuple[type, tuple[str, ...], bool]:
    """(kind, choices, optional) of `int`, `float | None`, `Literal[...]`, ..."""
    union = get_origin(annotation) in (Union, types.UnionType)
    members = get_args(annotation) if union else (annotation,)
    present = [member for member in members if member is not type(None)]
    if len(present) != 1:
        raise TypeError(f"An option is one type, optionally `| None`; got {annotation}.")
    base = present[0]
    if get_origin(base) is Literal:
        return str, tuple(get_args(base)), len(present) < len(members)
    return base, (), len(present) < len(members)


def option_specs(options_class: type) -> tuple[OptionSpec, ...]:
    """The spec of every option field of the dataclass `options_class`, in field order."""
    hints = get_type_hints(options_class)
    specs = []
    for field in dataclasses.fields(options_class):
        kind, choices, optional = _type_parts(hints[field.name])
        specs.append(OptionSpec(field.name, hints[field.name], kind, choices, optional,
                                field.default, field.metadata[_META]))
    return tuple(specs)
