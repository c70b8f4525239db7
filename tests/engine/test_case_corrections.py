"""Text values corrected only in case are changes a target keeps: staged, sent as one replace when the attribute is
multi-valued (so a server that compares values ignoring case neither skips the add nor deletes the value), and
remembered as sent."""

from __future__ import annotations

from typing import Any

import pytest

from idsync.engine.pending_exports import attribute_changes
from idsync.engine.reconciliation import record_success
from idsync.model import (
    AttributeSpec,
    AttributeType,
    Compare,
    CSObject,
    ExportOp,
    ObjectTypeSchema,
    PendingExport,
    ValueOp,
    recased,
    values_equal,
)

IGNORE = Compare.IGNORE_CASE


def _schema(*specs: AttributeSpec) -> ObjectTypeSchema:
    return ObjectTypeSchema("user", {s.name: s for s in specs})


def _changes(spec: AttributeSpec, wanted: Any, held: Any) -> list[tuple[str, ValueOp, list[Any]]]:
    found = attribute_changes(_schema(spec), {spec.name: (wanted, "rule")}, {spec.name: held})
    return [(c.name, c.op, c.values) for c in found]


@pytest.mark.parametrize("compare", [Compare.EXACT, IGNORE])
def test_a_secondary_address_made_primary_is_one_replace(compare: Compare) -> None:
    spec = AttributeSpec("proxyAddresses", multivalued=True, compare=compare)
    wanted = ["SMTP:ada@contoso.example", "smtp:ada.lovelace@contoso.example"]
    held = ["smtp:ada@contoso.example", "SMTP:ada.lovelace@contoso.example"]
    assert _changes(spec, wanted, held) == [("proxyAddresses", ValueOp.REPLACE, wanted)]


def test_a_multi_valued_text_corrected_in_case_is_one_replace_without_duplicates() -> None:
    spec = AttributeSpec("title", multivalued=True, compare=IGNORE)
    assert _changes(spec, ["Sales lead"], ["SALES LEAD"]) == [("title", ValueOp.REPLACE, ["Sales lead"])]
    # two spellings of one value under the rule: the replace holds one of them, as the server would
    assert _changes(spec, ["Sales lead", "SALES LEAD"], ["sales lead"]) == [("title", ValueOp.REPLACE, ["SALES LEAD"])]


def test_a_single_valued_text_corrected_in_case_is_a_replace() -> None:
    spec = AttributeSpec("displayName", compare=IGNORE)
    assert _changes(spec, "Ken McDonald", "Ken Mcdonald") == [("displayName", ValueOp.REPLACE, ["Ken McDonald"])]


def test_values_equal_as_written_and_other_changes_stay_as_they_were() -> None:
    multi = AttributeSpec("title", multivalued=True, compare=IGNORE)
    assert _changes(multi, ["b", "a"], ["a", "b"]) == []
    assert _changes(multi, ["a", "c"], ["A", "b"]) == [("title", ValueOp.REPLACE, ["a", "c"])]
    assert _changes(multi, ["a", "c"], ["a", "b"]) == [("title", ValueOp.ADD, ["c"]), ("title", ValueOp.REMOVE, ["b"])]
    # references compare by their rule: a server names entries in its own case
    member = AttributeSpec("member", AttributeType.REFERENCE, multivalued=True, compare=IGNORE)
    assert _changes(member, ["cn=Ada,ou=People,dc=x"], ["cn=ada,ou=people,dc=x"]) == []
    # a rule that compares exactly already saw the change
    exact = AttributeSpec("sn", compare=Compare.EXACT)
    assert _changes(exact, "McDonald", "Mcdonald") == [("sn", ValueOp.REPLACE, ["McDonald"])]


def test_a_replace_of_several_values_is_remembered_whole_and_confirmed_only_as_written() -> None:
    spec = AttributeSpec("title", multivalued=True, compare=IGNORE)
    cs = CSObject(7, "dir", "user", "cn=ken", anchor="k", hologram={"title": ["SALES LEAD", "Manager"]})
    changes = attribute_changes(_schema(spec), {"title": (["Sales lead", "Manager"], "rule")}, cs.hologram)
    cs.pending_export = PendingExport(ExportOp.UPDATE, changes, None, "rule")
    record_success(cs)
    assert cs.unconfirmed["title"]["value"] == ["Sales lead", "Manager"]
    # what the import must see back to confirm it: the values as written, not only equal under the rule
    assert values_equal(spec, ["SALES LEAD", "Manager"], cs.unconfirmed["title"]["value"])
    assert recased(spec, ["SALES LEAD", "Manager"], cs.unconfirmed["title"]["value"])
    assert not recased(spec, ["Manager", "Sales lead"], cs.unconfirmed["title"]["value"])
