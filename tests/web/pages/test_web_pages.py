"""The pages through Flask's test client, on a real runtime with really anchored badges."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from urllib.parse import parse_qs, urlsplit

import segno

from credanchor.core.report import Check, Outcome, Report, Status
from credanchor.errors import ChainUnavailable
from credanchor.issuing.pipeline import issue
from credanchor.web import create_app, pages
from kit.pages import ESCO_URL, EXPLORER, SHARED_ITEM, Element, parse

CHECK_NAMES = ["schema", "integrity", "signature", "merkle", "validity", "trusted-anchor",
               "anchored", "did-binding", "issuer", "revocation", "confirmations", "status-list"]


def page(resp) -> Element:
    assert resp.mimetype == "text/html", resp.data[:300]
    return parse(resp.data)


def rows(doc: Element) -> dict[str, Element]:
    """Top-level report's check rows by check name."""
    report = doc.select("article", cls="report")[0]
    return {li.attrs["data-check"]: li for li in report.select("li", cls="check")
            if li in report.select("ul", cls="checks")[0].parts}


def verdict(doc: Element) -> str:
    return doc.one(id="result-heading").text.removeprefix("Result: ")


# -- landing --------------------------------------------------------------------------------


def test_landing_explains_and_links_to_the_verifier(client):
    resp = client.get("/")
    assert resp.status_code == 200
    doc = page(resp)
    assert doc.one("html").attrs["lang"] == "en"
    assert "Badges anyone can check, without asking the issuer" in doc.one("h1").text
    assert "public blockchain" in doc.text
    nav = doc.one("nav")
    assert [(a.text, a.attrs["href"]) for a in nav.select("a")] == [("Home", "/"),
                                                                    ("Verify", "/verify")]
    assert any(a.attrs.get("href") == "/verify" and a.text == "Verify a badge"
               for a in doc.select("a"))
    assert "Unaltered since issued." in doc.text
    assert "Content-Security-Policy" in resp.headers
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_static_assets_are_served(client):
    for name, mimetype in (("site.css", "text/css"), ("verify.js", "text/javascript"),
                           ("favicon.svg", "image/svg+xml")):
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200, name
        assert resp.mimetype == mimetype
        resp.close()


# -- /verify: the form ------------------------------------------------------------------------


def test_verify_form_works_without_javascript(client):
    resp = client.get("/verify")
    assert resp.status_code == 200
    doc = page(resp)
    form = doc.one("form", id="verify-form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == "/verify"
    assert form.attrs["enctype"] == "multipart/form-data"
    assert form.attrs["data-api"] == "/api/v1/verify"
    file_input = form.one("input", type="file")
    assert file_input.attrs["name"] == "file"
    textarea = form.one("textarea")
    assert textarea.attrs["name"] == "credential"
    labels = {lab.attrs["for"]: lab.text for lab in form.select("label")}
    assert labels == {"file": "Badge file", "credential": "Or paste the badge's contents"}
    assert form.one("button").attrs["type"] == "submit"
    assert doc.select("article", cls="report") == []
    # The script gets the server's wording, so the JS and no-JS results read the same.
    assert json.loads(doc.one("script", id="verify-labels").text) == pages.labels()
    assert doc.one("script", src="/static/verify.js").attrs.get("defer") == ""


def test_posting_a_valid_badge_shows_valid_with_every_check(client, badges, web_runtime):
    resp = client.post("/verify", data={"credential": json.dumps(badges.shared)})
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "VALID"
    assert doc.one("article", cls="report").attrs["data-status"] == "VALID"
    assert "This badge is genuine" in doc.one("p", cls="verdict-text").text
    by_name = rows(doc)
    assert list(by_name) == CHECK_NAMES
    for name, li in by_name.items():
        assert li.one(cls="check-title").text == pages.CHECK_TITLES[name]
        assert li.one(cls="check-word").text == "Passed"
        assert "outcome-pass" in li.classes
        assert li.one("use").attrs["href"] == "#i-pass"
    assert doc.one(cls="fact-badge").text == "Excel Modelling"
    assert doc.one(cls="fact-recipient").text == "Ada Lovelace"
    report = web_runtime.verify(badges.shared)
    issuer = doc.one("dd", cls="fact-issuer")
    assert issuer.one("strong").text == report.issuer["name"] == badges.issuer_name
    assert "not the name written in the file" in issuer.text
    anchor = report.anchor
    link = doc.one("a", cls="tx-link")
    assert link.attrs["href"] == f"{EXPLORER}/tx/{anchor['transactionHash']}"
    assert pages.format_time(anchor["anchoredAt"]) in doc.one("dd", cls="fact-anchored").text
    assert doc.one("title").text.startswith("VALID")


def test_a_file_with_no_proof_is_pending_and_plainly_unconfirmed(client, badges):
    """Issue 12: PENDING used to read "it looks genuine so far" — of a file anyone can type."""
    # Signed but not anchored: the issuer's signature, no blockchain proof (as issued, pending)
    unproved = dict(badges.shared, proof=[p for p in badges.shared["proof"]
                                          if p["type"] != "CredanchorMerkleProof2026"])
    doc = page(client.post("/verify", data={"credential": json.dumps(unproved)}))
    assert verdict(doc) == "PENDING"
    text = doc.one("p", cls="verdict-text").text
    assert text == pages.UNCONFIRMED[1]
    assert text.startswith("Nothing about this file is confirmed: it carries no blockchain "
                           "proof")
    assert "genuine so far" not in doc.one("article", cls="report").text
    assert rows(doc)["integrity"].one(cls="check-message").text.startswith(
        "Nothing about this file is confirmed")
    # a recorded badge that is only not deep enough yet keeps the plain PENDING words
    shallow = (Check("integrity", Outcome.PASS, "Unchanged."),
               Check("confirmations", Outcome.WARN, "1 block deep.", {"pending": True}))
    with client.application.test_request_context("/verify"):
        html, _ = pages._verify_page(report=Report(Status.PENDING, shallow, None, None))
    assert parse(html).one("p", cls="verdict-text").text == pages.STATUSES["PENDING"][1]
    assert "genuine" not in pages.STATUSES["PENDING"][1]


def test_posting_a_tampered_badge_names_the_failed_check(client, badges):
    resp = client.post("/verify", data={"credential": json.dumps(badges.tampered())})
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "INVALID"
    # the content and, with it, what the issuer signed
    assert doc.one("p", cls="verdict-failed").text == (
        "Failed: Unaltered since issued, Signed by the issuer")
    integrity = rows(doc)["integrity"]
    assert "outcome-fail" in integrity.classes
    assert integrity.one(cls="check-word").text == "Failed"
    assert integrity.one("use").attrs["href"] == "#i-fail"
    assert integrity.one(cls="check-message").text  # the engine's explanation is shown
    # The changed name is displayed only with a warning that it is the file's claim.
    assert doc.one(cls="fact-recipient").text == "Mallory Impostor"
    assert "could not be confirmed" in doc.one("article", cls="report").text


def test_uploading_a_file_verifies_it_and_wins_over_the_textarea(client, badges):
    body = json.dumps(badges.shared).encode()
    resp = client.post(
        "/verify",
        data={"file": (io.BytesIO(body), "badge.json", "application/json"),
              "credential": "this is ignored when a file is chosen"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "VALID"
    assert doc.one("textarea").text == ""


def test_garbage_is_a_friendly_error_and_keeps_the_text(client):
    resp = client.post("/verify", data={"credential": "{not json"})
    assert resp.status_code == 400
    doc = page(resp)
    alert = doc.one(id="verify-error")
    assert alert.attrs["role"] == "alert"
    assert "We could not check this." in alert.text
    assert "not valid JSON" in alert.text
    assert "line 1, column 2" in alert.text
    assert doc.one("textarea").text == "{not json"
    assert doc.select("article", cls="report") == []


def test_ambiguous_or_wrongly_shaped_json_is_refused_with_the_reason(client):
    cases = {
        '{"id": "a", "id": "b"}': "duplicate key 'id'",
        "[1, 2]": "a badge file holds one JSON object",
        '{"n": NaN}': "NaN is not valid JSON",
    }
    for text, reason in cases.items():
        resp = client.post("/verify", data={"credential": text})
        assert resp.status_code == 400, text
        assert reason in page(resp).one(id="verify-error").text


def test_empty_submission_and_bad_files_are_explained(client):
    resp = client.post("/verify", data={"credential": "  "})
    assert resp.status_code == 400
    assert "Choose a badge file or paste its contents" in page(resp).one(id="verify-error").text

    resp = client.post("/verify", data={"file": (io.BytesIO(b""), "empty.json")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "That file is empty" in page(resp).one(id="verify-error").text

    resp = client.post("/verify", data={"file": (io.BytesIO(b"\xff\xfe{}"), "latin.json")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "not valid UTF-8" in page(resp).one(id="verify-error").text


def test_a_non_badge_object_gets_a_report_not_a_crash(client):
    resp = client.post("/verify", data={"credential": '{"hello": "world"}'})
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "INVALID"
    assert "outcome-fail" in rows(doc)["schema"].classes


def test_an_oversized_upload_is_an_html_problem_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = client.post("/verify", data={"file": (io.BytesIO(b"{" + b" " * 5000 + b"}"), "b.json")},
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    doc = page(resp)
    assert doc.one("h1").text == "Request Entity Too Large"


def test_an_unreachable_chain_is_error_never_invalid(client, badges, web_runtime, monkeypatch):
    def node_down(*args, **kwargs):
        raise ChainUnavailable("connection refused")

    for read in ("head_block", "verify"):  # what the verifier reads: the head, then verify
        monkeypatch.setattr(web_runtime.chain.reader, read, node_down)
    resp = client.post("/verify", data={"credential": json.dumps(badges.shared)})
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "ERROR"
    assert doc.one("p", cls="verdict-text").text == (
        "We could not reach the blockchain right now. This says nothing about the badge; "
        "try again later.")
    by_name = rows(doc)
    assert by_name["integrity"].one(cls="check-word").text == "Passed"
    assert by_name["anchored"].one(cls="check-word").text == "Could not check"
    assert "outcome-error" in by_name["anchored"].classes
    assert doc.one("dd", cls="fact-issuer").one("strong").text == "Not confirmed"


def test_the_form_shares_the_public_verify_rate_limit(web_runtime, badges, monkeypatch):
    monkeypatch.setattr(web_runtime, "settings",
                        dataclasses.replace(web_runtime.settings, public_rate_limit="2/minute"))
    client = create_app(runtime=web_runtime).test_client()
    for _ in range(2):
        assert client.post("/verify", data={"credential": "{}"}).status_code == 200
    resp = client.post("/verify", data={"credential": "{}"})
    assert resp.status_code == 429
    assert page(resp).one("p", cls="eyebrow").text == "Error 429"


# -- /verify?id= -----------------------------------------------------------------------------


def test_verify_by_id_checks_the_shared_badge(client, badges):
    resp = client.get("/verify", query_string={"id": badges.shared_id})
    assert resp.status_code == 200
    doc = page(resp)
    assert verdict(doc) == "VALID"
    assert doc.one(cls="fact-badge").text == "Excel Modelling"


def test_verify_by_id_of_an_unshared_or_unknown_badge_is_404(client, badges):
    for cid in (badges.private_id, "urn:uuid:00000000-0000-4000-8000-000000000000"):
        resp = client.get("/verify", query_string={"id": cid})
        assert resp.status_code == 404
        doc = page(resp)
        assert "No shared badge has that id." in doc.one(id="verify-error").text
        assert doc.select("article", cls="report") == []
        # The page still offers the form, so the visitor can check the file instead.
        assert doc.one("form", id="verify-form")


def test_verify_never_fetches_a_url(client):
    resp = client.get("/verify", query_string={"url": "https://elsewhere.example/badge.json"})
    assert resp.status_code == 400
    assert "We do not fetch badges from other sites" in page(resp).one(id="verify-error").text


# -- /c/<id> -----------------------------------------------------------------------------------


def test_shared_credential_page_shows_the_badge(client, badges):
    resp = client.get(f"/c/{badges.shared_id}")
    assert resp.status_code == 200
    doc = page(resp)
    assert doc.one("h1").text == "Excel Modelling"
    assert doc.one(cls="recipient").text == "Ada Lovelace"
    assert doc.one("p", cls="description").text == (
        "Builds and tests financial models in spreadsheets.")
    assert doc.one("p", cls="criteria").text == "Passed a two-hour practical assessment."
    assert any(a.attrs["href"] == "https://academy.example/criteria/excel"
               for a in doc.select("a"))
    assert badges.issuer_name in doc.one("dd", cls="fact-issuer").text
    skill = doc.one("ul", cls="skills").one("li")
    assert skill.one("a").attrs["href"] == ESCO_URL
    assert skill.one("a").text == "use spreadsheets software"
    assert skill.one(cls="skill-code").text == "ESCO · S5.6.1"
    assert doc.one("dd", cls="fact-valid-from").text == "15 January 2026"
    assert doc.one("dd", cls="fact-valid-until").text == "No end date"
    download = doc.one("a", download="")
    assert download.attrs["href"] == f"/c/{badges.shared_id}.json"
    # checked against the chain on every view, with a way to all the checks
    status = doc.one(cls="status-line")
    assert status.one(cls="status-word").text == "VALID"
    assert verify_target(status.one("a").attrs["href"]) == (
        "http://localhost/verify", badges.shared_id)


def test_a_revoked_badge_says_so_on_its_page_and_in_the_check(client, web_runtime):
    store = web_runtime.store()
    issuer = store.list_issuers()[0]
    item = {**SHARED_ITEM, "recipient": {"name": "Rev Oked"}}
    (accepted,) = issue(store, issuer, web_runtime.issuance(issuer), [item], max_items=1)
    web_runtime.anchorer().run_until_idle(timeout=120)
    store.set_shared(accepted.id, True, issuer_id=issuer.id)
    cred = store.get_credential(accepted.id)
    store.add_revocation(issuer.id, "credential", cred.credential_hash, 5, "withdrawn")
    web_runtime.anchorer().run_until_idle(timeout=120)

    doc = page(client.get(f"/c/{accepted.id}"))
    assert doc.one(cls="status-line").one(cls="status-word").text == "REVOKED"
    doc = page(client.get("/verify", query_string={"id": accepted.id}))
    assert verdict(doc) == "REVOKED"
    assert "The issuer has withdrawn this badge" in doc.one("p", cls="verdict-text").text
    revocation = rows(doc)["revocation"]
    assert revocation.one(cls="check-title").text == "Not revoked"
    assert revocation.one(cls="check-word").text == "Failed"
    assert "revoked by its issuer" in revocation.one(cls="check-message").text


def verify_target(url: str) -> tuple[str, str]:
    """(absolute URL without query, the id it verifies)."""
    parts = urlsplit(url)
    assert parts.scheme and parts.netloc, url
    query = parse_qs(parts.query)
    assert list(query) == ["id"], url
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query["id"][0]


def qr_path(data: str) -> str:
    """The module path segno draws for ``data``: same encoder, same data, same error level
    give the same modules, so equal paths mean the page's QR encodes exactly ``data`` (there
    is no QR decoder among the project's dependencies)."""
    svg = parse(segno.make(data, error="m").svg_inline(scale=4, border=2))
    return svg.one("path", stroke="#000").attrs["d"]


def test_credential_page_qr_code_leads_to_the_verify_url(client, badges):
    doc = page(client.get(f"/c/{badges.shared_id}"))
    link = doc.one("a", cls="verify-link")
    href = link.attrs["href"]
    assert link.text == href
    assert verify_target(href) == ("http://localhost/verify", badges.shared_id)
    svg = doc.one(cls="qr-box").one("svg")
    assert svg.one("path", stroke="#000").attrs["d"] == qr_path(href)
    # and the link really verifies that badge
    resp = client.get(href.removeprefix("http://localhost"))
    assert verdict(page(resp)) == "VALID"


def test_qr_code_uses_the_public_url_when_configured(client, badges, web_runtime, monkeypatch):
    monkeypatch.setattr(web_runtime, "settings",
                        dataclasses.replace(web_runtime.settings,
                                            public_url="https://badges.example/"))
    doc = page(client.get(f"/c/{badges.shared_id}"))
    href = doc.one("a", cls="verify-link").attrs["href"]
    assert verify_target(href) == ("https://badges.example/verify", badges.shared_id)
    assert doc.one(cls="qr-box").one("path", stroke="#000").attrs["d"] == qr_path(href)


def test_credential_file_download(client, badges, web_runtime):
    resp = client.get(f"/c/{badges.shared_id}.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    safe = badges.shared_id.replace(":", "-")
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{safe}.json"'
    document = json.loads(resp.data)
    assert document == badges.shared
    assert "proof" in document
    assert web_runtime.verify(document).status == Status.VALID


def test_unshared_and_unknown_credentials_are_404_pages(client, badges):
    for url in (f"/c/{badges.private_id}", f"/c/{badges.private_id}.json",
                "/c/urn:uuid:00000000-0000-4000-8000-000000000000", "/c/nonsense"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        doc = page(resp)
        assert doc.one("h1").text == "Not Found"
        assert "has not made it public" in doc.text
        assert badges.private["credentialSubject"]["name"] not in doc.text


# -- problems and robustness ------------------------------------------------------------------


def test_unknown_addresses_are_html_for_browsers_and_problem_json_for_the_api(client):
    resp = client.get("/no/such/page", headers={"Accept": "text/html,*/*;q=0.8"})
    assert resp.status_code == 404
    assert page(resp).one("p", cls="eyebrow").text == "Error 404"

    resp = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"

    resp = client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"

    resp = client.put("/verify", headers={"Accept": "text/html"})
    assert resp.status_code == 405
    assert page(resp).one("h1").text == "Method Not Allowed"
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_links_from_a_credential_are_http_only():
    assert pages.safe_url("https://a.example/x") == "https://a.example/x"
    assert pages.safe_url(" http://a.example ") == "http://a.example"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//a.example",
                "/relative", "https://", None, 42):
        assert pages.safe_url(bad) is None, bad


def test_format_time_is_utc_and_human():
    assert pages.format_time("2026-03-01T14:05:00Z") == "1 March 2026, 14:05 UTC"
    assert pages.format_time("2026-03-01T15:05:00+01:00") == "1 March 2026, 14:05 UTC"
    assert pages.format_time(0) is None
    assert pages.format_time(1772373900) == "1 March 2026, 14:05 UTC"
    assert pages.format_date("2026-01-15T09:00:00Z") == "15 January 2026"


# -- rendering any report (statuses the live chain does not produce on demand) ------------------


def render(app, report: Report, credential=None) -> Element:
    with app.test_request_context("/verify"):
        html, status = pages._verify_page(report=report, credential=credential)
    assert status == 200
    return parse(html)


def test_every_status_has_words_icon_and_explanation(app):
    for status in Status:
        checks = (Check("integrity", Outcome.PASS, "Unchanged."),)
        doc = render(app, Report(status, checks, "urn:uuid:x", None))
        assert verdict(doc) == str(status)
        icon, text = pages.STATUSES[str(status)]
        assert doc.one(cls="verdict-icon").one("use").attrs["href"] == f"#{icon}"
        assert doc.one("p", cls="verdict-text").text == text
    doc = render(app, Report(Status.ERROR, (Check("anchored", Outcome.ERROR, "Timed out."),),
                             None, None))
    assert doc.one("p", cls="verdict-text").text == (
        "We could not reach the blockchain right now. This says nothing about the badge; "
        "try again later.")
    assert rows(doc)["anchored"].one(cls="check-word").text == "Could not check"


def test_outcome_words_for_skipped_and_warn(app):
    checks = (Check("revocation", Outcome.SKIPPED, "Not checked: x."),
              Check("confirmations", Outcome.WARN, "Only 1 block deep."))
    doc = render(app, Report(Status.PENDING, checks, None, None))
    by_name = rows(doc)
    assert by_name["revocation"].one(cls="check-word").text == "Not checked"
    assert by_name["confirmations"].one(cls="check-word").text == "Warning"
    assert by_name["confirmations"].one("use").attrs["href"] == "#i-warn"


def test_stacked_credentials_render_as_a_nested_tree(app):
    leaf = Report(Status.REVOKED, (Check("revocation", Outcome.FAIL, "Revoked on 1 May."),),
                  "urn:uuid:leaf", None)
    middle = Report(Status.VALID, (Check("integrity", Outcome.PASS, "Unchanged."),),
                    "urn:uuid:mid", None, components=(leaf,))
    top = Report(Status.REVOKED, (Check("integrity", Outcome.PASS, "Unchanged."),),
                 "urn:uuid:top", None, components=(middle,))
    doc = render(app, top)
    outer = doc.select("article", cls="report")
    assert [a.attrs["data-status"] for a in outer] == ["REVOKED", "VALID", "REVOKED"]
    # each component sits inside its parent's component list, one level deeper
    first_list = outer[0].select("ul", cls="component-list")[0]
    assert outer[1] in [p for li in first_list.parts if isinstance(li, Element) for p in li.parts]
    assert [h.tag for h in doc.select(cls="verdict-word")] == ["h2", "h4", "h6"]
    assert "Revoked on 1 May." in outer[2].text


def test_credential_text_is_escaped(app):
    evil = {"credentialSubject": {"name": "<script>alert(1)</script>",
                                  "achievement": {"name": "<img src=x onerror=alert(1)>"}}}
    report = Report(Status.INVALID, (Check("schema", Outcome.FAIL, "<b>bad</b>"),), None, None)
    with app.test_request_context("/verify"):
        html, _ = pages._verify_page(report=report, credential=evil)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;b&gt;bad&lt;/b&gt;" in html


def test_an_issuer_id_from_the_file_is_escaped_in_the_new_checks(client, badges):
    """The did-binding and signature messages quote the file's issuer id: shown as text."""
    evil = copy.deepcopy(badges.shared)
    evil["issuer"]["id"] = "did:web:evil.example:<img src=x onerror=alert(1)>"
    resp = client.post("/verify", data={"credential": json.dumps(evil)})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    doc = page(resp)
    assert verdict(doc) == "INVALID"
    binding = rows(doc)["did-binding"]
    assert "outcome-fail" in binding.classes
    assert "<img src=x onerror=alert(1)>" in binding.one(cls="check-message").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert rows(doc)["signature"].one(cls="check-word").text == "Failed"
