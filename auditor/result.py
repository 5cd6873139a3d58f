"""The builder of the JSON contract (docs/json-contract.md): turn a ScanResult into the stable,
documented dict.

Every output format renders from this dict, never from the Python objects, so that
`auditor report RESULT.json` gives exactly what `auditor scan -o` would have given. The pure
helpers of the contract (its version, summary, bytes and hash) are in `auditor.contract`.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from auditor.contract import SCHEMA_VERSION, summarise
from auditor.engine import ScanResult
from auditor.models import Artifact, Finding
from auditor.rules.registry import ActiveRule


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def artifact_to_dict(a: Artifact) -> dict[str, Any]:
    att = a.attribution
    return {
        "kind": a.kind,
        "location": a.location,
        "relpath": a.relpath,
        "source": a.source,
        "target": a.target,
        "media": a.media,
        "format": a.format,
        "encrypted": a.encrypted,
        "encryption": a.encryption,
        "client": att.client,
        "session_date": _iso(att.session_date),
        "purpose": att.purpose,
        "participants": list(att.participants),
        "consent_id": att.consent_id,
        "attribution_source": att.source,
        "recorded_at": _iso(a.recorded_at),
        "recorded_at_source": a.recorded_at_source,
        "embedded_created": _iso(a.embedded_created),
        "size": a.size,
        "mtime": _iso(a.mtime),
        "exposures": [{"kind": e.kind, "detail": e.detail, "evidence": e.evidence} for e in a.exposures],
        "legal_hold": a.legal_hold.to_dict() if a.legal_hold else None,
        "facts": dict(a.facts),
    }


class ResultParts:
    """The result's long lists as dicts: findings, recordings, buckets.

    Built with add() while the scan runs (run_scan's on_judged), that work overlaps the walk on a
    large tree instead of waiting for its end; or all at once from a finished ScanResult."""

    def __init__(self) -> None:
        self.findings: list[dict[str, Any]] = []
        self.recordings: list[dict[str, Any]] = []
        self.buckets: list[dict[str, Any]] = []

    def add(self, artifact: Artifact, findings: list[Finding]) -> None:
        (self.recordings if artifact.kind == "recording" else self.buckets).append(artifact_to_dict(artifact))
        self.findings.extend(f.to_dict() for f in findings)

    @classmethod
    def of(cls, result: ScanResult) -> ResultParts:
        parts = cls()
        parts.findings = [f.to_dict() for f in result.findings]
        parts.recordings = [artifact_to_dict(a) for a in result.recordings]
        parts.buckets = [artifact_to_dict(b) for b in result.buckets]
        return parts


def active_rule_to_dict(a: ActiveRule) -> dict[str, Any]:
    """One entry of the result's "rules": a rule as this audit applied it."""
    return {
        "id": a.rule.id,
        "category": a.rule.category,
        "severity": a.severity,
        "title": a.rule.title,
        "description": a.rule.description,
        "controls": list(a.controls),
        "remediation": a.rule.remediation,
        "pack": a.pack,
        # What the rule can judge: which outputs say a rule did not run (JUnit's skipped) read it.
        "applies_to": sorted(a.rule.applies_to),
        "sources": sorted(a.rule.sources),
        "requires_registry": a.rule.requires_registry,
    }


def result_to_dict(
    result: ScanResult, parts: ResultParts | None = None, *, summary: bool = True
) -> dict[str, Any]:
    """`parts`, when given, must have been built by add() for every artifact of `result`.
    `summary=False` leaves the summary empty (in its place) for a caller that publishes the result:
    publish summarises after suppressions and the breach register, so a summary made here would
    only be thrown away (on 55,000 findings, ~0.1 s)."""
    if parts is None:
        parts = ResultParts.of(result)
    findings, recordings = parts.findings, parts.recordings
    rules = [active_rule_to_dict(a) for a in result.ruleset.active]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": result.tool,
        "as_of": result.as_of.isoformat(),
        "started": _iso(result.started),
        "finished": _iso(result.finished),
        "run_by": who_runs(),
        "organisation": result.config.organisation.name,
        # Absolute: a report read elsewhere must still say which file set the policy.
        "config": os.path.abspath(result.config.source) if result.config.source else None,
        "consent_registry": result.registry_source,
        "targets": list(result.targets),
        "rule_packs": [asdict(p) for p in result.ruleset.packs],
        "rules": rules,
        "summary": summarise(findings, recordings) if summary else {},
        "findings": findings,
        "recordings": recordings,
        "buckets": parts.buckets,
        "coverage": result.coverage.to_dict(),
        # The limits the audit applied, so reports can draw ages against them.
        "retention": {
            "default_days": result.config.retention.default_days,
            "by_purpose": dict(result.config.retention.by_purpose),
        },
        **result.extra,
    }


def who_runs() -> str:
    """user@host of whoever runs this audit (the result's run_by)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no login name anywhere; no pwd module (Windows)
        user = "unknown"
    return f"{user}@{_hostname()}"


def _hostname() -> str:
    """The machine's name, as socket.gethostname() gives it, without importing socket where uname has it."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket  # Windows

    return socket.gethostname()
