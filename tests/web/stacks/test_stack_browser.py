"""The /verify page shows a stacked qualification as a tree a person can read: in Debian's
chromium through Playwright, against the app served by a real HTTP server thread (the launch
approach of tests/web). Screenshots go to test-results/verify-stack*.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from credanchor.core.report import Status
from kit.browser import RESULTS
from kit.stacks import ADA, World, badge

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def qualifications(world: World, tmp_path_factory) -> dict[str, Path]:
    """A standing qualification, and one whose SQL component was revoked after stacking."""
    out = tmp_path_factory.mktemp("stack-files")
    valid = world.grant("data-analyst", world.files("ada-excel", "ada-sql", "ada-viz"),
                        version=1)
    ids = [world.issue(world.acme, badge(ADA, "excel")),
           world.issue(world.other, badge(ADA, "sql")),
           world.issue(world.acme, badge(ADA, "viz"))]
    world.anchor()
    store = world.runtime.store()
    files = [world.runtime.proofs().credential_file(store.get_credential(i)) for i in ids]
    revoked = world.grant("data-analyst", files, version=1)
    sql = store.get_credential(ids[1])
    store.add_revocation(world.other.id, "credential", sql.credential_hash, 1)
    world.runtime.anchorer().run_until_idle(timeout=120, force_seal=False)
    assert world.runtime.verify(revoked).status == Status.REVOKED
    paths = {}
    for name, doc in (("valid", valid), ("revoked", revoked)):
        paths[name] = out / f"{name}-qualification.json"
        paths[name].write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return paths


def screenshot(page: Page, name: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_a_qualification_reads_as_a_tree(page: Page, base_url: str, qualifications):
    page.goto(f"{base_url}/verify")
    with page.expect_response(f"{base_url}/api/v1/verify") as answer:
        page.get_by_label("Badge file").set_input_files(qualifications["valid"])
    assert answer.value.status == 200
    expect(page.locator("#result-heading")).to_have_text("Result: VALID")
    top = page.locator("#result > article.report")
    expect(top.locator(":scope > .facts .fact-badge")).to_have_text("Data Analyst")
    expect(top.locator(":scope > .facts .fact-recipient")).to_have_text("Ada Lovelace")

    # each component: its own verdict, badge name and the issuer the registry confirms
    components = top.locator(":scope > .components > .component-list > li > article.report")
    expect(components).to_have_count(3)
    expect(components.locator(".fact-badge")).to_have_text(
        ["Excel Modelling", "SQL Basics", "Data Visualisation"])
    expect(components.locator(".fact-issuer strong")).to_have_text(
        ["Acme Academy", "Other Academy", "Acme Academy"])
    expect(components.locator("h4.verdict-word")).to_have_text(["Result: VALID"] * 3)
    expect(page.get_by_role("heading", name="Badges this one is built from")).to_be_visible()

    # then how they add up, after the components, each check passed
    stack = top.locator(":scope > .stack-checks")
    expect(stack.get_by_role("heading", name="How the badges add up")).to_be_visible()
    expect(stack.locator(".check-title")).to_have_text([
        "Granted under a published, unchanged rule",
        "The badges it is built from are genuine and in force",
        "Built from the holder's own badges",
        "The badges meet the rule"])
    expect(stack.locator(".check.outcome-pass")).to_have_count(4)
    order = page.evaluate("""() => [...document.querySelectorAll(
        '#result > article.report > *')].map(e => e.className)""")
    assert order.index("components") < order.index("stack-checks")
    assert order.index("checks") < order.index("components")
    screenshot(page, "verify-stack.png")


def test_a_revoked_component_is_named_plainly(page: Page, base_url: str, qualifications):
    page.goto(f"{base_url}/verify")
    with page.expect_response(f"{base_url}/api/v1/verify"):
        page.get_by_label("Badge file").set_input_files(qualifications["revoked"])
    expect(page.locator("#result-heading")).to_have_text("Result: REVOKED")
    expect(page.locator("#result > article > .verdict .verdict-text")).to_have_text(
        "A badge this qualification is built from, or the rule it was granted under, has been "
        "withdrawn by its issuer, so the qualification no longer counts (see below).")
    # the component itself keeps the ordinary wording
    expect(page.locator(".component-list article[data-status='REVOKED'] .verdict-text")
           ).to_have_text("The issuer has withdrawn this badge, so it no longer counts, even "
                          "though it was once issued.")
    expect(page.locator("#result > article > .verdict .verdict-failed")).to_have_text(
        "Failed: The badges it is built from are genuine and in force")
    message = page.locator(
        "#result > article > .stack-checks [data-check='stack-components'] .check-message")
    expect(message).to_contain_text("“SQL Basics” from Other Academy was revoked by its issuer")
    expect(message).to_contain_text("after this qualification was granted")
    components = page.locator("#result > article > .components > .component-list > li > article")
    expect(components).to_have_count(3)
    expect(components.nth(1)).to_have_attribute("data-status", "REVOKED")
    expect(components.nth(0)).to_have_attribute("data-status", "VALID")
    screenshot(page, "verify-stack-revoked.png")


def test_script_and_server_render_the_stack_alike(browser: Browser, base_url: str,
                                                  qualifications):
    texts = {}
    for js in (True, False):
        context = browser.new_context(java_script_enabled=js)
        page = context.new_page()
        try:
            page.goto(f"{base_url}/verify")
            page.get_by_label("Badge file").set_input_files(qualifications["revoked"])
            if not js:
                with page.expect_navigation():
                    page.get_by_role("button", name="Verify").click()
            expect(page.locator("#result-heading")).to_have_text("Result: REVOKED")
            texts[js] = " ".join(page.locator("#result").inner_text().split())
        finally:
            context.close()
    assert texts[True] == texts[False]
    assert "SQL Basics" in texts[True] and "How the badges add up" in texts[True]
