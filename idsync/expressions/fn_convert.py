"""Conversion, evaluation (IsNull, IsPresent…), bitwise and random functions."""

from __future__ import annotations

import base64
import binascii
import re
import string
import uuid
from datetime import datetime
from typing import Any

from idsync.expressions.dates import parse_loose
from idsync.expressions.errors import EvalFault
from idsync.expressions.library import ANY, FunctionSpec, check_constant
from idsync.expressions.values import (
    EvalContext,
    as_datetime,
    describe,
    integer,
    is_null_or_empty,
    make_rng,
    number,
    parse_number,
    text,
    text_or_empty,
    truth,
)

_GUID = re.compile(r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?")
_ENCODINGS = {"unicode": "utf-16-le", "utf8": "utf-8", "ascii": "ascii"}


def _binary(value: Any, what: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    raise EvalFault(f"expects a binary value ({what}), got {describe(value)}")


# -- conversion ---------------------------------------------------------------------------------------------------


def cbool(value: Any) -> bool:
    return truth(value)


def cdate(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)


def cguid(value: Any) -> bytes | None:
    s = text(value)
    if s is None:
        return None
    if not _GUID.fullmatch(s.strip()):
        raise EvalFault(f"{s!r} is not a GUID (expected 00001111-aaaa-2222-bbbb-3333cccc4444)")
    return uuid.UUID(s.strip().strip("{}")).bytes_le


def cnum(value: Any) -> int | float | None:
    return None if value is None else number(value)


def cstr(value: Any) -> str | None:
    return text(value)


def convert_to_base64(source: Any) -> str | None:
    """Text is encoded as UTF-16LE first ("Unicode base64", as .NET's Encoding.Unicode); a binary value, such
    as objectGUID for sourceAnchor, is encoded as it is."""
    if source is None:
        return None
    if isinstance(source, bytes | bytearray):
        return base64.b64encode(bytes(source)).decode("ascii")
    return base64.b64encode(text_or_empty(source).encode("utf-16-le")).decode("ascii")


def _codec(encoding: Any) -> str:
    name = "unicode" if encoding is None else text_or_empty(encoding).lower().replace("-", "")
    codec = _ENCODINGS.get(name)
    if codec is None:
        raise EvalFault(f"encoding must be Unicode, UTF8 or ASCII, got {encoding!r}")
    return codec


def convert_from_base64(source: Any, encoding: Any = None) -> str | None:
    s = text(source)
    if s is None:
        return None
    codec = _codec(encoding)
    try:
        raw = base64.b64decode(s, validate=True)
        return raw.decode(codec)
    except (binascii.Error, ValueError):
        raise EvalFault(f"{describe(s)} is not base64 text in {codec}") from None


def convert_to_utf8_hex(source: Any) -> str | None:
    s = text(source)
    return None if s is None else s.encode("utf-8").hex().upper()


def convert_from_utf8_hex(source: Any) -> str | None:
    s = text(source)
    if s is None:
        return None
    try:
        return bytes.fromhex(s).decode("utf-8")
    except ValueError:
        raise EvalFault(f"{describe(s)} is not UTF-8 hex") from None


def string_from_guid(value: Any) -> str | None:
    if value is None:
        return None
    raw = _binary(value, "16 bytes")
    if len(raw) != 16:
        raise EvalFault(f"a GUID is 16 bytes, got {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


def string_from_sid(value: Any) -> str | None:
    """The S-1-5-21-… form of a binary security identifier: revision, a 48-bit big-endian authority, then
    little-endian 32-bit sub-authorities."""
    if value is None:
        return None
    raw = _binary(value, "a security identifier")
    if len(raw) < 8 or len(raw) != 8 + 4 * raw[1]:
        raise EvalFault(f"a binary SID of {len(raw)} bytes is malformed")
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def not_(source: Any) -> bool:
    """Entra: "If source value is True, returns False. Otherwise, returns True", so a value that is no boolean
    at all is simply not true. Several values where one is expected stay an error."""
    try:
        return not truth(source)
    except EvalFault:
        if isinstance(source, list):
            raise
        return True


# -- evaluation ---------------------------------------------------------------------------------------------------


def is_null(value: Any) -> bool:
    return value is None or value == []


def is_null_or_empty_(value: Any) -> bool:
    return is_null_or_empty(value)


def is_present(value: Any) -> bool:
    return not is_null_or_empty(value)


def is_empty(value: Any) -> bool:
    return value == "" or (isinstance(value, list) and bool(value) and all(v == "" for v in value))


def is_string(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | datetime)


def is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and parse_number(value) is not None


def is_date(value: Any) -> bool:
    if isinstance(value, datetime):
        return True
    if not isinstance(value, str):
        return False
    try:
        parse_loose(value)
    except EvalFault:
        return False
    return True


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and _GUID.fullmatch(value.strip()) is not None


# -- bits and numbers ---------------------------------------------------------------------------------------------


def bit_and(value1: Any, value2: Any) -> int:
    return integer(value1) & integer(value2)


def bit_or(value1: Any, value2: Any) -> int:
    return integer(value1) | integer(value2)


def is_bit_set(value: Any, flag: Any) -> bool:
    return (integer(value) & integer(flag)) != 0


# -- random -------------------------------------------------------------------------------------------------------

_SPECIAL = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"  # Windows password complexity's special characters


def guid(ctx: EvalContext | None) -> str:
    rng = make_rng(ctx.random if ctx else None)
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_num(ctx: EvalContext | None, start: Any, end: Any) -> int:
    lo, hi = integer(start), integer(end)
    if lo > hi:
        raise EvalFault(f"start {lo} is greater than end {hi}")
    return make_rng(ctx.random if ctx else None).randint(lo, hi)


def random_string(
    ctx: EvalContext | None,
    length: Any,
    minimum_numbers: Any,
    minimum_special: Any,
    minimum_capital: Any,
    minimum_lower: Any,
    avoid: Any = None,
) -> str:
    total = integer(length)
    minimums = [integer(minimum_numbers), integer(minimum_special), integer(minimum_capital), integer(minimum_lower)]
    if not 0 < total <= 256:
        raise EvalFault(f"length must be between 1 and 256, got {total}")
    if any(m < 0 for m in minimums) or sum(minimums) > total:
        raise EvalFault(f"the minimums ({sum(minimums)} characters) do not fit in a length of {total}")
    banned = set(text_or_empty(avoid))
    pools = [
        [ch for ch in pool if ch not in banned]
        for pool in (string.digits, _SPECIAL, string.ascii_uppercase, string.ascii_lowercase)
    ]
    for pool, minimum, label in zip(
        pools, minimums, ("numbers", "special characters", "capitals", "lower case"), strict=True
    ):
        if minimum and not pool:
            raise EvalFault(f"every {label} character is in CharactersToAvoid")
    everything = [ch for pool in pools for ch in pool]
    if not everything:
        raise EvalFault("CharactersToAvoid leaves no characters to choose from")
    rng = make_rng(ctx.random if ctx else None)
    chars = [rng.choice(pool) for pool, minimum in zip(pools, minimums, strict=True) for _ in range(minimum)]
    chars += [rng.choice(everything) for _ in range(total - len(chars))]
    rng.shuffle(chars)
    return "".join(chars)


# -- specifications -----------------------------------------------------------------------------------------------


def _spec(
    name: str, signature: str, summary: str, example: str, category: str, lo: int, hi: int | None, **kw: Any
) -> FunctionSpec:
    return FunctionSpec(name, signature, summary, example, category, lo, hi, **kw)


CBOOL = _spec(
    "CBool",
    "CBool(expression)",
    "True when the expression is true or non-zero.",
    "CBool([attribute1] = [attribute2])",
    "conversion",
    1,
    1,
    impl=cbool,
)
CDATE = _spec(
    "CDate",
    "CDate(value)",
    "A UTC DateTime from text with a date, a time and optionally an offset.",
    'CDate("2009-06-15T01:45:30-07:00")',
    "conversion",
    1,
    1,
    impl=cdate,
)
CGUID = _spec(
    "CGuid",
    "CGuid(guid)",
    "The binary form of a GUID written as text.",
    'CGuid("00001111-aaaa-2222-bbbb-3333cccc4444")',
    "conversion",
    1,
    1,
    impl=cguid,
)
CNUM = _spec("CNum", "CNum(value)", "The number written in the text.", 'CNum("42")', "conversion", 1, 1, impl=cnum)
CREF = _spec(
    "CRef",
    "CRef(value)",
    "The text as a reference (a distinguished name).",
    'CRef("CN=Joe,DC=contoso,DC=com")',
    "conversion",
    1,
    1,
    impl=cstr,
)
CSTR = _spec("CStr", "CStr(value)", "The value as text.", "CStr([dn])", "conversion", 1, 1, impl=cstr)
CONVERT_TO_BASE64 = _spec(
    "ConvertToBase64",
    "ConvertToBase64(source)",
    "Base64 of the text's UTF-16LE bytes (of a binary value's bytes).",
    'ConvertToBase64("Hello world!")',
    "conversion",
    1,
    1,
    impl=convert_to_base64,
)
CONVERT_FROM_BASE64 = _spec(
    "ConvertFromBase64",
    "ConvertFromBase64(source[, encoding])",
    "The text encoded in base64; encoding is Unicode (the default), UTF8 or ASCII.",
    'ConvertFromBase64("SGVsbG8gd29ybGQh", UTF8)',
    "conversion",
    1,
    2,
    impl=convert_from_base64,
    check=check_constant(1, _codec),
)
CONVERT_TO_UTF8_HEX = _spec(
    "ConvertToUTF8Hex",
    "ConvertToUTF8Hex(source)",
    "The text's UTF-8 bytes in upper-case hexadecimal.",
    'ConvertToUTF8Hex("Hello world!")',
    "conversion",
    1,
    1,
    impl=convert_to_utf8_hex,
)
CONVERT_FROM_UTF8_HEX = _spec(
    "ConvertFromUTF8Hex",
    "ConvertFromUTF8Hex(source)",
    "The text whose UTF-8 bytes are given in hexadecimal.",
    'ConvertFromUTF8Hex("48656C6C6F20776F726C6421")',
    "conversion",
    1,
    1,
    impl=convert_from_utf8_hex,
)
STRING_FROM_GUID = _spec(
    "StringFromGuid",
    "StringFromGuid(guid)",
    "A binary GUID (objectGUID) as text.",
    "StringFromGuid([objectGUID])",
    "conversion",
    1,
    1,
    impl=string_from_guid,
)
STRING_FROM_SID = _spec(
    "StringFromSid",
    "StringFromSid(objectSid)",
    "A binary security identifier as S-1-5-21-… text.",
    "StringFromSid([objectSid])",
    "conversion",
    1,
    1,
    impl=string_from_sid,
)
GUID = _spec(
    "Guid", "Guid()", "A new random GUID.", "Guid()", "text", 0, 0, impl=guid, context=True, deterministic=False
)
NOT = _spec(
    "Not",
    "Not(source)",
    "False for a true source, otherwise true.",
    "Not([accountDisabled])",
    "evaluation",
    1,
    1,
    impl=not_,
)
IS_NULL = _spec(
    "IsNull",
    "IsNull(expression)",
    "True when the expression is null (an absent attribute).",
    "IsNull([displayName])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_null,
)
IS_NULL_OR_EMPTY = _spec(
    "IsNullOrEmpty",
    "IsNullOrEmpty(expression)",
    "True when the expression is null or an empty string.",
    "IsNullOrEmpty([displayName])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_null_or_empty_,
)
IS_PRESENT = _spec(
    "IsPresent",
    "IsPresent(expression)",
    "True when the expression is neither null nor an empty string.",
    "IsPresent([mail])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_present,
)
IS_EMPTY = _spec(
    "IsEmpty",
    "IsEmpty(expression)",
    "True when the attribute is present but an empty string.",
    "IsEmpty([mail])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_empty,
)
IS_STRING = _spec(
    "IsString",
    "IsString(expression)",
    "True when CStr can convert the value (not for binary values).",
    "IsString([objectGUID])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_string,
)
IS_NUMERIC = _spec(
    "IsNumeric",
    "IsNumeric(expression)",
    "True when CNum can convert the value.",
    "IsNumeric([employeeNumber])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_numeric,
)
IS_DATE = _spec(
    "IsDate",
    "IsDate(expression)",
    "True when CDate can convert the value.",
    "IsDate([hireDate])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_date,
)
IS_GUID = _spec(
    "IsGuid",
    "IsGuid(guid)",
    "True when the text is a GUID, with or without braces.",
    "IsGuid([strAttribute])",
    "evaluation",
    1,
    1,
    kinds=ANY,
    impl=is_guid,
)
BIT_AND = _spec(
    "BitAnd",
    "BitAnd(value1, value2)",
    "The bitwise AND of two numbers.",
    "BitAnd(&HF, &HF7)",
    "math",
    2,
    2,
    impl=bit_and,
    numbers=frozenset({0, 1}),
)
BIT_OR = _spec(
    "BitOr",
    "BitOr(value1, value2)",
    "The bitwise OR of two numbers.",
    "BitOr(&H1, &H2)",
    "math",
    2,
    2,
    impl=bit_or,
    numbers=frozenset({0, 1}),
)
IS_BIT_SET = _spec(
    "IsBitSet",
    "IsBitSet(value, flag)",
    "True when any bit of flag is set in value.",
    "IsBitSet(&HF, 4)",
    "evaluation",
    2,
    2,
    impl=is_bit_set,
    numbers=frozenset({0, 1}),
)
RANDOM_NUM = _spec(
    "RandomNum",
    "RandomNum(start, end)",
    "A random whole number from start to end inclusive.",
    "RandomNum(100, 999)",
    "math",
    2,
    2,
    impl=random_num,
    numbers=frozenset({0, 1}),
    context=True,
    deterministic=False,
)
RANDOM_STRING = _spec(
    "RandomString",
    "RandomString(length, minimumNumbers, minimumSpecialCharacters, minimumCapital, minimumLowerCase"
    "[, charactersToAvoid])",
    "A random string meeting the minimums (256 characters at most), from the OS's secure generator.",
    'RandomString(10, 2, 2, 2, 1, "?,")',
    "text",
    5,
    6,
    impl=random_string,
    numbers=frozenset(range(5)),
    context=True,
    deterministic=False,
)
