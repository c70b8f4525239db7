"""The HTTP side of the connector: one httpx client (HTTP/2, verified TLS), retries, throttling, paging, $batch.

Everything goes through :meth:`GraphClient.request`, which takes a slot from the rate governor, waits out 429s
(``Retry-After``, globally), retries 5xx answers and timeouts with backoff and jitter when the request is safe to
repeat, and reports the rest. A write whose fate is unknown (a POST whose connection dropped, a 5xx to a
``$batch``) is not repeated here: it raises :class:`AmbiguousRequest` so the caller can look the object up first.
Links Graph returns (nextLink, deltaLink) are followed only to the configured Graph host: the bearer token never
goes anywhere else.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from idsync.connectors.base import ConnectivityError, ConnectorError
from idsync.connectors.graph.errors import AmbiguousRequest, GraphFailure, GraphRequestError, failure
from idsync.connectors.graph.throttle import RateGovernor, Sleep, backoff, retry_after_seconds

JSON = dict[str, Any]


@dataclass
class ClientStats:
    http_requests: int = 0
    batches: int = 0
    batch_items: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    transport_errors: int = 0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    max_throttle_waits: int = 60
    base_seconds: float = 1.0
    max_seconds: float = 60.0


@dataclass
class BatchItem:
    """One request of a JSON batch. ``url`` is relative to the version root (``/users/{id}``)."""

    id: str
    method: str
    url: str
    body: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> JSON:
        out: JSON = {"id": self.id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            out["body"] = self.body
            headers.setdefault("Content-Type", "application/json")
        if headers:
            out["headers"] = headers
        return out


@dataclass
class BatchAnswer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def failure(self) -> GraphFailure:
        return failure(self.status, self.body)


class GraphClient:
    def __init__(
        self,
        http: httpx.Client,
        root: str,
        governor: RateGovernor,
        policy: RetryPolicy,
        *,
        rng: random.Random | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.http = http
        self.root = root.rstrip("/")
        parts = urlsplit(self.root)
        self.origin = (parts.scheme, parts.netloc.lower())
        self.governor = governor
        self.policy = policy
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.stats = ClientStats()

    # urls ---------------------------------------------------------------------------------------------------------
    def url(self, path_or_link: str) -> str:
        """An absolute URL on the Graph host: a path relative to the version root, or a link Graph returned."""
        if "://" not in path_or_link:
            return f"{self.root}/{path_or_link.lstrip('/')}"
        parts = urlsplit(path_or_link)
        if (parts.scheme, parts.netloc.lower()) != self.origin:
            raise ConnectorError(
                f"Graph returned a link to {parts.scheme}://{parts.netloc}, not to the configured endpoint "
                f"{self.origin[0]}://{self.origin[1]}; refusing to send the access token there"
            )
        return path_or_link

    # one request ------------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send until Graph gives a final answer. Non-idempotent requests (POST) are never resent after an
        ambiguous failure: :class:`AmbiguousRequest` tells the caller to find out first."""
        repeatable = method != "POST" if idempotent is None else idempotent
        url = self.url(path)
        attempt = 0
        waits = 0
        while True:
            self.governor.acquire()
            try:
                self.stats.http_requests += 1
                response = self.http.request(method, url, params=params, json=json_body, headers=headers)
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                if not repeatable:
                    raise AmbiguousRequest(f"{what}: {type(exc).__name__}: {exc}") from None
                attempt += 1
                if attempt > self.policy.max_retries:
                    raise ConnectivityError(f"{what}: Graph did not answer after {attempt} tries ({exc})") from None
                self._pause(attempt)
                continue
            finally:
                self.governor.release()
            if response.status_code == 429:
                waits += 1
                self.stats.throttled += 1
                wait = retry_after_seconds(response.headers, self._delay(waits))
                self.governor.throttled(wait if wait is not None else 1.0)
                if waits > self.policy.max_throttle_waits:
                    raise ConnectorError(f"{what}: still throttled by Graph after {waits - 1} waits; try again later")
                continue
            if response.status_code >= 500:
                self.stats.server_errors += 1
                if not repeatable:
                    raise AmbiguousRequest(f"{what}: Graph answered {response.status_code}")
                attempt += 1
                if attempt > self.policy.max_retries:
                    return response
                self._pause(attempt, retry_after_seconds(response.headers))
                continue
            self.governor.succeeded()
            return response

    def _delay(self, attempt: int) -> float:
        return backoff(attempt - 1, self.policy.base_seconds, self.policy.max_seconds, self.rng)

    def _pause(self, attempt: int, asked: float | None = None) -> None:
        self.stats.retries += 1
        self.sleep(asked if asked is not None else self._delay(attempt))

    def get_json(
        self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None, what: str
    ) -> JSON:
        response = self.request("GET", path, params=params, headers=headers, what=what)
        return self.checked(response, what)

    def checked(self, response: httpx.Response, what: str) -> JSON:
        body = _body(response)
        if response.status_code < 400:
            return body if isinstance(body, dict) else {}
        problem = failure(response.status_code, body)
        if response.status_code in (401, 403):
            raise ConnectivityError(
                f"{what}: Graph answered {response.status_code} {problem.describe()} (check the app's application "
                "permissions and admin consent: User.ReadWrite.All, Group.ReadWrite.All)"
            )
        raise GraphRequestError(what, problem)

    def pages(
        self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None, what: str
    ) -> Iterator[JSON]:
        """Every page of a collection, following ``@odata.nextLink`` (which already carries the query)."""
        body = self.get_json(path, params=params, headers=headers, what=what)
        yield body
        while isinstance(body.get("@odata.nextLink"), str):
            body = self.get_json(body["@odata.nextLink"], headers=headers, what=what)
            yield body

    # $batch -----------------------------------------------------------------------------------------------------
    def batch(self, items: Sequence[BatchItem], *, what: str, reads_only: bool = False) -> dict[str, BatchAnswer]:
        """Send up to 20 requests in one ``POST /$batch``; answers by request id. A 5xx or a dropped connection
        for a batch with writes raises :class:`AmbiguousRequest` (they may or may not have happened); a batch of
        reads is simply sent again."""
        if not items:
            return {}
        self.stats.batches += 1
        self.stats.batch_items += len(items)
        response = self.request(
            "POST", "$batch", json_body={"requests": [i.to_json() for i in items]}, what=what, idempotent=reads_only
        )
        body = self.checked(response, what)
        answers: dict[str, BatchAnswer] = {}
        for entry in body.get("responses") or []:
            if not isinstance(entry, dict) or "id" not in entry:
                continue
            headers = {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
            answers[str(entry["id"])] = BatchAnswer(int(entry.get("status", 500)), entry.get("body"), headers)
        return answers

    def read_batch(self, items: Sequence[BatchItem], *, what: str) -> dict[str, BatchAnswer]:
        """A ``$batch`` of reads, with the requests Graph throttled or failed (429, 5xx) sent again until each has
        a final answer or the retries run out (then the last answer is returned)."""
        todo = list(items)
        final: dict[str, BatchAnswer] = {}
        errors = throttles = 0
        while todo:
            answers = self.batch(todo, what=what, reads_only=True)
            again: list[BatchItem] = []
            throttled = failed = False
            for item in todo:
                answer = answers.get(item.id)
                if answer is not None:
                    final[item.id] = answer
                if answer is None or answer.status >= 500:
                    failed = True
                elif answer.status == 429:
                    throttled = True
                    self.stats.throttled += 1
                    self.governor.throttled(retry_after_seconds(answer.headers, 1.0) or 1.0)
                else:
                    continue
                again.append(item)
            errors += failed
            throttles += throttled
            if not again or errors > self.policy.max_retries or throttles > self.policy.max_throttle_waits:
                break
            if failed and not throttled:
                self._pause(errors)
            todo = again
        return final

    def read_all(self, items: Sequence[BatchItem], *, what: str, size: int) -> dict[str, BatchAnswer]:
        """Any number of reads, ``size`` per ``$batch`` (request ids must be unique across ``items``)."""
        answers: dict[str, BatchAnswer] = {}
        for start in range(0, len(items), size):
            answers.update(self.read_batch(items[start : start + size], what=what))
        return answers

    def close(self) -> None:
        self.http.close()


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return {"error": {"code": f"HTTP{response.status_code}", "message": response.text[:300]}}
