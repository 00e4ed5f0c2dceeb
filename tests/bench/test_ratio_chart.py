"""The SVG chart of the benchmark's ratios (issue #15), built from a small results dict: one bar
per ratio with its value, a target marker where the benchmark states one, well-formed XML with
every text from the results escaped; and `scripts/bench.py --chart-only` draws it from a JSON."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from ratio_chart import ratio_svg  # noqa: E402

NS = {"svg": "http://www.w3.org/2000/svg"}
RESULTS = {
    "command": "python bench/run.py --only <gas>&merkle",
    "started": "2026-11-30T03:34:33+00:00",
    "targets": {"oa_wrap_ratio": 10.0, "oz_tree_ratio": 3.0, "signed_oa_wrap_ratio": 3.0,
                "signed_vs_dbvc_ratio": 30.0},
    "pipeline": {"ratio": {"10000": 3.5, "100000": 4.0}},
    "merkle": {"n": 100_000, "ratio": 29.25},
    "gas": {"oa": {"package": "doc-store <&> \"1\""}, "eas": {"package": "eas-contracts@1.9.0"},
            "per_credential": {"1000": {"credanchor_anchor": 48.0, "oa_documentstore_issue": 47.52,
                                        "eas_attest": 164_832, "eas_timestamp": 45.6}}},
    "signed": {"ratio": {"100000": 1.86}, "sign_ratio": 15.9},
}


def _bars(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)  # well-formed, or this raises
    return {g.get("data-key"): g for g in root.iterfind("svg:g[@class='ratio']", NS)}


def _texts(group: ET.Element) -> dict[str, str]:
    return {t.get("class"): t.text or "" for t in group.iterfind("svg:text", NS)}


def test_every_ratio_is_a_bar_with_its_value_label_and_target():
    svg = ratio_svg(RESULTS)
    bars = _bars(svg)
    assert list(bars) == ["pipeline-10000", "pipeline-100000", "signed-pipeline-100000", "merkle",
                          "gas-oa", "gas-eas-attest", "gas-eas-timestamp", "signed-vs-dbvc"]
    expected = {"pipeline-10000": 3.5, "pipeline-100000": 4.0, "signed-pipeline-100000": 1.86,
                "merkle": 29.25, "gas-oa": 0.99, "gas-eas-attest": 3434.0,
                "gas-eas-timestamp": 0.95, "signed-vs-dbvc": 15.9}
    for key, value in expected.items():
        rect = bars[key].find("svg:rect", NS)
        assert rect is not None
        assert math.isclose(float(rect.get("data-ratio", "nan")), value, rel_tol=1e-4), key
        assert ("ahead" in rect.get("class", "")) is (value >= 1), key
    assert _texts(bars["pipeline-100000"]) == {
        "label": "batch pipeline ÷ OpenAttestation wrap, 100,000 — target ≥ 10×",
        "value": "×4.00 faster"}
    assert _texts(bars["gas-eas-attest"])["value"] == "×3,434 cheaper"
    assert _texts(bars["gas-oa"])["value"] == "peer ×1.01 cheaper"
    assert _texts(bars["merkle"])["label"] == (
        "Merkle tree ÷ @openzeppelin/merkle-tree, 100,000 leaves — target ≥ 3×")
    targets = {key: g.find("svg:line[@class='target']", NS) for key, g in bars.items()}
    assert {k: line.get("data-target") for k, line in targets.items() if line is not None} == {
        "pipeline-100000": "10", "signed-pipeline-100000": "3", "merkle": "3",
        "signed-vs-dbvc": "30"}


def test_bars_sit_on_one_log_scale_from_parity():
    bars = _bars(ratio_svg(RESULTS))

    def span(key: str) -> tuple[float, float]:
        rect = bars[key].find("svg:rect", NS)
        assert rect is not None
        x, w = float(rect.get("x", "nan")), float(rect.get("width", "nan"))
        return x, x + w

    parity = span("merkle")[0]
    assert span("gas-oa")[1] == parity == span("pipeline-10000")[0]  # below 1x: left of parity
    # log scale: 4x is as far right of 1x as 1/4 would be left; 29.25x is log10(29.25)/log10(4)
    # times as long as 4x
    four = span("pipeline-100000")[1] - parity
    assert math.isclose(span("merkle")[1] - parity, four * math.log10(29.25) / math.log10(4),
                        rel_tol=1e-2)
    line = bars["pipeline-100000"].find("svg:line[@class='target']", NS)
    assert line is not None
    assert math.isclose(float(line.get("x1", "nan")) - parity,
                        four * math.log10(10) / math.log10(4), rel_tol=1e-2)


def test_texts_from_the_results_are_escaped():
    svg = ratio_svg(RESULTS)
    assert "doc-store &lt;&amp;&gt;" in svg and "<&" not in svg
    assert "--only &lt;gas&gt;&amp;merkle" in svg
    label = _texts(_bars(svg)["gas-oa"])["label"]
    assert label == ('gas per credential vs OA DocumentStore issue (doc-store <&> "1"), '
                     "batch of 1,000")


def test_results_without_ratios_give_a_well_formed_chart_that_says_so():
    svg = ratio_svg({"command": "python bench/run.py --only offline", "offline": {}})
    root = ET.fromstring(svg)
    assert root.findall("svg:g", NS) == []
    assert any("no ratio in these results" in (t.text or "") for t in root.iterfind("svg:text", NS))


def test_chart_only_draws_from_an_existing_results_json(tmp_path):
    source, chart = tmp_path / "r.json", tmp_path / "r.svg"
    source.write_text(json.dumps(RESULTS))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--chart-only",
                           "--json", str(source), "--chart", str(chart)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert chart.read_text() == ratio_svg(RESULTS)
