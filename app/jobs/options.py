"""`GET /options`: the certification options as the form of `POST /certify` takes them.

Built from the one definition (`certify_contract.OPTION_SPECS`) and the bounds
the form really enforces (the options' own and the service's caps), so a
client such as the dashboard can draw the form, with each option's default
and one-line help, without restating any of it.
"""

from typing import Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.form import CertifyForm
from certify_contract import OPTION_SPECS, MediaKind, OptionSpec

router = APIRouter()
OptionKind = Literal["choice", "integer", "number", "text"]


class OptionCondition(BaseModel):
    option: str = Field(description="The option this one depends on.", examples=["method"])
    value: str = Field(description="The value it must have.", examples=["smooth-reduce"])


class OptionInfo(BaseModel):
    name: str = Field(description="The form field's name.", examples=["n"])
    flag: str = Field(description="The command-line flag of `certify local` and `certify submit`.",
                      examples=["--n"])
    kind: OptionKind = Field(description="choice (one of `choices`), integer, number, or text.")
    choices: list[str] = Field(description="The allowed values of a choice; empty otherwise.")
    default: Any = Field(description="The default value; null when unset means `default_text`.")
    default_text: str = Field(description="The default in words.")
    help: str = Field(description="One line: what the option does.")
    optional: bool = Field(description="True when the option may be left unset.")
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    applies_when: OptionCondition | None = Field(
        default=None, description="The option applies only while another option has this value.")
    media: MediaKind | None = Field(
        default=None, description="The option applies to image or to video models only.")


class OptionList(BaseModel):
    options: list[OptionInfo]


def _kind(spec: OptionSpec) -> OptionKind:
    if spec.choices:
        return "choice"
    if spec.kind is int:
        return "integer"
    return "number" if spec.kind is float else "text"


def _enforced_bounds(name: str) -> dict[str, float]:
    """The bounds the form field checks, read from its constraints (caps included)."""
    names = {Ge: ("minimum", "ge"), Gt: ("exclusive_minimum", "gt"),
             Le: ("maximum", "le"), Lt: ("exclusive_maximum", "lt")}
    bounds: dict[str, float] = {}
    for constraint in CertifyForm.model_fields[name].metadata:
        for kind, (key, attribute) in names.items():
            if isinstance(constraint, kind):
                bounds[key] = getattr(constraint, attribute)
    return bounds


def _json_default(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def option_info(spec: OptionSpec) -> OptionInfo:
    when = spec.meta.when
    return OptionInfo(
        name=spec.name, flag=spec.flag, kind=_kind(spec), choices=list(spec.choices),
        default=_json_default(spec.default), default_text=spec.default_text, help=spec.meta.help,
        optional=spec.optional, **_enforced_bounds(spec.name),
        applies_when=OptionCondition(option=when[0], value=when[1]) if when else None,
        media=spec.meta.media,
    )


OPTION_LIST = OptionList(options=[option_info(spec) for spec in OPTION_SPECS])


@router.get("/options", response_model=OptionList, tags=["models"])
def list_options() -> OptionList:
    """The form fields of POST /certify besides `file` and `model`: defaults, bounds and help."""
    return OPTION_LIST
