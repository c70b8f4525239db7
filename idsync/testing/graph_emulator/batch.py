"""JSON batching (``POST /$batch``), per "Combine multiple HTTP requests using JSON batching":

- at most 20 requests, each with a unique ``id`` (case-insensitive), ``method`` and relative ``url``; a body (a JSON
  object, or a base64 URL-encoded value) needs a ``Content-Type`` header; a malformed batch is a 400 for the whole
  request, otherwise the batch is a 200 and each item carries its own status;
- ``dependsOn`` names earlier requests; if one of them failed, the dependent request is not run and answers
  ``424 Failed Dependency``; a dependency on an id that does not come earlier is a 400;
- "Batch should be either fully sequential or fully parallel": either no request has ``dependsOn``, or each request
  after the first depends on the one before it (the order of the page's example). Anything else is refused whole
  with that sentence, the 400 Graph gives (microsoft-graph-docs-contrib issue #2339, where Microsoft corrected the
  page's mixed example); the error code is modelled on the other batch refusals. Several requests depending on the
  same one are refused too, as the words say, though older SDKs allowed that shape;
- each item is evaluated on its own against the throttling limits (429 per item).

Items run in the order given, which satisfies every valid ``dependsOn``. Graph gives no body for 424 in the docs;
the emulator sends a Graph-shaped error naming the failed dependency.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from idsync.testing.graph_emulator import errors
from idsync.testing.graph_emulator.errors import EmuResponse, GraphError, error_body

if TYPE_CHECKING:
    from idsync.testing.graph_emulator.auth import AppRegistration
    from idsync.testing.graph_emulator.service import EmuRequest, GraphService

MAX_BATCH = 20


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def run_batch(service: GraphService, request: EmuRequest, app: AppRegistration, version: str) -> EmuResponse:
    from idsync.testing.graph_emulator.service import EmuRequest, split_url

    payload = request.json()
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise _invalid("Invalid batch payload format.")
    if len(items) > MAX_BATCH:
        raise _invalid(f"Number of batch request steps exceeds the maximum of {MAX_BATCH}.")
    seen: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "method", "url")):
            raise _invalid("Each batch request requires the 'id', 'method' and 'url' properties.")
        check_batch_url(item["url"])
        item_id = item["id"].lower()
        if item_id in seen:
            raise _invalid(f"Batch request contains duplicate request id '{item['id']}'.")
        for dependency in item.get("dependsOn") or []:
            if str(dependency).lower() not in seen:
                raise _invalid(f"Invalid dependency for request Id '{item['id']}': '{dependency}'.")
        if "body" in item and not any(k.lower() == "content-type" for k in (item.get("headers") or {})):
            raise _invalid(f"Content-Type header is required when a body is present (request Id '{item['id']}').")
        seen.append(item_id)
    check_sequencing(items)

    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in items:
        item_id = item["id"]
        failed = [d for d in item.get("dependsOn") or [] if statuses.get(str(d).lower(), 0) >= 400]
        if failed:
            error = GraphError(424, "FailedDependency", f"The dependent request '{failed[0]}' failed.")
            body = error_body(
                error,
                date=service.tenant.clock.iso_now().rstrip("Z"),
                request_id=item_id,
                client_request_id=request.headers.get("client-request-id", item_id),
            )
            statuses[item_id.lower()] = 424
            responses.append(
                {"id": item_id, "status": 424, "headers": {"Content-Type": "application/json"}, "body": body}
            )
            continue
        url = item["url"]
        path, query = split_url(url if url.startswith("/") else "/" + url)
        headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        headers.setdefault("client-request-id", request.headers.get("client-request-id", item_id))
        body_bytes = _body_bytes(item["body"]) if "body" in item else b""
        sub = EmuRequest(item["method"].upper(), f"/{version}{path}", query, headers, body_bytes, request.base)
        response = service.handle(sub, batch_item=True, app=app)
        statuses[item_id.lower()] = response.status
        entry: dict[str, Any] = {"id": item_id, "status": response.status, "headers": response.headers}
        if response.body is not None:
            entry["body"] = response.body
        responses.append(entry)
    return EmuResponse(200, {"responses": responses})


def check_sequencing(items: list[dict[str, Any]]) -> None:
    """Fully parallel (no ``dependsOn``) or fully sequential (each request depends on the one before it)."""
    depends = [[str(d).lower() for d in item.get("dependsOn") or []] for item in items]
    if not any(depends):
        return
    chained = all(depends[n] == [str(items[n - 1]["id"]).lower()] for n in range(1, len(items)))
    if depends[0] or not chained:
        raise _invalid("Batch should be either fully sequential or fully parallel.")


def check_batch_url(url: str) -> None:
    if url.startswith("http"):
        raise errors.bad_request("The url of a batch request must be relative.", code="BadRequest")


def _body_bytes(body: Any) -> bytes:
    """A JSON body as sent; a string is the base64 URL-encoded form of the body ("Might be a JSON object or a base64
    URL-encoded value"). Text that does not decode is passed on as it is, and refused as the request's JSON."""
    if isinstance(body, str):
        try:
            # URL-safe or standard alphabet, padding optional
            standard = body.replace("-", "+").replace("_", "/")
            return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            return body.encode()
    return json.dumps(body).encode()
