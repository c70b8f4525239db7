"""The fast paths of storage-form values: a value reported to be in storage form is exactly what coerce would make
of it; values equal as stored are equal under their attribute's comparison rule."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from idsync.model import (
    AttributeSpec,
    AttributeType,
    Compare,
    as_list,
    coerce,
    in_storage_form,
    normalize,
    values_equal,
)

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


def _equal_by_rule(spec: AttributeSpec, a: Any, b: Any) -> bool:
    """The comparison rule itself: normalized values, as sets when multi-valued."""
    if a is None or b is None:
        return a is None and b is None
    if spec.multivalued:
        return {normalize(spec, v) for v in as_list(a)} == {normalize(spec, v) for v in as_list(b)}
    return [normalize(spec, v) for v in as_list(a)] == [normalize(spec, v) for v in as_list(b)]


@given(st.sampled_from(list(AttributeType)), st.booleans(), st.sampled_from(list(Compare)), values, values)
@example(AttributeType.STRING, False, Compare.EXACT, 1, True)  # equal in Python, not as stored text
@example(AttributeType.STRING, True, Compare.EXACT, [0], [False])
@example(AttributeType.STRING, False, Compare.IGNORE_CASE, "Ann", "ANN")
def test_values_equal_is_the_comparison_rule(
    kind: AttributeType, multi: bool, compare: Compare, a: Any, b: Any
) -> None:
    spec = AttributeSpec("a", kind, multi, compare)
    assert values_equal(spec, a, b) == _equal_by_rule(spec, a, b)
    assert values_equal(spec, a, a) == _equal_by_rule(spec, a, a)
