"""The report's charts: what each one counts, drawn with the inline SVG primitives of `svg`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

from auditor.models import SEVERITIES
from auditor.outputs.html.rows import ENCRYPTION_STATES, encryption_state
from auditor.outputs.html.svg import (
    Bar,
    Marker,
    Segment,
    bar_chart,
    histogram,
    stacked_bar_chart,
    stacked_columns,
)
from auditor.outputs.html.text import day
from auditor.outputs.places import Places

AGE_EDGES = (30, 60, 90, 180, 365, 730)


def report_charts(result: dict[str, Any], summary: dict[str, Any], places: Places) -> dict[str, Markup]:
    by_sev = summary.get("by_severity") or {}
    charts = {
        "severity": bar_chart(
            [Bar(s, int(by_sev.get(s, 0)), f"sev-{s}", ("severity", s)) for s in SEVERITIES],
            label="Open findings by severity",
        ),
        "category": bar_chart(
            [
                Bar(c, n, "cat", ("category", c))
                for c, n in sorted((summary.get("by_category") or {}).items(), key=lambda kv: -kv[1])
            ],
            label="Open findings by category",
        ),
        "location": _location_chart(result, places),
        "age": _age_chart(result),
    }
    trend = result.get("trend") or []
    if len(trend) >= 2:
        charts["trend"] = stacked_columns(
            [
                (label, [int((p.get("by_severity") or {}).get(s, 0)) for s in SEVERITIES])
                for label, p in _trend_labels(trend)
            ],
            [Segment(s, f"sev-{s}") for s in SEVERITIES],
            label="Open findings per audit, by severity",
        )
    return charts


def _trend_labels(trend: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each audit's day; audits that share a day also get their start time on a second line, to
    the second when two share the minute too (audits run back to back), and a number beyond that."""
    days = Counter(str(p.get("as_of", "?")) for p in trend)
    times = [_start_time(p, seconds=False) if days[str(p.get("as_of", "?"))] > 1 else "" for p in trend]
    taken = Counter(zip((str(p.get("as_of", "?")) for p in trend), times, strict=True))
    labels = []
    seen: Counter[str] = Counter()
    for p, time in zip(trend, times, strict=True):
        day_text = str(p.get("as_of", "?"))
        if time and taken[(day_text, time)] > 1:
            time = _start_time(p, seconds=True)
        label = day_text + ("\n" + time if time else "")
        seen[label] += 1
        labels.append((label, p))
    repeated = {label for label, n in seen.items() if n > 1}
    numbered: Counter[str] = Counter()
    out = []
    for label, p in labels:
        if label in repeated:
            numbered[label] += 1
            label += f" ({numbered[label]})"
        out.append((label, p))
    return out


def _start_time(point: dict[str, Any], *, seconds: bool) -> str:
    """'05:11' (or '05:11:09') of the audit's start, in the zone it was recorded in; '—' without one."""
    try:
        moment = datetime.fromisoformat(str(point.get("started")))
    except ValueError:
        return "—"
    utc = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return (f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}") + utc


def location_label(group: str, targets: list[str]) -> str:
    """A group as the chart names it: below its target when the audit has one target (the caption names it)."""
    if len(targets) == 1:
        target = targets[0].rstrip("/")
        if group.startswith(target + "/") and group != target + "/":
            return group[len(target) + 1 :]
    return group


def _location_chart(result: dict[str, Any], places: Places, top: int = 10) -> Markup:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    targets = sorted({str(r.get("target")) for r in result.get("recordings", []) if r.get("target")})
    for r in result.get("recordings", []):
        counts[location_label(places.group(r.get("location", "")), targets)][encryption_state(r)] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    rows: list[tuple[str, Sequence[int]]] = [(name, values) for name, values in ordered[:top]]
    rest = ordered[top:]
    if rest:
        merged = [sum(values[i] for _, values in rest) for i in range(4)]
        rows.append((f"{len(rest):,} other places", merged))
    return stacked_bar_chart(rows, ENCRYPTION_STATES, label="Recordings by location and encryption")


def _age_chart(result: dict[str, Any]) -> Markup:
    retention = result.get("retention") or {}
    default = retention.get("default_days")
    limits: dict[int, list[str]] = defaultdict(list)
    if isinstance(default, int):
        limits[default].append("default")
    for purpose, days in sorted((retention.get("by_purpose") or {}).items()):
        if isinstance(days, int):
            limits[days].append(str(purpose))
    edges = sorted({*AGE_EDGES, *(d for d in limits if 0 < d <= 3650)})
    counts = [0] * (len(edges) + 1)
    unknown = 0
    as_of = day(result.get("as_of"))
    for r in result.get("recordings", []):
        recorded = day(r.get("recorded_at"))
        if recorded is None or as_of is None:
            unknown += 1
            continue
        age = max((as_of - recorded).days, 0)
        counts[next((i for i, edge in enumerate(edges) if age <= edge), len(edges))] += 1
    bins = []
    for i, n in enumerate(counts):
        low = 0 if i == 0 else edges[i - 1] + 1
        label = f"> {edges[-1]}" if i == len(edges) else f"{low}–{edges[i]}"
        over = isinstance(default, int) and low > default
        bins.append(Bar(label, n, "age-over" if over else "age-ok"))
    if unknown:
        bins.append(Bar("unknown", unknown, "age-unknown"))
    markers = [
        Marker(edges.index(days) + 1, f"{' · '.join(names)} {days} d")
        for days, names in sorted(limits.items())
        if days in edges
    ]
    title = "Age of recordings" + (" against retention limits" if markers else "")
    return histogram(bins, label=title, markers=markers)
