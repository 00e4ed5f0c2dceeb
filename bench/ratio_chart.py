"""The benchmark's ratios as an SVG chart: how many times faster (time) or cheaper (gas)
credanchor is than each peer measured in the same run, one horizontal bar per ratio on a log
scale (1× = parity), with a marker where bench/run.py states a target.

Plain string building and the standard library only (no plotting dependency); every text that
comes from the results (peer package names, the command) is XML-escaped. bench/run.py writes it
after every run; ``python scripts/bench.py --chart-only`` draws it from an existing results
JSON. Example::

    from ratio_chart import ratio_svg
    Path("docs/benchmarks-ratios.svg").write_text(ratio_svg(json.loads(Path(p).read_text())))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

GAS_BATCH = "1000"  # gas per credential is compared at a batch of 1,000 (the documented size)


@dataclass(frozen=True)
class Ratio:
    key: str  # stable id, written as the bar's data-key
    label: str  # what is compared, in words
    value: float  # credanchor's advantage: >1 faster/cheaper, <1 the peer is
    kind: str  # "faster" or "cheaper"
    target: float | None = None


def ratios(results: Mapping[str, Any]) -> list[Ratio]:
    """Every ratio the results hold, in the order the table prints them."""
    out: list[Ratio] = []
    targets = results.get("targets") or {}
    p = results.get("pipeline")
    if p:
        for n, r in p.get("ratio", {}).items():
            out.append(Ratio(f"pipeline-{n}", f"batch pipeline ÷ OpenAttestation wrap, {int(n):,}",
                             float(r), "faster",
                             targets.get("oa_wrap_ratio") if n == "100000" else None))
    s = results.get("signed")
    if s:
        for n, r in s.get("ratio", {}).items():
            out.append(Ratio(f"signed-pipeline-{n}",
                             f"signed pipeline ÷ OpenAttestation wrap, {int(n):,}", float(r),
                             "faster", targets.get("signed_oa_wrap_ratio") if n == "100000" else None))
    m = results.get("merkle")
    if m and "ratio" in m:
        out.append(Ratio("merkle", f"Merkle tree ÷ @openzeppelin/merkle-tree, {m['n']:,} leaves",
                         float(m["ratio"]), "faster", targets.get("oz_tree_ratio")))
    g = results.get("gas")
    if g and GAS_BATCH in g.get("per_credential", {}):
        per = g["per_credential"][GAS_BATCH]
        ours = float(per["credanchor_anchor"])
        oa, eas = g.get("oa", {}).get("package", "OA"), g.get("eas", {}).get("package", "EAS")
        batch = f"batch of {int(GAS_BATCH):,}"
        for key, peer, label in (
            ("oa_documentstore_issue", "gas-oa", f"gas per credential vs OA DocumentStore issue ({oa}), {batch}"),
            ("eas_attest", "gas-eas-attest", f"gas per credential vs EAS multiAttest ({eas}), {batch}"),
            ("eas_timestamp", "gas-eas-timestamp", f"gas per credential vs EAS timestamp(root) ({eas}), {batch}"),
        ):
            if key in per and ours > 0:
                out.append(Ratio(peer, label, float(per[key]) / ours, "cheaper"))
    if s and "sign_ratio" in s:
        out.append(Ratio("signed-vs-dbvc", "signed badges per core ÷ @digitalbazaar/vc issue()",
                         float(s["sign_ratio"]), "faster", targets.get("signed_vs_dbvc_ratio")))
    return out


def _fmt(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _text(x: float, y: float, body: str, cls: str, anchor: str = "start") -> str:
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">'
            f"{escape(body)}</text>")


WIDTH, LEFT, RIGHT, ROW, TOP = 760, 20, 130, 44, 64


def ratio_svg(results: Mapping[str, Any]) -> str:
    """The chart of :func:`ratios` as one standalone SVG document."""
    rows = ratios(results)
    subtitle = f"{results.get('command', '')} · {results.get('started', '')}".strip(" ·")
    height = TOP + ROW * max(len(rows), 1) + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="title desc">',
        '<title id="title">credanchor against its peers, measured in the same run</title>',
        '<desc id="desc">Horizontal bars on a log scale: how many times faster (time) or cheaper '
        "(gas) credanchor is than each peer; 1× is parity; a dashed red line marks a target."
        "</desc>",
        "<style>text{font-family:system-ui,sans-serif;font-size:12px;fill:#222}"
        ".title{font-size:15px;font-weight:600}.sub,.axis{fill:#666;font-size:11px}"
        ".value{font-weight:600}.grid{stroke:#ddd}.parity{stroke:#444}"
        ".ahead{fill:#2e7d4f}.behind{fill:#b0413e}"
        ".target{stroke:#c62828;stroke-width:2;stroke-dasharray:4 2}</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        _text(LEFT, 22, "credanchor ÷ peer, same run (×N faster or cheaper; log scale)", "title"),
        _text(LEFT, 40, subtitle, "sub"),
    ]
    if not rows:
        out.append(_text(LEFT, TOP + 20, "no ratio in these results (run gas, pipeline, merkle "
                                         "or signed)", "sub"))
        out.append("</svg>")
        return "\n".join(out) + "\n"
    values = [r.value for r in rows] + [r.target for r in rows if r.target] + [1.0]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    if hi <= lo:
        hi = lo * 10
    plot_w = WIDTH - LEFT - RIGHT

    def x_of(v: float) -> float:
        return LEFT + plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    bottom = TOP + ROW * len(rows)
    decade = lo
    while decade <= hi * 1.0001:
        x = x_of(decade)
        out.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}"/>')
        tick = f"{decade:,.0f}" if decade >= 1 else f"{decade:g}"
        out.append(_text(x, bottom + 14, f"{tick}×", "axis", "middle"))
        decade *= 10
    one = x_of(1.0)
    out.append(f'<line class="parity" x1="{one:.1f}" y1="{TOP - 6}" x2="{one:.1f}" y2="{bottom}"/>')
    for i, r in enumerate(rows):
        y = TOP + ROW * i
        label = r.label + (f" — target ≥ {r.target:g}×" if r.target else "")
        ahead = r.value >= 1
        # from parity to the value, at least 1 px wide so that a ratio near 1 still shows
        x0, x1 = (one, max(x_of(r.value), one + 1)) if ahead else (min(x_of(r.value), one - 1), one)
        value = f"×{_fmt(r.value)} {r.kind}" if ahead else f"peer ×{_fmt(1 / r.value)} {r.kind}"
        xt = x_of(r.target) if r.target else None
        out.append(f'<g class="ratio" data-key={quoteattr(r.key)}>')
        out.append(_text(LEFT, y + 12, label, "label"))
        out.append(f'<rect class="bar {"ahead" if ahead else "behind"}" x="{x0:.1f}" '
                   f'y="{y + 18}" width="{x1 - x0:.1f}" height="16" '
                   f'data-ratio="{r.value:.6g}"><title>{escape(f"{r.value:.4g}")}</title></rect>')
        out.append(_text(max(x1, one, xt or 0) + 6, y + 30, value, "value"))
        if xt is not None:
            out.append(f'<line class="target" x1="{xt:.1f}" y1="{y + 14}" x2="{xt:.1f}" '
                       f'y2="{y + 38}" data-target="{r.target:g}"/>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


__all__ = ["Ratio", "ratio_svg", "ratios"]
