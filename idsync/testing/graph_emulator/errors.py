"""Graph's error responses.

Every refusal is a ``GraphError`` carrying the HTTP status, Graph's error code and message; the HTTP layer shapes it
like Graph does (``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``,
see the "Microsoft Graph error responses and resource types" page). Messages are Graph's own wording where the
docs or public reports quote it; each constructor below names its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GraphError(Exception):
    """A request Graph would refuse. ``details`` and ``headers`` are optional parts of the real responses."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


@dataclass
class EmuResponse:
    """A response before it meets a transport (HTTP, in-process, or a $batch item)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def error_body(error: GraphError, *, date: str, request_id: str, client_request_id: str) -> dict[str, Any]:
    inner: dict[str, Any] = {"date": date, "request-id": request_id, "client-request-id": client_request_id}
    body: dict[str, Any] = {"code": error.code, "message": error.message, "innerError": inner}
    if error.details:
        body["details"] = error.details
    return {"error": body}


def _resource(kind: str) -> str:
    return {"user": "User", "group": "Group", "application": "Application"}.get(kind, kind)


def not_found(object_id: str) -> GraphError:
    """Directory 404 wording (Azure AD Graph error reference, still used by Microsoft Graph for directory objects)."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are not present.",
    )


def conflict(prop: str) -> GraphError:
    """Uniqueness refusal: a 400, not a 409 (microsoft-graph-docs issue #1508 shows the body)."""
    return GraphError(
        400,
        "Request_BadRequest",
        f"Another object with the same value for property {prop} already exists.",
        details=[{"target": prop, "code": "ObjectConflict"}],
    )


def required(prop: str, kind: str) -> GraphError:
    return GraphError(
        400, "Request_BadRequest", f"A value is required for property '{prop}' of resource '{_resource(kind)}'."
    )


def invalid_value(prop: str, kind: str) -> GraphError:
    """A refused value; Graph names the property in ``details`` too (the response quoted in
    microsoft-graph-docs-contrib issue #6580)."""
    return GraphError(
        400,
        "Request_BadRequest",
        f"Invalid value specified for property '{prop}' of resource '{_resource(kind)}'.",
        details=[{"code": "InvalidValue", "target": prop}],
    )


def invalid_property(prop: str) -> GraphError:
    """The wording reported for a refused usageLocation ("Property usageLocation is invalid.", for the code UK); the
    ``details`` entry is modelled on :func:`invalid_value`'s."""
    return GraphError(
        400,
        "Request_BadRequest",
        f"Property {prop} is invalid.",
        details=[{"code": "InvalidValue", "target": prop}],
    )


def unknown_property(prop: str, kind: str) -> GraphError:
    return GraphError(
        400,
        "Request_BadRequest",
        f"Property '{prop}' does not exist on type 'microsoft.graph.{kind}'. Make sure to only use property names "
        "that are defined by the type or mark the type as open type.",
    )


def read_only(prop: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", f"Property '{prop}' is read-only and cannot be set.")


def wrong_type(prop: str, value: Any, edm_type: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Cannot convert the literal '{value}' to the expected type '{edm_type}' for property '{prop}'.",
    )


def on_premises_mastered() -> GraphError:
    """Graph's refusal to write attributes of an object still synchronized from on-premises AD."""
    return GraphError(
        400,
        "Request_BadRequest",
        "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
        "currently undergoing migration.",
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unsupported_query(message: str = "Unsupported Query.") -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)
