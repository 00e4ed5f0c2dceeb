"""The verifier in a real browser (Debian's chromium driven by Playwright) against the app served
by a real HTTP server thread: file upload, the JS path through POST /api/v1/verify, the no-JS
form, keyboard use and a phone-sized viewport. Screenshots go to test-results/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from kit.browser import RESULTS
from kit.pages import EXPLORER

pytestmark = pytest.mark.browser


@pytest.fixture
def files(tmp_path: Path, badges) -> dict[str, Path]:
    out = {}
    for name, doc in (("valid", badges.shared), ("tampered", badges.tampered())):
        path = tmp_path / f"{name}-badge.json"
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        out[name] = path
    return out


def screenshot(page: Page, name: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_upload_valid_then_tampered_badge(page: Page, base_url: str, files, badges):
    page.goto(f"{base_url}/verify")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify a badge")

    # Choosing a file is enough: the script reads it and asks POST /api/v1/verify.
    with page.expect_response(f"{base_url}/api/v1/verify") as answer:
        page.get_by_label("Badge file").set_input_files(files["valid"])
    assert answer.value.status == 200
    heading = page.locator("#result-heading")
    expect(heading).to_have_text("Result: VALID")
    expect(heading).to_be_focused()  # screen readers land on the verdict
    # The eleven checks of a signed, anchored badge, and the service's advisory status-list.
    expect(page.locator("#result .check")).to_have_count(12)
    expect(page.locator("#result .check.outcome-pass")).to_have_count(12)
    expect(page.locator("#result .check").last).to_contain_text(
        "The issuer's public status list agrees")
    expect(page.locator(".fact-badge")).to_have_text("Excel Modelling")
    expect(page.locator(".fact-recipient")).to_have_text("Ada Lovelace")
    expect(page.locator(".fact-issuer strong")).to_have_text(badges.issuer_name)
    tx_hash = badges.shared["proof"][-1]["anchor"]["transactionHash"]
    expect(page.get_by_role("link", name="View the transaction in a block explorer")
           ).to_have_attribute("href", f"{EXPLORER}/tx/{tx_hash}")
    expect(page).to_have_title("VALID – Verify a badge · credanchor")
    screenshot(page, "verify-valid.png")

    with page.expect_response(f"{base_url}/api/v1/verify"):
        page.get_by_label("Badge file").set_input_files(files["tampered"])
    expect(page.locator("#result-heading")).to_have_text("Result: INVALID")
    failed = page.locator("#result .check.outcome-fail")
    expect(failed).to_have_count(2)  # the content, and with it what the issuer signed
    expect(failed.locator(".check-title")).to_have_text(
        ["Unaltered since issued", "Signed by the issuer"])
    expect(failed.locator(".check-word")).to_have_text(["Failed", "Failed"])
    expect(page.locator(".verdict-failed")).to_have_text(
        "Failed: Unaltered since issued, Signed by the issuer")
    screenshot(page, "verify-tampered.png")


def test_keyboard_reaches_the_form_and_submits_pasted_json(page: Page, base_url: str, badges):
    page.goto(f"{base_url}/verify")
    order = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.id || document.activeElement.textContent.trim()")
        order.append(focused)
        if focused == "verify-button":
            break
    assert order == ["Skip to content", "credanchor", "Home", "Verify", "file", "credential",
                     "verify-button"]
    # The focus ring is visible on the button (not just the browser default on mouse focus).
    outline = page.evaluate(
        "() => getComputedStyle(document.activeElement).outlineStyle + ' ' +"
        " getComputedStyle(document.activeElement).outlineWidth")
    assert outline == "solid 3px"

    page.locator("#credential").fill(json.dumps(badges.shared))
    page.locator("#verify-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#result-heading")).to_have_text("Result: VALID")


def test_garbage_shows_the_parsers_reason(page: Page, base_url: str):
    page.goto(f"{base_url}/verify")
    page.locator("#credential").fill('{"id": "a", "id": "b"}')
    page.get_by_role("button", name="Verify").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("duplicate key 'id'")
    expect(page.locator("#result .report")).to_have_count(0)


def test_without_javascript_the_form_posts_and_the_server_answers(browser: Browser, base_url,
                                                                   files):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/verify")
        page.get_by_label("Badge file").set_input_files(files["tampered"])
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()
        assert page.url == f"{base_url}/verify"
        expect(page.locator("#result-heading")).to_have_text("Result: INVALID")
        expect(page.locator(".check.outcome-fail .check-title")).to_have_text(
            ["Unaltered since issued", "Signed by the issuer"])
    finally:
        context.close()


def test_phone_width_has_no_horizontal_scrolling(browser: Browser, base_url: str, badges):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        for url in ("/", "/verify", f"/verify?id={badges.shared_id}", f"/c/{badges.shared_id}"):
            page.goto(base_url + url)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, (url, width)
        page.goto(f"{base_url}/verify?id={badges.shared_id}")
        expect(page.locator("#result-heading")).to_have_text("Result: VALID")
        screenshot(page, "verify-valid-375px.png")
        page.goto(f"{base_url}/c/{badges.shared_id}")
        expect(page.locator(".status-line .status-word")).to_have_text("VALID")
        expect(page.locator(".qr-box svg")).to_be_visible()
        screenshot(page, "credential-375px.png")
    finally:
        context.close()


def test_script_and_server_render_the_same_report(browser: Browser, base_url: str, files):
    """The JS path (API JSON rendered in the browser) and the no-JS path (rendered by Jinja)
    must read the same, word for word."""
    texts = {}
    for js in (True, False):
        context = browser.new_context(java_script_enabled=js)
        page = context.new_page()
        try:
            page.goto(f"{base_url}/verify")
            page.get_by_label("Badge file").set_input_files(files["tampered"])
            if not js:
                with page.expect_navigation():
                    page.get_by_role("button", name="Verify").click()
            expect(page.locator("#result-heading")).to_have_text("Result: INVALID")
            texts[js] = " ".join(page.locator("#result").inner_text().split())
        finally:
            context.close()
    assert texts[True] == texts[False]
    assert "Unaltered since issued Failed" in texts[True]


def test_dropping_a_file_on_the_zone_verifies_it(page: Page, base_url: str, badges):
    page.goto(f"{base_url}/verify")
    with page.expect_response(f"{base_url}/api/v1/verify"):
        page.evaluate(
            """(text) => {
                const data = new DataTransfer();
                data.items.add(new File([text], "dropped.json", {type: "application/json"}));
                const zone = document.getElementById("dropzone");
                zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true,
                                                              cancelable: true}));
                zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true,
                                                          cancelable: true}));
            }""",
            json.dumps(badges.shared),
        )
    expect(page.locator("#result-heading")).to_have_text("Result: VALID")
    expect(page.locator("#dropzone")).not_to_have_class(re.compile(r"\bis-dragover\b"))
    # the dropped file is now the form's file too, so a plain submit would send it
    assert page.evaluate("() => document.getElementById('file').files[0].name") == "dropped.json"


def test_script_renders_stacked_components_as_a_tree(page: Page, base_url: str, badges):
    """No issuer stacks credentials yet, so the API's answer is replaced in the browser by a
    report with nested components, to prove the script renders any depth."""
    def check(name, outcome, message):
        return {"name": name, "outcome": outcome, "message": message, "data": {}}

    leaf = {"status": "REVOKED", "checks": [check("revocation", "fail", "Revoked in May.")],
            "issuer": None, "anchor": None, "components": []}
    middle = {"status": "VALID", "checks": [check("integrity", "pass", "Unchanged.")],
              "issuer": None, "anchor": None, "components": [leaf]}
    top = {"status": "REVOKED", "checks": [check("integrity", "pass", "Unchanged.")],
           "issuer": {"name": "Acme Academy"}, "anchor": None, "components": [middle]}
    page.route(f"{base_url}/api/v1/verify",
               lambda route: route.fulfill(status=200, content_type="application/json",
                                           body=json.dumps(top)))
    page.goto(f"{base_url}/verify")
    page.locator("#credential").fill(json.dumps(badges.shared))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#result-heading")).to_have_text("Result: REVOKED")
    nested = page.locator("#result .component-list .component-list article.report")
    expect(nested).to_have_attribute("data-status", "REVOKED")
    expect(nested.locator(".check-title")).to_have_text("Not revoked")
    expect(nested.locator("h6.verdict-word")).to_have_text("Result: REVOKED")
    expect(page.locator("#result article.report")).to_have_count(3)


def test_a_file_without_proof_reads_as_unconfirmed_in_the_browser(page: Page, base_url: str,
                                                                  badges):
    """Issue 12, the JS path (verify.js mirrors pages.present)."""
    page.goto(f"{base_url}/verify")
    # signed, not anchored: the issuer's signature and no blockchain proof
    unproved = dict(badges.shared, proof=[p for p in badges.shared["proof"]
                                          if p["type"] != "CredanchorMerkleProof2026"])
    page.locator("#credential").fill(json.dumps(unproved))
    with page.expect_response(f"{base_url}/api/v1/verify"):
        page.get_by_role("button", name="Verify").click()
    expect(page.locator("#result-heading")).to_have_text("Result: PENDING")
    expect(page.locator("#result .verdict-text")).to_have_text(re.compile(
        r"^Nothing about this file is confirmed: it carries no blockchain proof"))
    expect(page.locator("#result")).not_to_contain_text("genuine so far")
