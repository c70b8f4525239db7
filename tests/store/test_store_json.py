"""The store's JSON: whichever encoder writes a document, the standard library reads back exactly what was written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idsync.store.rows import dumps, loads_mapping

DOCUMENTS: list[Any] = [
    {"displayName": "Tóth Ödön", "proxyAddresses": ["SMTP:a@b", "smtp:c@d"], "accountEnabled": True, "n": None},
    {"employeeNumber": 2**63 - 1, "negative": -(2**63), "beyond64": 2**70, "float": 1.5},
    {"quotes": 'say "hi"\\ back', "controls": "a\nb\tc\x00", "emoji": "\U0001f600"},
    {"undecodable": "caf\udce9"},  # a lone surrogate, as surrogateescape leaves a non-UTF-8 byte
    {1: "a key that is not text"},
    [["nested", ["lists"]], [], {}],
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_documents_round_trip(document: Any) -> None:
    text = dumps(document)
    assert isinstance(text, str)
    expected = json.loads(json.dumps(document))  # what the standard library makes of it (keys become text)
    assert json.loads(text) == expected


def test_text_is_compact_utf8_not_escaped() -> None:
    text = dumps({"sn": "Öztürk", "list": [1, 2]})
    assert text == '{"sn":"Öztürk","list":[1,2]}'


READ_BACK = [
    '{"beyond64":1180591620717411303424,"negative":-9223372036854775809,"max":18446744073709551615}',
    '{"a":12345678901234567890123,"text":"123456789012345678901"}',
    '{"almost":1234567890123456789,"pieces":"12345678 90123456789"}',
    '{"sn":"Öztürk","n":123456789012345678901234567890,"digits":"١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩"}',
    '{"undecodable":"caf\udce9","n":1}',
    '{"escaped":"caf\\udce9","n":99999999999999999999}',
    '{"float":1.5,"nan":NaN}',
]


@pytest.mark.parametrize("text", READ_BACK)
def test_documents_read_back_exactly(text: str) -> None:
    """Whatever the reader (orjson reads an integer beyond 64 bits as a float, and refuses NaN), a document reads
    as the standard library reads it: integers of any size stay exact integers."""
    got = loads_mapping(text)
    expected = json.loads(text)
    assert got == expected or (got.keys() == expected.keys() and "nan" in got)
    for key, value in expected.items():
        assert type(got[key]) is type(value), key
