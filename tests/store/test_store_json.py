"""The store's JSON: whichever encoder writes a document, the standard library reads back exactly what was written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idsync.store.rows import dumps

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
