"""JSON to the contract's typed records, without pydantic.

The API writes `certify_contract` records (and the job views below) as JSON;
`from_json` reads them back into the same frozen dataclasses, led by their
type hints. It tolerates fields it does not know (a newer server may add
some), and picks the member of a union of records whose fields the object
has (the geometry is a patch or a clip layout, the input an image, a video
or a tensor).
"""

import dataclasses
import types
from datetime import datetime
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from certify_client.errors import ApiError

T = TypeVar("T")


class RecordError(ValueError):
    """JSON that does not fit the record it should be."""


def from_json(kind: type[T], value: Any) -> T:
    """`value` (parsed JSON) as an instance of `kind`, a dataclass or a plain type."""
    result: T = _read(kind, value, kind.__name__)
    return result


def read_answer(kind: type[T], body: Any, url: str) -> T:
    """An answer of `url` as its record; an answer that does not fit is an `ApiError`."""
    try:
        return from_json(kind, body)
    except RecordError as exc:
        raise ApiError(200, "http_error", f"Unexpected answer from {url}: {exc}") from None


def _read(kind: Any, value: Any, where: str) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return _read_union(get_args(kind), value, where)
    if origin is Literal:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(f"{where}: expected a list, got {value!r}.")
        (item,) = get_args(kind) or (Any,)
        return [_read(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple and get_args(kind)[1:] == (Ellipsis,):  # JSON has lists only
        if not isinstance(value, list):
            raise RecordError(f"{where}: expected a list, got {value!r}.")
        return tuple(_read(get_args(kind)[0], v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or kind is Any or kind is dict:
        return value
    if dataclasses.is_dataclass(kind):
        return _read_record(kind, value, where)
    return _read_scalar(kind, value, where)


def _read_scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(kind, type) and isinstance(value, kind):
        return value
    raise RecordError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}.")


def _read_union(members: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in members:
        return None
    present = [m for m in members if m is not type(None)]
    records = [m for m in present if dataclasses.is_dataclass(m)]
    if records and isinstance(value, dict):
        # The record whose required fields are all there and that leaves the fewest unknown keys.
        fitting = [m for m in records if _required(m) <= value.keys()]
        fitting.sort(key=lambda m: len(value.keys() - {f.name for f in dataclasses.fields(m)}))
        if fitting:
            return _read_record(fitting[0], value, where)
    for member in present:
        try:
            return _read(member, value, where)
        except RecordError:
            continue
    raise RecordError(f"{where}: {value!r} fits none of {[getattr(m, '__name__', m) for m in present]}.")


def _required(record: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(record)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def _read_record(record: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected an object, got {value!r}.")
    missing = _required(record) - value.keys()
    if missing:
        raise RecordError(f"{where}: missing fields {sorted(missing)}.")
    hints = get_type_hints(record)
    known = {f.name for f in dataclasses.fields(record) if f.init}
    return record(**{name: _read(hints[name], value[name], f"{where}.{name}")
                     for name in known if name in value})
