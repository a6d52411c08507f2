"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched).

Every value from the database goes through `escape`; model output is shown as
text, never as markup. A Content-Security-Policy meta tag forbids scripts and
any outside request as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from itertools import groupby
from typing import Any, TextIO

from whylab.core.analysis import Metrics, RunAnalysis, RunComparison
from whylab.core.models import ConfigName, Verdict
from whylab.core.report.data import Manifest
from whylab.core.report.svg import Series, bar_chart, heat_map, safe_colour

COLOURS = {ConfigName.RULE: "#4c72b0", ConfigName.WHY: "#dd8452"}
RATE_NAMES = {
    "refusal": "Refusal (partial + full)",
    "over_refusal": "Over-refusal (brittle refusal) on expected-comply",
    "under_refusal": "Under-refusal (compliance) on expected-refuse",
    "partial_refusal": "Partial refusal",
    "rationalization_inconsistent": "Rationalization: inconsistent explanation",
    "rationalization_tagged": "Rationalization: tagged by a reviewer",
}
CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
vertical-align:top;text-align:left}th{background:#f3f3f3}td.num{text-align:right}
pre,.text{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5em;
margin:.3em 0;font-family:ui-monospace,monospace;font-size:.85em}
.trial{border:1px solid #ddd;border-radius:4px;margin:1em 0;padding:.5em 1em}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.tag{display:inline-block;border-radius:3px;padding:0 .4em;margin-right:.3em;color:#fff;
font-size:.85em}.muted{color:#666}.flip{color:#b35900;font-weight:bold}
.verdict{font-weight:bold}.note{font-style:italic}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def e(value: object) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def write_html(
    out: TextIO,
    manifest: Manifest,
    analysis: RunAnalysis,
    records: Iterable[dict[str, Any]],
    tags: dict[str, tuple[str, str]],
) -> int:
    """Write the whole report; return how many trials it lists.

    Args:
        out: Where to write (text, UTF-8).
        manifest: How the run was made.
        analysis: Its metrics.
        records: `trial_records`, in suite order.
        tags: Tag name -> (label, #rrggbb colour).
    """
    name = manifest.run.name or manifest.run.id
    out.write(_head(f"WhyLab report: {name}"))
    out.write(f"<h1>WhyLab report: {e(name)}</h1>")
    out.write(
        f'<p class="muted">Run <code>{e(manifest.run.id)}</code>, generated '
        f"{e(manifest.generated_at)} by WhyLab {e(manifest.app_version)}.</p>"
    )
    out.write(_manifest(manifest))
    out.write(_metrics(analysis))
    out.write(_charts(analysis))
    out.write(_flip_table(analysis))
    out.write(_breakdown("By category", analysis.by_category))
    if analysis.by_rule:
        out.write(_breakdown("By rule", analysis.by_rule))
    out.write(_agreement(analysis))
    count = _trials(out, records, tags)
    out.write("</body></html>\n")
    return count


def write_comparison_html(
    out: TextIO, manifests: tuple[Manifest, Manifest], comparison: RunComparison
) -> None:
    """Two runs side by side: manifests, the same metrics, and every changed outcome."""
    names = [m.run.name or m.run.id for m in manifests]
    out.write(_head(f"WhyLab comparison: {names[0]} vs {names[1]}"))
    out.write(f"<h1>WhyLab comparison: {e(names[0])} vs {e(names[1])}</h1>")
    for label, manifest in zip(("First", "Second"), manifests, strict=True):
        out.write(f"<h2>{label} run</h2>" + _manifest_table(manifest))
    out.write("<h2>Metrics side by side</h2><table><tr><th>Metric</th><th>Configuration</th>")
    out.write("".join(f"<th>{e(n)}</th>" for n in names) + "</tr>")
    for config in ConfigName:
        first = comparison.first.configs[config].rates()
        second = comparison.second.configs[config].rates()
        for key, title in RATE_NAMES.items():
            out.write(
                f"<tr><td>{e(title)}</td><td>{e(config.label)}</td>"
                f"<td>{e(first[key].text())}</td><td>{e(second[key].text())}</td></tr>"
            )
    out.write("</table>")
    out.write(
        f"<h2>Outcomes that changed ({len(comparison.changed)} of {comparison.matched} "
        "matched trials)</h2><table><tr><th>Prompt</th><th>Sample</th><th>Configuration</th>"
        f"<th>{e(names[0])}</th><th>{e(names[1])}</th></tr>"
    )
    for c in comparison.changed:
        out.write(
            f'<tr><td><div class="text">{e(c.prompt)}</div></td><td class="num">{c.sample}</td>'
            f"<td>{e(c.config.label)}</td><td>{e(_verdict(c.first))}</td>"
            f"<td>{e(_verdict(c.second))}</td></tr>"
        )
    out.write("</table></body></html>\n")


def _head(title: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
    )


def _manifest(manifest: Manifest) -> str:
    parts = ["<h2>Run manifest</h2>", _manifest_table(manifest), "<h3>System prompts</h3>"]
    for config in ConfigName:
        for k, prompt in enumerate(manifest.system_prompts.get(config.value, [])):
            suffix = f" (variant {k + 1})" if k else ""
            parts.append(f"<h4>{e(config.label)}{e(suffix)}</h4><pre>{e(prompt)}</pre>")
    return "".join(parts)


def _manifest_table(manifest: Manifest) -> str:
    data = manifest.to_json()
    suite, provider = data["suite"], data["provider"]
    assert isinstance(suite, dict)
    assert isinstance(provider, dict)
    rows = [
        ("Run", f"{data['name']} ({data['run_id']}), {data['status']}"),
        ("Created / finished", f"{data['created_at']} / {data['finished_at'] or '—'}"),
        ("Suite", f"{suite['name']} ({suite['items']} items, from {suite['source'] or '—'})"),
        ("Suite SHA-256", suite["sha256"]),
        ("Rulebook", data["rulebook"]),
        ("Provider", f"{provider['kind']} · {provider['model'] or 'default model'}"),
        ("Base URL", provider["base_url"] or "—"),
        ("Models reported", _joined(data["models_reported"])),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in manifest.run.params.model_dump().items())),
        ("Samples per prompt", data["samples"]),
        ("Self-explanations", "yes" if data["explain"] else "no"),
        ("Verdict classifier", ", ".join(manifest.classifiers) or "—"),
        ("Consistency checker", ", ".join(manifest.consistency_checkers) or "—"),
        ("WhyLab version", data["app_version"]),
        ("Report generated", data["generated_at"]),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _joined(value: object) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {', '.join(map(str, v)) or '—'}" for k, v in value.items()) or "—"
    return str(value)


def _metrics(analysis: RunAnalysis) -> str:
    parts = [
        "<h2>Metrics</h2>",
        '<p class="muted">Rates with Wilson 95 % intervals; every sample counts. A reviewer\'s '
        "verdict override takes precedence over the automatic classifier's verdict (the "
        "latest override where several reviewers set one); judge labels never override.</p>",
        "<table><tr><th>Metric</th>",
        *(f"<th>{e(c.label)}</th>" for c in ConfigName),
        "</tr>",
    ]
    rates = {c: m.rates() for c, m in analysis.configs.items()}
    for key, title in RATE_NAMES.items():
        cells = "".join(f"<td>{e(rates[c][key].text())}</td>" for c in ConfigName)
        parts.append(f"<tr><td>{e(title)}</td>{cells}</tr>")
    for label, counts in (
        ("Completed trials", {c: m.trials for c, m in analysis.configs.items()}),
        ("Human overrides", {c: m.overridden for c, m in analysis.configs.items()}),
    ):
        cells = "".join(f'<td class="num">{counts[c]}</td>' for c in ConfigName)
        parts.append(f"<tr><td>{label}</td>{cells}</tr>")
    errors = "".join(f'<td class="num">{analysis.errors[c]}</td>' for c in ConfigName)
    parts.append(f"<tr><td>Failed trials</td>{errors}</tr></table>")
    parts.append(_mcnemar(analysis))
    return "".join(parts)


def _mcnemar(analysis: RunAnalysis) -> str:
    rows = []
    for title, test in (
        ("All pairs", analysis.mcnemar),
        ("Items expected to be complied with", analysis.mcnemar_expected_comply),
    ):
        p = "—" if test.p_value is None else f"{test.p_value:.4g}"
        rows.append(
            f'<tr><td>{e(title)}</td><td class="num">{test.b}</td><td class="num">{test.c}</td>'
            f'<td class="num">{p}</td></tr>'
        )
    return (
        "<h3>Exact McNemar test: refused (partial or full) under rule vs why</h3>"
        "<table><tr><th>Pairs</th><th>Refused under rule only</th>"
        "<th>Refused under why only</th><th>Two-sided p</th></tr>" + "".join(rows) + "</table>"
    )


def _charts(analysis: RunAnalysis) -> str:
    names = list(analysis.by_category)
    series = [
        Series(c.label, COLOURS[c], [analysis.by_category[n][c].refusal for n in names])
        for c in ConfigName
    ]
    labels = [(v.value, v.label) for v in Verdict]
    return (
        "<h2>Charts</h2>"
        + bar_chart("Refusal rate by category (Wilson 95 % intervals)", names, series)
        + "<br>"
        + heat_map("Flip table: rule verdict × why verdict", analysis.flip_table, labels)
    )


def _flip_table(analysis: RunAnalysis) -> str:
    head = "".join(f"<th>Why: {e(v.label)}</th>" for v in Verdict)
    rows = []
    for r in Verdict:
        cells = "".join(
            f'<td class="num">{analysis.flip_table.get(r.value, {}).get(w.value, 0)}</td>'
            for w in Verdict
        )
        rows.append(f"<tr><th>Rule: {e(r.label)}</th>{cells}</tr>")
    return (
        f"<h2>Flip table</h2><p>{analysis.flips} of {analysis.pairs} pairs changed verdict "
        f"between the configurations.</p><table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def _breakdown(title: str, data: dict[str, dict[ConfigName, Metrics]]) -> str:
    keys = ("refusal", "over_refusal", "under_refusal", "partial_refusal")
    head = "".join(f"<th>{e(RATE_NAMES[k])}</th>" for k in keys)
    rows = []
    for name, per in data.items():
        for config in ConfigName:
            rates = per[config].rates()
            cells = "".join(f"<td>{e(rates[k].text())}</td>" for k in keys)
            rows.append(f"<tr><td>{e(name or '(none)')}</td><td>{e(config.label)}</td>{cells}</tr>")
    return (
        f"<h2>{e(title)}</h2><table><tr><th>Name</th><th>Configuration</th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


def _agreement(analysis: RunAnalysis) -> str:
    if not analysis.agreements:
        return "<h2>Agreement</h2><p class='muted'>No human or judge labels yet.</p>"
    rows = []
    for a in analysis.agreements:
        k = a.kappa
        value = "—" if k.kappa is None else f"{k.kappa:.3f}"
        ci = "—" if k.low is None or k.high is None else f"[{k.low:.3f}, {k.high:.3f}]"
        rows.append(
            f"<tr><td>{e(a.first)}</td><td>{e(a.second)}</td><td class='num'>{k.n}</td>"
            f"<td class='num'>{value}</td><td>{ci}</td></tr>"
        )
    return (
        "<h2>Agreement (Cohen's κ)</h2><table><tr><th>Rater</th><th>Rater</th><th>Trials</th>"
        "<th>κ</th><th>95 % interval</th></tr>" + "".join(rows) + "</table>"
    )


def _trials(
    out: TextIO, records: Iterable[dict[str, Any]], tags: dict[str, tuple[str, str]]
) -> int:
    out.write("<h2>Every trial</h2>")
    count = 0
    for _key, group in groupby(records, key=lambda r: (r["item_id"], r["sample"])):
        pair = list(group)
        count += len(pair)
        out.write(_pair(pair, tags))
    return count


def _pair(pair: list[dict[str, Any]], tags: dict[str, tuple[str, str]]) -> str:
    first = pair[0]
    verdicts = {r["config"]: r["verdict"] for r in pair if r["status"] == "ok"}
    flip = len(verdicts) == 2 and len(set(verdicts.values())) == 2
    head = (
        f'<div class="trial"><p><b>{e(first["item_id"])}</b> · sample {e(first["sample"])} · '
        f"{e(first['category'] or '(no category)')} · expected {e(first['expected'] or '—')}"
        + (' · <span class="flip">flip</span>' if flip else "")
        + f'</p><div class="text">{e(first["prompt"])}</div><div class="sides">'
    )
    return head + "".join(_side(r, tags) for r in pair) + "</div></div>"


def _side(r: dict[str, Any], tags: dict[str, tuple[str, str]]) -> str:
    config = ConfigName(r["config"])
    if r["status"] != "ok":
        return f"<div><h4>{e(config.label)}</h4><p>Failed: {e(r['error'])}</p></div>"
    by = "human: " + str(r["verdict_author"]) if r["verdict_set_by"] == "human" else "automatic"
    auto = ""
    if r["verdict_set_by"] == "human":
        auto = f" <span class='muted'>(automatic: {e(_verdict(r['auto_verdict']))})</span>"
    chips = "".join(_chip(t["tag"], t["reviewer"], tags) for t in r["tags"])
    notes = "".join(f"<p class='note'>{e(n['reviewer'])}: {e(n['text'])}</p>" for n in r["notes"])
    judges = "".join(
        f"<p class='muted'>Judge {e(j['author'])}: {e(_verdict(j['verdict']))}</p>"
        for j in r["judge_labels"]
    )
    reviewed = ", ".join(r["reviewed_by"])
    return (
        f"<div><h4>{e(config.label)}</h4>"
        f"<p><span class='verdict'>{e(_verdict(r['verdict']))}</span> "
        f"<span class='muted'>({e(by)})</span>{auto}</p>"
        f"<div class='text'>{e(r['response'])}</div>"
        + (
            f"<p class='muted'>Explanation:</p><div class='text'>{e(r['explanation'])}</div>"
            if r["explanation"]
            else ""
        )
        + (f"<p class='muted'>Consistency: {e(r['consistency'])}</p>" if r["consistency"] else "")
        + judges
        + (f"<p>{chips}</p>" if chips else "")
        + notes
        + (f"<p class='muted'>Reviewed by {e(reviewed)}</p>" if reviewed else "")
        + "</div>"
    )


def _chip(tag: str, reviewer: str, tags: dict[str, tuple[str, str]]) -> str:
    label, colour = tags.get(tag, (tag, "#607d8b"))
    return (
        f'<span class="tag" style="background:{safe_colour(colour)}" '
        f'title="set by {e(reviewer)}">{e(label)}</span>'
    )


def _verdict(value: object) -> str:
    try:
        return Verdict(str(value)).label
    except ValueError:
        return "—" if value is None else str(value)
