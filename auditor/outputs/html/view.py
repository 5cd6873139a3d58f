"""The template's variables: every section of the report worked out from the result dict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from auditor.contract import json_sha256
from auditor.controls import Framework, control_name, frameworks
from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import OutputOptions
from auditor.outputs.html.breaches import breach_panel
from auditor.outputs.html.charts import report_charts
from auditor.outputs.html.environment import asset, content_security_policy, logo, optional_asset
from auditor.outputs.html.rows import embedded_data, group_of
from auditor.outputs.html.scope import scope
from auditor.outputs.html.scopes import scope_rows
from auditor.outputs.html.text import script_json
from auditor.outputs.places import Places
from auditor.people import describe, people_affected
from auditor.posture import framework_posture, is_active

PAGE_CAP = 200  # rows a server-rendered list shows before pointing at the table or the JSON


def build_context(result: dict[str, Any], options: OutputOptions, env: Environment) -> dict[str, Any]:
    places = Places(result)
    summary = result.get("summary") or {}
    findings = result.get("findings", [])
    active = [f for f in findings if is_active(f)]
    css = asset(env, "report.css") + optional_asset(env, "brand.css")
    js = asset(env, "report.js")
    data, parts = embedded_data(result, places)
    sha256 = options.result_sha256 or json_sha256(result)
    coverage_view = _coverage(result.get("coverage") or {})
    posture = framework_posture(result)
    people = summary.get("people_affected") or people_affected(findings, result.get("recordings", []))
    return {
        "result": result,
        "title": options.title or (result.get("report") or {}).get("title") or _default_title(result),
        "meta": _meta(result, sha256, options),
        "summary": summary,
        "compliance_pct": _pct(summary.get("compliant_recordings", 0), summary.get("recordings", 0)),
        "coverage": coverage_view,
        "breaches": breach_panel(result, active, places),
        "scope": scope(result, coverage_view),
        "scopes": scope_rows(result),
        "people": people,
        "people_text": {key: describe(counts) for key, counts in people.items()},
        "default_view": _default_view(result),
        "sign_off": [("Prepared by", None), ("Reviewed by", None)],
        "control_sources": _control_sources(posture),
        "posture": posture,
        "charts": report_charts(result, summary, places),
        "chart_target": _single_target(result),
        "legal_holds": _legal_holds(result),
        "suppressions": _suppressions(result, findings),
        "watch": _watch(result.get("watch")),
        "baseline": result.get("baseline"),
        "retention": result.get("retention"),
        "trend": result.get("trend") or [],
        "redaction": result.get("redaction"),
        "filters": _filters(result, data, places),
        "data_json": script_json(data),
        "data_parts": parts,
        "css": Markup(css),
        "js": Markup(js),
        "csp": content_security_policy(css, js),
        "logo": logo(options.template_dir),
        "severities": SEVERITIES,
        "counts": {
            "findings": len(findings),
            "active": len(active),
            "resolved": sum(1 for f in findings if f.get("status") == "resolved"),
            "new": sum(1 for f in active if f.get("status") == "new"),
        },
    }


def _single_target(result: dict[str, Any]) -> str | None:
    """The one target all recordings were found under, which the location chart's labels leave out."""
    targets = {str(r.get("target")) for r in result.get("recordings", []) if r.get("target")}
    return targets.pop() if len(targets) == 1 else None


def _default_view(result: dict[str, Any]) -> str:
    """A local audit is read recording by recording; with buckets in it, one row per finding."""
    local = not result.get("buckets") and all(
        r.get("source", "local") == "local" for r in result.get("recordings", [])
    )
    return "recordings" if local else "findings"


def _control_sources(posture: list[dict[str, Any]]) -> list[Framework]:
    """The frameworks whose control names the posture shows, for the note citing their texts."""
    used = {
        name.framework for fw in posture for c in fw["controls"] if (name := control_name(c["control"])).name
    }
    return [f for key, f in frameworks().items() if key in used]


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
        "duration_text": duration_text(duration),
        "targets": result.get("targets", []),
        "tool": result.get("tool", {}),
        "plugins": _third_party_plugins(result.get("tool", {})),
        "rule_packs": result.get("rule_packs", []),
        "config": result.get("config"),
        "consent_registry": result.get("consent_registry"),
        "sha256": sha256,
        "json_files": [p.name for p in options.companion_json],
    }


def _third_party_plugins(tool: dict[str, Any]) -> list[dict[str, str]]:
    """The plugins from other distributions than the tool's own that took part, per distribution:
    an inspector should see what else read or judged the recordings."""
    by_provider: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for p in tool.get("plugins") or []:
        if p.get("distribution") != tool.get("name"):
            by_provider[f"{p.get('distribution')} {p.get('version')}"][str(p.get("kind"))].append(
                str(p.get("name"))
            )
    return [
        {
            "provider": provider,
            "parts": "; ".join(f"{kind}s: {', '.join(names)}" for kind, names in kinds.items()),
        }
        for provider, kinds in sorted(by_provider.items())
    ]


def duration_text(seconds: float | None) -> str | None:
    """'0.2 s', '2 min 13 s', '1 h 04 min'; None when unknown or nil (a result that did not time a scan)."""
    if seconds is None or seconds <= 0:
        return None
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


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


def _watch(status: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report kept by `auditor watch` carries the daemon's status: how well the tree was watched."""
    if not status:
        return None
    health = status.get("health") or {}
    not_watched = [
        {"path": path, "why": why, "kind": kind}
        for kind, key in (("missing", "missing"), ("unreadable", "unreadable"), ("never watched", "refused"))
        for path, why in sorted((health.get(key) or {}).items())
    ]
    incidents = [*(health.get("open_recoveries") or []), *reversed(health.get("recent_incidents") or [])]
    return {
        "state": health.get("state", "unknown"),
        "reasons": health.get("reasons") or [],
        "host": status.get("host"),
        "pid": status.get("pid"),
        "started": status.get("started"),
        "heartbeat": status.get("heartbeat"),
        "trees": health.get("watching") or [],
        "not_watched": not_watched,
        "counts": {
            "Queue overflows": health.get("overflows", 0),
            "Observer restarts": health.get("restarts", 0),
            "Watch loop restarts": health.get("loop_restarts", 0),
            "Files that failed": health.get("files_failed", 0),
            "Events sent": status.get("events_emitted", 0),
        },
        "sinks": status.get("sinks") or [],
        "incidents": incidents[:PAGE_CAP],
        "file_notes": list(reversed(health.get("file_notes") or [])),
        "last_rescan": status.get("last_rescan"),
    }


def _filters(result: dict[str, Any], data: dict[str, Any], places: Places) -> dict[str, Any]:
    findings = result.get("findings", [])
    groups = sorted({g for f in findings if (g := group_of(f, places))})
    clients = sorted({str(f["client"]) for f in findings if f.get("client")})
    owners = sorted({str(f["owner"]) for f in findings if f.get("owner")})
    parts = data["parts"]
    return {
        "rules": [(r["id"], r["title"]) for r in data["rules"]],
        "categories": sorted(data["categories"]),
        # a merged report's groups are its scopes (rows.group_of), in the order merged
        "groups": [p["scope"] for p in parts][:500] if parts else groups[:500],
        "scoped": bool(result.get("scopes")),
        # a large merge opens on its first scope: one scope's rows are parsed, not every scope's
        "default_group": parts[0]["scope"] if data["lazy"] else "",
        "clients": clients[:2000],
        "owners": owners[:500],
        "has_status": any(f.get("status") in ("new", "unchanged", "resolved") for f in findings),
    }
