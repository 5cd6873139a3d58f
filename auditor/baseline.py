"""`--baseline PREVIOUS.json`: compare this audit with an earlier one.

Findings are matched by fingerprint (rule, location and discriminator; never dates), so a
finding is `new`, `unchanged`, or - present before and gone now - `resolved`. Unchanged
findings keep their `first_seen`, and breach findings keep the *first* discovery time and the
notification deadlines computed from it: re-running the audit must not restart the HIPAA
60-day or GDPR 72-hour clock.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.contract import load_result, summarise
from auditor.errors import InputError
from auditor.rules.breach import restamp

# Evidence that records when the problem was first known; carried over for unchanged findings.
CLOCK_KEYS: tuple[str, ...] = ("discovered_at", "hipaa_notification_deadline", "gdpr_notification_deadline")
TREND_POINTS = 30  # how many past audits the trend keeps


def load_baseline(path: Path) -> tuple[dict[str, Any], str]:
    """The earlier result and the SHA-256 of its file; a redacted result cannot serve (its names are hidden)."""
    data = load_result(path)
    if data.get("redaction"):
        raise InputError(
            path,
            "this result is redacted, so its fingerprints cannot be matched; use the unredacted JSON as "
            "the baseline (redact only the copies you share)",
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return data, digest


def apply_baseline(result: dict[str, Any], baseline: dict[str, Any], *, source: str, sha256: str) -> None:
    """Mark each finding new or unchanged, append resolved ones, record the comparison and the trend."""
    # A result compared before (e.g. scanned with --baseline, now re-rendered with another one).
    result["findings"] = [f for f in result["findings"] if f.get("status") != "resolved"]
    previous = {
        f["fingerprint"]: f
        for f in baseline.get("findings", [])
        if f.get("status") != "resolved" and f.get("fingerprint")
    }
    now = result.get("started") or result["as_of"]
    counts = {"new": 0, "unchanged": 0, "resolved": 0}
    seen = set()
    for finding in result["findings"]:
        before = previous.get(finding.get("fingerprint", ""))
        if before is None:
            finding["status"] = "new"
            finding.setdefault("first_seen", now)
        else:
            seen.add(finding["fingerprint"])
            finding["status"] = "unchanged"
            finding["first_seen"] = before.get("first_seen") or baseline.get("started") or baseline["as_of"]
            _keep_clock(finding, before)
        counts[finding["status"]] += 1
    for fingerprint, before in previous.items():
        if fingerprint in seen:
            continue
        gone = copy.deepcopy(before)
        gone["status"] = "resolved"
        gone.setdefault("first_seen", baseline.get("started") or baseline["as_of"])
        gone["last_seen"] = baseline.get("started") or baseline["as_of"]
        result["findings"].append(gone)
        counts["resolved"] += 1
    result["baseline"] = {
        "file": source,
        "sha256": sha256,
        "as_of": baseline["as_of"],
        "started": baseline.get("started"),
        **counts,
    }
    result["trend"] = _trend(result, baseline)


def _keep_clock(finding: dict[str, Any], before: dict[str, Any]) -> None:
    old, new = before.get("evidence") or {}, finding.get("evidence") or {}
    if not all(key in old for key in CLOCK_KEYS) or "discovered_at" not in new:
        return
    try:
        discovered = datetime.fromisoformat(str(old["discovered_at"]))
    except ValueError:
        return
    restamp(finding, discovered)


def _point(result: dict[str, Any]) -> dict[str, Any]:
    summary = summarise(result["findings"], result.get("recordings", []))
    return {
        "as_of": result["as_of"],
        "started": result.get("started"),
        "findings": summary["findings"],
        "by_severity": summary["by_severity"],
        "recordings": summary["recordings"],
        "compliant_recordings": summary["compliant_recordings"],
    }


def _trend(result: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    history = [p for p in baseline.get("trend") or [] if isinstance(p, dict)]
    if not history:
        history = [_point(baseline)]
    return [*history, _point(result)][-TREND_POINTS:]
