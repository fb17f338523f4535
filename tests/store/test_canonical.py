"""Canonical JSON against RFC 8785's own examples, and as a round trip."""

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certify_store.canonical import canonical_json, format_number


@pytest.mark.parametrize(("bits", "expected"), [
    # RFC 8785, appendix B: IEEE 754 doubles (as hex) and their canonical text.
    ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
])
def test_numbers_read_as_ecmascript_writes_them(bits: str, expected: str) -> None:
    assert format_number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_the_rfc_example_object() -> None:
    value = json.loads('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
                       ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
                       ' "literals": [null, true, false]}')
    assert canonical_json(value) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}').encode()


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    encoded = canonical_json(dict.fromkeys(keys, 0)).decode()
    order = [json.loads(f"[{part.split(':')[0]}]")[0] for part in encoded[1:-1].split(",")]
    # U+1F600 is a surrogate pair (D83D DE00): it sorts before U+FB33 though its code point is larger.
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_seeds_beyond_two_to_the_53_stay_exact() -> None:
    seed = 2**62 - 1
    assert canonical_json({"seed": seed}) == b'{"seed":4611686018427387903}'


def test_values_without_a_json_encoding_are_refused() -> None:
    for bad in (float("nan"), float("inf"), {1: "x"}, b"bytes"):
        with pytest.raises((TypeError, ValueError)):
            canonical_json(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


def _as_doubles(value: object) -> object:
    """JSON has one number type: a float written as digits reads back as an integer."""
    if isinstance(value, dict):
        return {key: _as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_doubles(item) for item in value]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


@given(json_values)
def test_the_encoding_reads_back_as_the_same_value_and_ignores_key_order(value: object) -> None:
    encoded = canonical_json(value)
    assert _as_doubles(json.loads(encoded)) == _as_doubles(value)
    assert canonical_json(json.loads(encoded)) == encoded
    if isinstance(value, dict):
        assert canonical_json(dict(reversed(list(value.items())))) == encoded
