"""The import fast path: a value reported to be in storage form is exactly what coerce would make of it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from idsync.model import AttributeSpec, AttributeType, coerce, in_storage_form

values = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(),
    st.booleans(),
    st.lists(st.one_of(st.none(), st.text(max_size=4), st.integers()), max_size=3),
)


@given(st.sampled_from(list(AttributeType)), st.booleans(), values)
def test_storage_form_means_coerce_changes_nothing(kind: AttributeType, multi: bool, value: Any) -> None:
    spec = AttributeSpec("a", kind, multi)
    if in_storage_form(spec, value):
        assert coerce(spec, value) == value


def test_text_in_storage_form() -> None:
    single, multi = AttributeSpec("a"), AttributeSpec("a", multivalued=True)
    assert in_storage_form(single, "x") and in_storage_form(multi, ["x", "y"])
    assert not in_storage_form(single, "") and not in_storage_form(single, ["x"]) and not in_storage_form(single, 1)
    assert not in_storage_form(multi, []) and not in_storage_form(multi, ["x", ""]) and not in_storage_form(multi, "x")
    assert not in_storage_form(AttributeSpec("n", AttributeType.INTEGER), 1)  # only text takes the fast path
