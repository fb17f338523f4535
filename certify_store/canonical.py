"""Canonical JSON (RFC 8785, JCS): one byte string per value, so a signature is reproducible.

Keys sorted by their UTF-16 code units, no whitespace, strings with only the
escapes JSON requires, floats as ECMAScript writes them (shortest round trip).
One deliberate difference: Python integers are written exactly as digits at any
size (JCS would round those beyond 2**53 through a double); the service's
62-bit seeds must survive the encoding unchanged.
"""

import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["canonical_json", "format_number"]


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 encoding of a JSON value (dicts, lists, str, int, float, bool, None)."""
    return "".join(_parts(value)).encode("utf-8")


def _parts(value: Any) -> list[str]:
    if value is None or isinstance(value, bool):
        return [json.dumps(value)]
    if isinstance(value, int | float):
        return [format_number(value)]
    if isinstance(value, str):
        return [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, list | tuple):
        out = ["["]
        for index, item in enumerate(value):
            out += ([","] if index else []) + _parts(item)
        return [*out, "]"]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("Canonical JSON needs string keys.")
        out = ["{"]
        for index, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
            out += [","] if index else []
            out += [json.dumps(key, ensure_ascii=False), ":", *_parts(value[key])]
        return [*out, "}"]
    raise TypeError(f"Canonical JSON cannot encode {type(value).__name__}.")


def format_number(number: int | float) -> str:
    """ECMAScript's Number.prototype.toString for floats; exact digits for integers."""
    if isinstance(number, int):
        return str(number)
    if not math.isfinite(number):
        raise ValueError(f"Canonical JSON has no encoding for {number!r}.")
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # repr is the shortest string that reads back as the same double, as in ECMAScript.
    _, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), int(exponent) + len(digits)  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text
