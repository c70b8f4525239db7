"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in, open a run, search an object,
open its lineage, approve a held export, disconnect an object, project it again, provision it on demand.
Screenshots of each step go to test-artifacts/service/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servicesite import TOKEN, Site, served

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "service"


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/install-test-deps.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.problems = problems
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_operator_logs_in_opens_a_run_finds_an_object_and_approves_a_held_export(site: Site, browser_page: Any) -> None:
    page = browser_page
    site.configure()
    site.people(30)
    with served(site) as s:
        assert s.run("full")["status"] == "success"
        for i in range(5):
            s.hr.delete(f"E00{20 + i}")
        held = s.run("full")
        assert held["status"] == "stopped-deletion-threshold"

        # log in: a wrong token first
        page.goto(f"{s.url}/")
        assert page.url.startswith(f"{s.url}/login")
        page.fill("#token", "not-the-right-token")
        page.click("#login")
        assert "not right" in page.inner_text("#login-error")
        assert page.problems == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
        page.problems.clear()
        page.fill("#token", TOKEN)
        _shot(page, "01-login")
        page.click("#login")
        page.wait_for_selector("#connectors")
        assert page.url == f"{s.url}/"
        assert "hr" in page.inner_text("#connectors") and "Exports held" in page.content()
        _shot(page, "02-overview")

        # open a run
        page.click(f"#runs a.run-link >> text='{held['run_id']}'")
        page.wait_for_selector("#steps")
        assert page.inner_text("#run-status") == "stopped-deletion-threshold"
        assert "stopped-deletion-threshold" in page.inner_text("#steps") and page.locator("svg.chart").count() == 1
        _shot(page, "03-run")

        # search an object, open it, then its lineage
        page.click("header.top a:text('Search')")
        page.select_option("#search-cs select[name=connector]", "hr")
        page.fill("#cs-identifier", "E0003")
        page.click("#search-cs-button")
        page.wait_for_selector("#cs-results a.object-link")
        assert page.locator("#cs-results a.object-link").count() == 1
        assert "identifier=E0003" in page.url  # htmx pushed the search into the address bar
        _shot(page, "04-search")
        page.click("#cs-results a.object-link")
        page.wait_for_selector("#hologram")
        assert page.inner_text("#identifier") == "E0003"
        page.click("#mv-link")
        page.wait_for_selector("#lineage")
        lineage = page.inner_text("#lineage")
        assert "displayName\tAnn Lee3\thr\thr-people" in lineage
        links = page.locator(".card.link").all_inner_texts()
        assert any("uid=E0003,ou=people" in text and "provisioned:dir-users" in text for text in links)
        _shot(page, "05-lineage")

        # approve the held export
        page.click("header.top a:text('Holds')")
        page.wait_for_selector("#approve-dir")
        assert "5" in page.inner_text("#hold-dir")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("#approve-dir")
        page.wait_for_selector("#approve-result-dir .message.ok")
        assert "approved 5 of 5" in page.inner_text("#approve-result-dir")
        _shot(page, "06-approved")
        with s.client() as c:
            assert c.get("/api/holds").json()["holds"][0]["approved"] == 5
        assert s.run("export")["status"] == "success"
        assert len(s.dir) == 25

        # make an object an explicit disconnector from its page
        page.goto(f"{s.url}/objects/hr:E0003")
        page.wait_for_selector("#disconnect-explicit")
        page.click("#disconnect-explicit")
        page.wait_for_selector("#link-result .message.ok")
        assert "explicit disconnector" in page.inner_text("#link-result")
        # the page reads the object again by itself: its state and buttons are the new ones, the message stays
        page.wait_for_selector("#make-normal")
        assert page.locator("#disconnect").count() == 0 and page.locator("#mv-link").count() == 0
        assert "explicit-disconnector" in page.inner_text("#object-view dl")
        assert "explicit disconnector" in page.inner_text("#link-result")
        _shot(page, "07-disconnected")
        with s.client() as c:
            assert c.get("/api/objects/hr:E0003").json()["cs"]["link_state"] == "explicit-disconnector"
        page.reload()
        assert page.locator("#make-normal").count() == 1 and page.locator("#disconnect").count() == 0

        # the Joiner's Project on the same page puts the person back in the metaverse, an explicit connector
        page.click("#project")
        page.wait_for_selector("#mv-link")
        assert "projected-manually" in page.inner_text("#object-view dl")
        assert page.locator("#joiner").count() == 0
        _shot(page, "08-projected")
        # and provisioning on demand says what became of the person in the target
        page.click("#on-demand")
        page.wait_for_selector("#link-result:has-text('provisioned on demand')")
        assert "dir 'uid=E0003,ou=people'" in page.inner_text("#link-result")
        _shot(page, "09-on-demand")

        page.goto(f"{s.url}/holds")
        assert "No export is held" in page.inner_text("#holds")
        page.click("#logout")
        page.wait_for_url(f"{s.url}/login")
        page.goto(f"{s.url}/holds")
        assert page.url.startswith(f"{s.url}/login")
    assert page.problems == [], page.problems


def test_a_refused_button_says_why_in_the_page(site: Site, browser_page: Any) -> None:
    page = browser_page
    site.configure()
    site.people(30)
    with served(site) as s:
        assert s.run("full")["status"] == "success"
        for i in range(5):
            s.hr.delete(f"E00{20 + i}")
        assert s.run("full")["status"] == "stopped-deletion-threshold"
        page.goto(f"{s.url}/login")
        page.fill("#token", TOKEN)
        page.click("#login")
        page.wait_for_selector("#connectors")
        page.on("dialog", lambda dialog: dialog.accept())

        # the source is cut further after the holds page was read: the approval is refused, and the page says so
        page.goto(f"{s.url}/holds")
        page.wait_for_selector("#approve-dir")
        for i in range(2):
            s.hr.delete(f"E00{10 + i}")
        assert s.run("sync")["status"] == "success"
        page.click("#approve-dir")
        page.wait_for_selector("#approve-result-dir .message.error")
        refused = page.inner_text("#approve-result-dir")
        assert "7 deletes and disables are pending for dir now, the page showed 5" in refused
        _shot(page, "08-approval-refused")

        # a reload of a file that does not validate: the message with file, line and column
        page.goto(f"{s.url}/")
        config = s.root / "idsync.yaml"
        config.write_text(config.read_text().replace("page_size: 100", "page_size: lots", 1))
        page.click("#reload-config")
        page.wait_for_selector("#reload-result .message.error")
        reload_error = page.inner_text("#reload-result")
        assert "configuration not reloaded" in reload_error and re.search(r"idsync\.yaml:\d+:\d+", reload_error)
        assert "{" not in reload_error  # a message, not JSON

        # a request refused before it reaches the button's handler (a stale CSRF token) shows in the page too
        page.evaluate("document.body.setAttribute('hx-headers', JSON.stringify({'X-CSRF-Token': 'stale'}))")
        page.click("#start-run")
        page.wait_for_selector("#messages .message.error")
        assert "CSRF" in page.inner_text("#messages") and "{" not in page.inner_text("#messages")
        _shot(page, "09-csrf-refused")
        assert all(p.startswith("Failed to load resource") for p in page.problems), page.problems
