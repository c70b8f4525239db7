"""Graph's error answers, read once: status, Graph's error code and message, the property they name, and whether
the same request may succeed later.

Graph refusals are per object and final (an invalid UPN domain stays invalid): they become export results with
Graph's own code and message. Throttling (429), server errors (5xx), a failed dependency in a batch (424) and
transport failures are transient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from idsync.connectors.base import ConnectorError

# How Graph's messages name the property they refuse when ``details`` carries no target: "Invalid value specified
# for property 'x'", "Property 'x' is read-only", "Property x is invalid.", "for property x already exists", "the
# domain portion of the x property is invalid", "a property named 'x'".
_PROPERTY_IN_MESSAGE = (
    re.compile(r"property '([A-Za-z0-9_.@]+)'", re.IGNORECASE),
    re.compile(r"\bproperty ([A-Za-z0-9_.@]+) (?:already exists|is invalid)", re.IGNORECASE),
    re.compile(r"\bthe ([A-Za-z][A-Za-z0-9_]*) property\b"),
    re.compile(r"named '([A-Za-z0-9_.@]+)'"),
)


# "Nesting is currently not supported for groups that can be assigned to a role."
_NESTING = "Nesting is currently not supported"


@dataclass(frozen=True)
class GraphFailure:
    status: int
    code: str
    message: str
    attribute: str | None = None

    @property
    def transient(self) -> bool:
        return self.status in (408, 424, 429) or self.status >= 500

    def describe(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @property
    def already_exists(self) -> bool:
        """Adding a link that is already there ("One or more added object references already exist")."""
        return self.status == 400 and "already exist" in self.message and "references" in self.message

    @property
    def about_members(self) -> bool:
        """A refusal of one of the members a request offered, without saying which: Graph's ``details`` name a
        ``members`` target (``membersWithLicenseErrors.members`` when a group may not hold a member's type), or
        the message is the refusal to nest a group in a role-assignable group, which may come with no details."""
        if self.status != 400:
            return False
        return (self.attribute or "").split(".")[-1] == "members" or _NESTING in self.message

    @property
    def conflict(self) -> bool:
        """A uniqueness refusal: "Another object with the same value for property X already exists"."""
        return self.status == 400 and "Another object with the same value" in self.message


def failure(status: int, body: Any) -> GraphFailure:
    """Read an error body shaped ``{"error": {"code", "message", "details": [{"target", ...}]}}``."""
    error: Mapping[str, Any] = {}
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        error = body["error"]
    code = str(error.get("code") or f"HTTP{status}")
    message = str(error.get("message") or "").strip()
    attribute = None
    for detail in error.get("details") or []:
        if isinstance(detail, Mapping) and detail.get("target"):
            attribute = str(detail["target"])
            break
    if attribute is None:
        for pattern in _PROPERTY_IN_MESSAGE:
            found = pattern.search(message)
            if found:
                attribute = found.group(1).split(".")[-1]
                break
    return GraphFailure(status, code, message, attribute)


class GraphRequestError(ConnectorError):
    """A request Graph refused (outside an export, where refusals are per object)."""

    def __init__(self, what: str, failure: GraphFailure) -> None:
        super().__init__(f"{what}: Graph answered {failure.status} {failure.describe()}")
        self.failure = failure


class AmbiguousRequest(ConnectorError):
    """A write whose fate is unknown: the connection dropped, timed out or a 5xx came back after retries."""
