"""`.html`: the audit report officers read, print and hand to an inspector.

One self-contained file: CSS, script and charts are inline, a Content-Security-Policy forbids
every fetch, and the data is embedded once as compact JSON that the script pages through, so
100,000 findings open smoothly. Templates are Jinja2 with autoescape on (file names are hostile
input) and live in the top-level `reports/` folder; `--template DIR` overrides any of them
(docs/report.md lists the variables).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import OutputOptions, write_private
from auditor.outputs.charts import (
    Bar,
    Marker,
    Segment,
    bar_chart,
    histogram,
    stacked_bar_chart,
    stacked_columns,
)
from auditor.posture import framework_posture, is_active
from auditor.resources import data_dir
from auditor.contract import json_sha256

TEMPLATE = "report.html.j2"
PAGE_CAP = 200  # rows a server-rendered list shows before pointing at the table or the JSON
LOGO_TYPES = {"logo.svg": "image/svg+xml", "logo.png": "image/png", "logo.jpg": "image/jpeg"}
STATUSES = ("", "new", "unchanged", "resolved")
ENCRYPTION_STATES = (
    Segment("encrypted (content)", "enc-content"),
    Segment("encrypted at rest only", "enc-rest"),
    Segment("not encrypted", "enc-none"),
    Segment("unknown", "enc-unknown"),
)
AGE_EDGES = (30, 60, 90, 180, 365, 730)


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    write_private(path, render_html(result, options).encode("utf-8", "backslashreplace"))


def render_html(result: dict[str, Any], options: OutputOptions | None = None) -> str:
    options = options or OutputOptions()
    env = environment(options.template_dir)
    context = build_context(result, options, env)
    return env.get_template(TEMPLATE).render(**context)


# --- templates -------------------------------------------------------------------------------


def environment(template_dir: Path | None) -> Environment:
    """Templates from `template_dir` first, then the built-in ones; `builtin/NAME` always reaches
    the built-in, so an override can `{% extends "builtin/report.html.j2" %}` and change one block."""
    builtin = FileSystemLoader(str(data_dir("reports")))
    loaders: list[Any] = [FileSystemLoader(str(template_dir))] if template_dir else []
    loaders += [builtin, PrefixLoader({"builtin": builtin})]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["when"] = when
    env.filters["size"] = human_size
    return env


def asset(env: Environment, name: str) -> str:
    """Raw text of a CSS or JS file, found like templates (an override dir wins)."""
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return source


def _optional_asset(env: Environment, name: str) -> str:
    try:
        return asset(env, name)
    except Exception:  # jinja2.TemplateNotFound: the optional file is simply absent
        return ""


def _logo(template_dir: Path | None) -> str | None:
    if template_dir is None:
        return None
    for name, mime in LOGO_TYPES.items():
        candidate = template_dir / name
        if candidate.is_file():
            return f"data:{mime};base64," + base64.b64encode(candidate.read_bytes()).decode("ascii")
    return None


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# --- text helpers ----------------------------------------------------------------------------

# Controls, line breaks and bidirectional overrides (which can disguise `gpj.exe` as `exe.jpg`)
# are shown as escapes, so a file name reads exactly as stored.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(value: Any) -> str:
    text = "" if value is None else str(value)

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
        if named:
            return named
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(escape, text)


def when(value: Any) -> str:
    """An ISO timestamp as `2026-11-22 05:11 UTC`; other values as given."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    suffix = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return f"{moment:%Y-%m-%d %H:%M}{suffix}"


def human_size(n: Any) -> str:
    if not isinstance(n, int):
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


def script_json(data: Any) -> Markup:
    """JSON that is safe inside <script type="application/json">: no `<`, `>`, `&`, U+2028/2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return Markup(text)


# --- places ----------------------------------------------------------------------------------


class Places:
    """Which target a location belongs to, and its group: the target plus top folder, or the bucket."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.target_of: dict[str, str] = {}
        for item in (*result.get("recordings", []), *result.get("buckets", [])):
            if item.get("target"):
                self.target_of[item["location"]] = str(item["target"])
        targets = set(self.target_of.values()) | {t for t in result.get("targets", []) if t}
        self.targets = sorted(targets, key=len, reverse=True)

    def target(self, location: str) -> str:
        known = self.target_of.get(location)
        if known:
            return known
        for target in self.targets:
            if location.startswith(target.rstrip("/") + "/") or location == target:
                return target
        return location.rpartition("/")[0] or location

    def group(self, location: str) -> str:
        if location.startswith("s3://"):
            return "s3://" + location[5:].split("/", 1)[0]
        target = self.target(location).rstrip("/")
        rel = location[len(target) :].lstrip("/") if location.startswith(target) else ""
        if "/" in rel:
            return f"{target}/{rel.split('/', 1)[0]}/"
        return target + "/" if target else location


def encryption_state(item: dict[str, Any]) -> int:
    """0 content-encrypted, 1 encrypted at rest only (volume or SSE), 2 not encrypted, 3 unknown."""
    if str(item.get("encryption", "")).startswith("content:"):
        return 0
    if item.get("encrypted") is True:
        return 1
    if item.get("encrypted") is False:
        return 2
    return 3


def _day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None


# --- the embedded data -----------------------------------------------------------------------


class _Strings:
    """Interned strings: 100,000 findings repeat the same locations, messages and evidence."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        if value is None or value == "":
            return -1
        text = value if isinstance(value, str) else str(value)
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.items)
            self.items.append(text)
        return found


def embedded_data(result: dict[str, Any], places: Places) -> dict[str, Any]:
    """Compact, column-free rows; reports/report.js documents the layout it reads."""
    strings = _Strings()
    sev_index = {s: i for i, s in enumerate(SEVERITIES)}
    rule_list: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}

    def rule_of(rule_id: str, category: str, severity: str) -> int:
        if rule_id not in rule_index:
            rule_index[rule_id] = len(rule_list)
            rule_list.append({"id": rule_id, "title": rule_id, "category": category, "severity": severity})
        return rule_index[rule_id]

    for rule in result.get("rules", []):
        rule_of(rule["id"], rule.get("category", ""), rule.get("severity", "info"))
        rule_list[rule_index[rule["id"]]]["title"] = rule.get("title") or rule["id"]
    categories: list[str] = []
    cat_index: dict[str, int] = {}
    suppressions: list[list[Any]] = []
    sup_index: dict[str, int] = {}
    worst: dict[str, int] = {}
    open_count: Counter[str] = Counter()
    rows = []
    for f in result.get("findings", []):
        cat = f.get("category", "")
        if cat not in cat_index:
            cat_index[cat] = len(categories)
            categories.append(cat)
        sup = -1
        if f.get("suppressed"):
            s = f["suppressed"]
            key = json.dumps([s.get("reason"), s.get("expires"), s.get("line"), s.get("by")])
            if key not in sup_index:
                sup_index[key] = len(suppressions)
                suppressions.append(
                    [s.get("reason"), s.get("expires"), s.get("line"), s.get("by"), s.get("file")]
                )
            sup = sup_index[key]
        sev = sev_index.get(f.get("severity", "info"), len(SEVERITIES) - 1)
        location = f.get("location", "")
        if is_active(f):
            open_count[location] += 1
            worst[location] = min(worst.get(location, sev), sev)
        rows.append(
            [
                sev,
                rule_of(f.get("rule", ""), cat, f.get("severity", "info")),
                cat_index[cat],
                strings(location),
                strings(places.group(location)),
                strings(f.get("message")),
                strings(f.get("client")),
                STATUSES.index(f["status"]) if f.get("status") in STATUSES else 0,
                sup,
                strings(json.dumps(f.get("evidence") or {}, ensure_ascii=False, sort_keys=True, default=str)),
                strings(json.dumps(f.get("controls") or [], ensure_ascii=False)),
                strings(f.get("remediation")),
                f.get("fingerprint", ""),
                strings(f.get("first_seen")),
            ]
        )
    as_of = _day(result.get("as_of"))
    recordings = []
    for r in result.get("recordings", []):
        location = r.get("location", "")
        recorded = _day(r.get("recorded_at"))
        hold = r.get("legal_hold") or None
        exposures = "; ".join(f"{e.get('kind')}: {e.get('detail')}" for e in r.get("exposures") or [])
        recordings.append(
            [
                strings(location),
                strings(places.group(location)),
                strings(" / ".join(x for x in (r.get("media"), r.get("format")) if x)),
                encryption_state(r),
                strings(r.get("encryption")),
                strings(r.get("client")),
                strings(recorded.isoformat() if recorded else None),
                (as_of - recorded).days if as_of and recorded else None,
                strings(exposures),
                open_count.get(location, 0),
                worst.get(location, -1),
                strings(_hold_text(hold)),
                r.get("size"),
            ]
        )
    return {
        "strings": strings.items,
        "severities": list(SEVERITIES),
        "statuses": list(STATUSES),
        "encryption": [s.label for s in ENCRYPTION_STATES],
        "rules": rule_list,
        "categories": categories,
        "suppressions": suppressions,
        "findings": rows,
        "recordings": recordings,
    }


def _hold_text(hold: dict[str, Any] | None) -> str | None:
    if not hold:
        return None
    state = "in force" if hold.get("in_force") else "ended"
    until = hold.get("until") or "until lifted"
    return f"{state}: {hold.get('reason') or 'no reason given'} ({until})"


# --- the view --------------------------------------------------------------------------------


def build_context(result: dict[str, Any], options: OutputOptions, env: Environment) -> dict[str, Any]:
    places = Places(result)
    summary = result.get("summary") or {}
    findings = result.get("findings", [])
    active = [f for f in findings if is_active(f)]
    css = asset(env, "report.css") + _optional_asset(env, "brand.css")
    js = asset(env, "report.js")
    data = embedded_data(result, places)
    sha256 = options.result_sha256 or json_sha256(result)
    csp = (
        "default-src 'none'; "
        f"style-src {csp_hash(css)}; script-src {csp_hash(js)}; img-src data:; font-src 'none'; "
        "connect-src 'none'; media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; "
        "manifest-src 'none'; base-uri 'none'; form-action 'none'"
    )
    coverage = result.get("coverage") or {}
    return {
        "result": result,
        "title": options.title or (result.get("report") or {}).get("title") or _default_title(result),
        "meta": _meta(result, sha256, options),
        "summary": summary,
        "compliance_pct": _pct(summary.get("compliant_recordings", 0), summary.get("recordings", 0)),
        "coverage": _coverage(coverage),
        "breaches": _breaches(active, places),
        "posture": framework_posture(result),
        "charts": _charts(result, summary, places),
        "legal_holds": _legal_holds(result),
        "suppressions": _suppressions(result, findings),
        "baseline": result.get("baseline"),
        "retention": result.get("retention"),
        "trend": result.get("trend") or [],
        "redaction": result.get("redaction"),
        "filters": _filters(data),
        "data_json": script_json(data),
        "css": Markup(css),
        "js": Markup(js),
        "csp": csp,
        "logo": _logo(options.template_dir),
        "severities": SEVERITIES,
        "counts": {
            "findings": len(findings),
            "active": len(active),
            "resolved": sum(1 for f in findings if f.get("status") == "resolved"),
            "new": sum(1 for f in active if f.get("status") == "new"),
        },
    }


def _default_title(result: dict[str, Any]) -> str:
    org = result.get("organisation")
    return f"{org} — recording audit" if org else "Recording audit"


def _pct(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _meta(result: dict[str, Any], sha256: str, options: OutputOptions) -> dict[str, Any]:
    started, finished = result.get("started"), result.get("finished")
    duration = None
    if started and finished:
        try:
            duration = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
        except ValueError:
            duration = None
    return {
        "organisation": result.get("organisation"),
        "run_by": result.get("run_by"),
        "as_of": result.get("as_of"),
        "started": started,
        "finished": finished,
        "duration": duration,
        "targets": result.get("targets", []),
        "tool": result.get("tool", {}),
        "rule_packs": result.get("rule_packs", []),
        "config": result.get("config"),
        "consent_registry": result.get("consent_registry"),
        "sha256": sha256,
        "json_files": [p.name for p in options.companion_json],
    }


def _coverage(coverage: dict[str, Any]) -> dict[str, Any]:
    by_reason: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for gap in coverage.get("skipped", []):
        by_reason[gap.get("reason", "unknown")].append(gap)
    groups: list[dict[str, Any]] = [
        {
            "reason": reason,
            "intentional": reason in INTENTIONAL_SKIPS,
            "count": len(gaps),
            "examples": gaps[:PAGE_CAP],
        }
        for reason, gaps in sorted(
            by_reason.items(), key=lambda kv: (kv[0] in INTENTIONAL_SKIPS, -len(kv[1]))
        )
    ]
    holes = sum(int(g["count"]) for g in groups if not g["intentional"])
    return {**coverage, "groups": groups, "holes": holes, "complete": coverage.get("complete", holes == 0)}


def _breaches(active: Iterable[dict[str, Any]], places: Places) -> dict[str, Any]:
    rows = []
    for f in active:
        if f.get("category") != "breach":
            continue
        ev = f.get("evidence") or {}
        rows.append(
            {
                "location": f.get("location"),
                "group": places.group(f.get("location", "")),
                "client": f.get("client"),
                "severity": f.get("severity"),
                "status": f.get("status"),
                "message": f.get("message"),
                "exposures": ev.get("exposures") or [],
                "discovered_at": ev.get("discovered_at"),
                "hipaa": ev.get("hipaa_notification_deadline"),
                "gdpr": ev.get("gdpr_notification_deadline"),
                "fingerprint": f.get("fingerprint"),
            }
        )
    rows.sort(key=lambda r: (str(r["gdpr"] or ""), str(r["location"])))
    earliest = {
        key: min((str(r[key]) for r in rows if r[key]), default=None)
        for key in ("discovered_at", "hipaa", "gdpr")
    }
    return {"count": len(rows), "rows": rows[:PAGE_CAP], "earliest": earliest}


def _legal_holds(result: dict[str, Any]) -> dict[str, Any]:
    held = [
        {
            "location": r.get("location"),
            "client": (r.get("legal_hold") or {}).get("client") or r.get("client"),
            "reason": (r.get("legal_hold") or {}).get("reason"),
            "until": (r.get("legal_hold") or {}).get("until"),
        }
        for r in result.get("recordings", [])
        if (r.get("legal_hold") or {}).get("in_force")
    ]
    held.sort(key=lambda h: (str(h["client"]), str(h["location"])))
    return {"count": len(held), "rows": held[: PAGE_CAP * 5]}


def _suppressions(result: dict[str, Any], findings: Sequence[dict[str, Any]]) -> dict[str, Any]:
    suppressed = [f for f in findings if f.get("suppressed") and f.get("status") != "resolved"]
    info = result.get("suppressions") or {}
    return {
        "file": info.get("file"),
        "entries": info.get("entries", []),
        "count": len(suppressed),
        "rows": suppressed[:PAGE_CAP],
        "expired": [e for e in info.get("entries", []) if e.get("expired")],
    }


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    strings = data["strings"]
    groups = sorted({strings[row[4]] for row in data["findings"] if row[4] >= 0})
    clients = sorted({strings[row[6]] for row in data["findings"] if row[6] >= 0})
    return {
        "rules": [(r["id"], r["title"]) for r in data["rules"]],
        "categories": sorted(data["categories"]),
        "groups": groups[:500],
        "clients": clients[:2000],
        "has_status": any(row[7] for row in data["findings"]),
    }


# --- charts ----------------------------------------------------------------------------------


def _charts(result: dict[str, Any], summary: dict[str, Any], places: Places) -> dict[str, Markup]:
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
                (p.get("as_of", "?"), [int((p.get("by_severity") or {}).get(s, 0)) for s in SEVERITIES])
                for p in trend
            ],
            [Segment(s, f"sev-{s}") for s in SEVERITIES],
            label="Open findings per audit, by severity",
        )
    return charts


def _location_chart(result: dict[str, Any], places: Places, top: int = 10) -> Markup:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in result.get("recordings", []):
        counts[places.group(r.get("location", ""))][encryption_state(r)] += 1
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
    as_of = _day(result.get("as_of"))
    for r in result.get("recordings", []):
        recorded = _day(r.get("recorded_at"))
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
