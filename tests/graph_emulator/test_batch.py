from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from idsync.testing.graph_emulator import GraphTenant

from .conftest import error_of, new_user


def _item(item_id: str, method: str, url: str, body: Any = None, depends: list[str] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "method": method, "url": url}
    if body is not None:
        item["body"] = body
        item["headers"] = {"Content-Type": "application/json"}
    if depends:
        item["dependsOn"] = depends
    return item


def _responses(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_batch_runs_each_request_and_reports_each_status(client: httpx.Client, tenant: GraphTenant) -> None:
    batch = {
        "requests": [
            _item("1", "POST", "/users", new_user("bat")),
            _item("2", "POST", "/users", new_user("bat")),  # duplicate: refused on its own
            _item("3", "GET", "users?$select=userPrincipalName"),
        ]
    }
    out = _responses(client.post("/v1.0/$batch", json=batch))
    assert out["1"]["status"] == 201 and out["1"]["body"]["userPrincipalName"] == "bat@contoso.com"
    assert out["2"]["status"] == 400
    assert out["2"]["body"]["error"]["details"] == [{"target": "userPrincipalName", "code": "ObjectConflict"}]
    assert [u["userPrincipalName"] for u in out["3"]["body"]["value"]] == ["bat@contoso.com"]
    assert len(tenant.users()) == 1


def test_batch_urls_are_percent_decoded_like_request_lines(client: httpx.Client, tenant: GraphTenant) -> None:
    # A user addressed by an encoded UPN inside a batch (an apostrophe, a guest's #EXT#) is the same user.
    boss = tenant.add_user("boss@contoso.com")
    batch = {
        "requests": [
            _item("1", "POST", "/users", new_user("o'hara")),
            _item(
                "2",
                "PUT",
                "/users/o%27hara%40contoso.com/manager/$ref",
                {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{boss}"},
                depends=["1"],
            ),
        ]
    }
    out = _responses(client.post("/v1.0/$batch", json=batch))
    assert out["1"]["status"] == 201 and out["2"]["status"] == 204
    assert tenant.manager_of(out["1"]["body"]["id"]) == boss


def test_depends_on_failure_gives_424_and_does_not_run(client: httpx.Client, tenant: GraphTenant) -> None:
    group = tenant.add_group("g1")
    batch = {
        "requests": [
            _item("a", "POST", "/users", new_user("runs")),
            _item("b", "POST", "/users", {"displayName": "missing the rest"}, depends=["a"]),
            _item("c", "POST", "/users", new_user("never"), depends=["b"]),
            _item("d", "PATCH", f"/groups/{group}", {"description": "after c"}, depends=["c"]),
        ]
    }
    out = _responses(client.post("/v1.0/$batch", json=batch))
    assert [out[i]["status"] for i in "abcd"] == [201, 400, 424, 424]  # a failure fails everything after it
    assert [u["userPrincipalName"] for u in tenant.users()] == ["runs@contoso.com"]
    assert "description" not in tenant.get(group)


@pytest.mark.parametrize(
    "depends",
    [
        # the page's old example: 1 and 3 first, then 2 after 1, then 4 after 2 and 3 (issue #2339: a 400)
        {"2": ["1"], "4": ["2", "3"]},
        {"2": ["1"]},  # a chain beside a request on its own
        {"2": ["1"], "3": ["1"], "4": ["1"]},  # all after the same one: not a sequence either
        {"3": ["1"], "4": ["3"]},  # skips a request
    ],
)
def test_a_batch_is_fully_sequential_or_fully_parallel(
    client: httpx.Client, tenant: GraphTenant, depends: dict[str, list[str]]
) -> None:
    ids = ["1", "2", "3", "4"]
    batch = {"requests": [_item(i, "POST", "/users", new_user(f"seq{i}"), depends=depends.get(i)) for i in ids]}
    response = client.post("/v1.0/$batch", json=batch)
    assert response.status_code == 400
    assert error_of(response)["message"] == "Batch should be either fully sequential or fully parallel."
    assert tenant.users() == []
    sequence = [
        _item(i, "POST", "/users", new_user(f"seq{i}"), depends=[ids[n - 1]] if n else None) for n, i in enumerate(ids)
    ]
    out = _responses(client.post("/v1.0/$batch", json={"requests": sequence}))
    assert [out[i]["status"] for i in ids] == [201] * 4


@pytest.mark.parametrize(
    ("requests", "fragment"),
    [
        ([_item(str(i), "GET", "/users") for i in range(21)], "maximum of 20"),
        ([_item("1", "GET", "/users"), _item("1", "GET", "/groups")], "duplicate"),
        ([_item("1", "GET", "/users", depends=["2"]), _item("2", "GET", "/users")], "Invalid dependency"),
        ([{"id": "1", "method": "POST", "url": "/users", "body": {}}], "Content-Type"),
        ([_item("1", "GET", "https://graph.microsoft.com/v1.0/users")], "relative"),
        ([], "Invalid batch"),
    ],
)
def test_malformed_batches_are_400(client: httpx.Client, requests: list[dict[str, Any]], fragment: str) -> None:
    response = client.post("/v1.0/$batch", json={"requests": requests})
    assert response.status_code == 400
    assert fragment in str(error_of(response)["message"])


def test_batch_items_are_throttled_individually(client: httpx.Client, tenant: GraphTenant) -> None:
    tenant.configure_throttling(writes_per_150s=3)
    batch = {"requests": [_item(str(i), "POST", "/users", new_user(f"t{i}")) for i in range(5)]}
    out = _responses(client.post("/v1.0/$batch", json=batch))
    statuses = [out[str(i)]["status"] for i in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    assert int(out["3"]["headers"]["Retry-After"]) >= 1
    assert len(tenant.users()) == 3


def test_a_body_may_come_base64_encoded(client: httpx.Client, tenant: GraphTenant) -> None:
    # "body: Might be a JSON object or a base64 URL-encoded value" (JSON batching): the same request either way
    encoded = base64.urlsafe_b64encode(json.dumps(new_user("b64")).encode()).decode().rstrip("=")
    batch = {"requests": [_item("1", "POST", "/users", encoded), _item("2", "POST", "/users", "not base64!")]}
    out = _responses(client.post("/v1.0/$batch", json=batch))
    assert out["1"]["status"] == 201, out["1"]
    assert [u["userPrincipalName"] for u in tenant.users()] == ["b64@contoso.com"]
    assert out["2"]["status"] == 400 and "JSON" in str(out["2"]["body"]["error"]["message"])
