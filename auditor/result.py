"""The JSON contract (docs/json-contract.md): turn a ScanResult into the stable, documented dict.

Every output format renders from this dict, never from the Python objects, so that
`auditor report RESULT.json` gives exactly what `auditor scan -o` would have given.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

try:  # a fast encoder where its wheels exist; the standard library otherwise
    import orjson
except ImportError:  # pragma: no cover - depends on the platform
    orjson = None  # type: ignore[assignment]

from auditor.engine import ScanResult
from auditor.errors import InputError
from auditor.models import SEVERITIES, Artifact, Finding
from auditor.rules.registry import ActiveRule

SCHEMA_VERSION = 1


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def artifact_to_dict(a: Artifact) -> dict[str, Any]:
    att = a.attribution
    return {
        "kind": a.kind,
        "location": a.location,
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
        "legal_hold": a.facts.get("legal_hold"),
        "facts": {k: v for k, v in a.facts.items() if k != "legal_hold"},
    }


def summarise(findings: list[dict[str, Any]], recordings: list[dict[str, Any]]) -> dict[str, Any]:
    active = [f for f in findings if not f.get("suppressed") and f.get("status") != "resolved"]
    flagged = {f["location"] for f in active}
    by_sev = Counter(f["severity"] for f in active)
    return {
        "recordings": len(recordings),
        "compliant_recordings": sum(1 for r in recordings if r["location"] not in flagged),
        "findings": len(active),
        "suppressed": sum(1 for f in findings if f.get("suppressed")),
        "by_severity": {s: by_sev.get(s, 0) for s in SEVERITIES},
        "by_category": dict(sorted(Counter(f["category"] for f in active).items())),
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
    }


def result_to_dict(result: ScanResult, parts: ResultParts | None = None) -> dict[str, Any]:
    """`parts`, when given, must have been built by add() for every artifact of `result`."""
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
        "run_by": _who(),
        "organisation": result.config.organisation,
        "config": str(result.config.source) if result.config.source else None,
        "consent_registry": result.registry_source,
        "targets": list(result.targets),
        "rule_packs": [asdict(p) for p in result.ruleset.packs],
        "rules": rules,
        "summary": summarise(findings, recordings),
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


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError, ImportError):  # no login name anywhere; no pwd module (Windows)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


# Compact, and encoded a slice of a list at a time: a result with 100,000 findings is never held
# as one giant string. orjson is several times faster than the standard library's encoder; the
# standard one is the fallback for what orjson refuses (e.g. a lone surrogate from an odd name).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_SLICE = 2048


def _encode(value: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str)
        except (orjson.JSONEncodeError, TypeError):
            pass
    return _ENCODER.encode(value).encode("utf-8", "backslashreplace")


def iter_json(data: dict[str, Any]) -> Iterator[bytes]:
    """The canonical JSON bytes of a result, in chunks: exactly what a `.json` output holds."""
    yield b"{"
    for index, (key, value) in enumerate(data.items()):
        yield (b"," if index else b"") + _encode(key) + b":"
        if isinstance(value, list) and len(value) > _SLICE:
            yield b"["
            for start in range(0, len(value), _SLICE):
                encoded = _encode(value[start : start + _SLICE])  # "[...]": keep what is inside
                yield (b"," if start else b"") + encoded[1:-1]
            yield b"]"
        else:
            yield _encode(value)
    yield b"}\n"


def dumps(data: dict[str, Any]) -> str:
    return b"".join(iter_json(data)).decode("utf-8")


def json_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of exactly the bytes a `.json` output of `data` holds (`sha256sum result.json`)."""
    digest = hashlib.sha256()
    for chunk in iter_json(data):
        digest.update(chunk)
    return digest.hexdigest()


def load_result(path: Path) -> dict[str, Any]:
    """Read a saved JSON result for `auditor report`; a file that is not one is an input error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from exc
    if not isinstance(data, dict) or data.get("tool", {}).get("name") != "recording-auditor":
        raise InputError(path, "not a recording-auditor JSON result")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(path, f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}")
    return data
