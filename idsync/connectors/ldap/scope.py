"""Which entries belong to a directory connector's space: the ``containers`` subtrees, less the
``excluded_containers`` subtrees inside them, as MIM's container selection (a tree of included and excluded
OUs, where an OU included inside an excluded one is back in).

Every decision of the LDAP and Active Directory connectors about "within the containers" (full and delta import,
export, lookup, memberOf values) is this one: an entry belongs when the deepest of the containers and exclusions
that holds it is a container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from idsync.connectors.ldap.escaping import dn_key


def ends_with_rdns(key: str, suffix: str) -> bool:
    """``key`` is ``suffix`` or below it (both comparison keys, or both written the same way): the comma before the
    suffix must separate RDNs, not be an escaped comma inside a name (``cn=a\\,ou=staff`` is not below
    ``ou=staff``)."""
    if key == suffix:
        return True
    start = len(key) - len(suffix) - 1
    if start < 0 or not key.endswith(suffix) or key[start] != ",":
        return False
    backslashes = len(key[:start]) - len(key[:start].rstrip("\\"))
    return backslashes % 2 == 0


@dataclass(frozen=True)
class ContainerScope:
    """The containers (subtrees included) and exclusions (subtrees inside them left out), as configured."""

    containers: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    _marks: tuple[tuple[str, str, bool], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        marks = [(dn_key(c), c, True) for c in self.containers] + [(dn_key(e), e, False) for e in self.excluded]
        # deepest first: the first mark that holds a DN decides
        marks.sort(key=lambda mark: mark[0].count(","), reverse=True)
        object.__setattr__(self, "_marks", tuple(marks))

    @classmethod
    def of(cls, containers: Sequence[str], excluded: Sequence[str] = ()) -> ContainerScope:
        return cls(tuple(containers), tuple(excluded))

    def _deepest(self, dn: str) -> tuple[str, bool] | None:
        """The configured DN of the deepest container or exclusion holding ``dn``, and whether it is a container."""
        key = dn_key(dn)
        for mark, written, included in self._marks:
            if ends_with_rdns(key, mark):
                return written, included
        return None

    def holder(self, dn: str) -> str | None:
        """The container that includes ``dn``, when one does."""
        deepest = self._deepest(dn)
        return deepest[0] if deepest is not None and deepest[1] else None

    def includes(self, dn: str) -> bool:
        deepest = self._deepest(dn)
        return deepest is not None and deepest[1]

    def excluded_by(self, dn: str) -> str | None:
        """The exclusion that leaves ``dn`` out, when one does."""
        deepest = self._deepest(dn)
        return deepest[0] if deepest is not None and not deepest[1] else None

    def refusal(self, dn: str) -> str | None:
        """Why an entry at ``dn`` would be outside the connector space, or None when it is inside."""
        deepest = self._deepest(dn)
        if deepest is None:
            return f"the entry would be outside this connector's containers ({'; '.join(self.containers)})"
        written, included = deepest
        if included:
            return None
        return f"the entry would be inside {written!r}, one of this connector's excluded_containers"
