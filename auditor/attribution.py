"""Attribution: which client and session a recording belongs to, and when it was recorded.

Sources are tried in order: a sidecar file beside the recording, object metadata or tags
(buckets), then the config's path patterns. The recording date is the session date if known,
else the container's own creation time, else the file's mtime (or S3 LastModified); a copied
file has a fresh mtime but keeps its embedded date, which is why the embedded date wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from auditor.limits import SIDECAR
from auditor.models import Artifact, Attribution
from auditor.safeparse import LimitError, ParseError, check_size, decode_text, load_json

SIDECAR_SUFFIXES: tuple[str, ...] = (".meta.yaml", ".meta.json")
SIDECAR_MAX_BYTES = SIDECAR.max_bytes  # a sidecar is a few lines; anything bigger is not one of ours
_SIDECAR_KEYS = frozenset({"client", "session_date", "purpose", "participants", "consent_id"})
_SURROGATES = re.compile("[\ud800-\udfff]")


class SidecarError(ValueError):
    """A sidecar that cannot be used; it becomes a coverage gap, never a crash."""


def parse_sidecar(raw: bytes | str, *, json_format: bool) -> Attribution:
    """The attribution a sidecar gives; SidecarError for anything else (the caller records a gap).

    Sidecars lie in the scanned tree, where anyone may have written them, so they are held to
    auditor/limits.py's SIDECAR limits (64 KiB, 8 levels, no YAML aliases at all) and must be
    UTF-8 text.
    """
    data = _load_sidecar(raw, json_format)
    if not isinstance(data, dict):
        raise SidecarError("must be a mapping with client, session_date, purpose, participants")
    unknown = set(data) - _SIDECAR_KEYS
    if unknown:
        raise SidecarError(f"unknown key(s): {', '.join(sorted(map(repr, unknown)))}")
    participants = data.get("participants") or []
    if not isinstance(participants, list) or not all(_is_id(p) for p in participants):
        raise SidecarError("participants must be a list of client ids")
    for key in ("client", "purpose", "consent_id"):
        if data.get(key) is not None and not _is_id(data[key]):
            raise SidecarError(f"{key} must be text")
    return Attribution(
        client=_opt_str(data.get("client")),
        session_date=_opt_date(data.get("session_date"), "session_date"),
        purpose=_opt_str(data.get("purpose")),
        participants=[str(p) for p in participants],
        consent_id=_opt_str(data.get("consent_id")),
        source="sidecar",
    )


def _load_sidecar(raw: bytes | str, json_format: bool) -> Any:
    kind = "JSON" if json_format else "YAML"
    try:
        return load_json(raw, SIDECAR) if json_format else _load_yaml_sidecar(raw)
    except LimitError as exc:
        raise SidecarError(_at(exc.line, f"{exc.key}: {exc.message}" if exc.key else exc.message)) from exc
    except ParseError as exc:  # JSON syntax, or YAML that is not UTF-8
        raise SidecarError(_at(exc.line, exc.message)) from exc
    except SidecarError:
        raise
    except (ValueError, TypeError) as exc:  # e.g. an unhashable key
        raise SidecarError(f"not valid {kind}: {exc}") from exc


def _load_yaml_sidecar(raw: bytes | str) -> Any:
    import yaml  # only for a YAML sidecar: a scan that meets none never imports PyYAML

    from auditor.safeyaml import BaseLoader, check_yaml

    text = decode_text(raw) if isinstance(raw, bytes) else raw
    check_size(len(text.encode("utf-8", "surrogatepass")), SIDECAR)
    try:
        check_yaml(text, SIDECAR, BaseLoader)
        return yaml.load(text, Loader=BaseLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SidecarError(_at(mark.line + 1 if mark else None, f"not valid YAML: {problem}")) from exc
    except yaml.YAMLError as exc:
        raise SidecarError(f"not valid YAML: {exc}") from exc


def _at(line: int | None, message: str) -> str:
    return f"line {line}: {message}" if line is not None else message


def _is_id(value: Any) -> bool:
    """Text or a whole number (YAML reads `client: 1001` as one), and real text: no lone surrogate."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return _SURROGATES.search(value) is None
    return isinstance(value, int)


def from_metadata(meta: Mapping[str, str]) -> Attribution | None:
    """Object metadata or tags (`client`, `session-date`, `purpose`); keys compared case-insensitively."""
    lowered = {k.lower().replace("_", "-"): v for k, v in meta.items()}
    if not any(k in lowered for k in ("client", "session-date", "purpose")):
        return None
    try:
        session = _opt_date(lowered.get("session-date"), "session-date")
    except SidecarError:
        session = None  # a malformed tag is treated as absent; the evidence keeps the raw value
    participants = [p.strip() for p in lowered.get("participants", "").split(",") if p.strip()]
    return Attribution(
        client=_opt_str(lowered.get("client")),
        session_date=session,
        purpose=_opt_str(lowered.get("purpose")),
        participants=participants,
        consent_id=_opt_str(lowered.get("consent-id")),
        source="metadata",
    )


def from_patterns(relpath: str, patterns: Sequence[re.Pattern[str]]) -> Attribution | None:
    for pattern in patterns:
        m = pattern.search(relpath)
        if not m:
            continue
        groups = m.groupdict()
        try:
            session = date.fromisoformat(groups["date"]) if groups.get("date") else None
        except ValueError:
            session = None
        return Attribution(
            client=groups.get("client"),
            session_date=session,
            purpose=groups.get("purpose"),
            source="pattern",
        )
    return None


def attribute(
    relpath: str,
    patterns: Sequence[re.Pattern[str]],
    *,
    sidecar: Attribution | None = None,
    metadata: Attribution | None = None,
) -> Attribution:
    """First source that names a client wins; later sources only fill what earlier ones left open."""
    chosen = Attribution()
    for candidate in (sidecar, metadata, from_patterns(relpath, patterns)):
        if candidate is None:
            continue
        if chosen.source is None and candidate.client:
            chosen = Attribution(**vars(candidate))
            chosen.participants = list(candidate.participants)
        elif chosen.source is not None:
            chosen.session_date = chosen.session_date or candidate.session_date
            chosen.purpose = chosen.purpose or candidate.purpose
    if chosen.source is None:
        # No source named a client; keep whatever date/purpose one gave, still unattributed.
        for candidate in (sidecar, metadata, from_patterns(relpath, patterns)):
            if candidate is not None:
                chosen.session_date = chosen.session_date or candidate.session_date
                chosen.purpose = chosen.purpose or candidate.purpose
    return chosen


def resolve_recorded_at(artifact: Artifact, *, fallback_source: str = "mtime") -> None:
    """Fill artifact.recorded_at and its source: session date, then embedded date, then mtime."""
    if artifact.attribution.session_date is not None:
        artifact.recorded_at = datetime.combine(artifact.attribution.session_date, time(0), tzinfo=UTC)
        artifact.recorded_at_source = "attribution"
    elif artifact.embedded_created is not None:
        artifact.recorded_at = artifact.embedded_created
        artifact.recorded_at_source = "container"
    elif artifact.mtime is not None:
        artifact.recorded_at = artifact.mtime
        artifact.recorded_at_source = fallback_source


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _opt_date(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise SidecarError(f"{key} must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SidecarError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from exc
