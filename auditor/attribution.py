"""Attribution: which client and session a recording belongs to, and when it was recorded.

Sources are tried in order: a sidecar file beside the recording, object metadata or tags
(buckets), then the config's path patterns. The recording date is the session date if known,
else the container's own creation time, else the file's mtime (or S3 LastModified); a copied
file has a fresh mtime but keeps its embedded date, which is why the embedded date wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import yaml

from auditor.models import Artifact, Attribution

SIDECAR_SUFFIXES: tuple[str, ...] = (".meta.yaml", ".meta.json")
SIDECAR_MAX_BYTES = 64 * 1024  # a sidecar is a few lines; anything bigger is not one of ours
# libyaml's safe loader when PyYAML was built with it: ten times faster, same safety.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SIDECAR_KEYS = frozenset({"client", "session_date", "purpose", "participants", "consent_id"})


class SidecarError(ValueError):
    """A sidecar that cannot be used; it becomes a coverage gap, never a crash."""


def parse_sidecar(text: str, *, json_format: bool) -> Attribution:
    try:
        data = json.loads(text) if json_format else yaml.load(text, Loader=_SAFE_LOADER)
    except (ValueError, yaml.YAMLError) as exc:
        raise SidecarError(f"not valid {'JSON' if json_format else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise SidecarError("must be a mapping with client, session_date, purpose, participants")
    unknown = set(data) - _SIDECAR_KEYS
    if unknown:
        raise SidecarError(f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    participants = data.get("participants") or []
    if not isinstance(participants, list) or not all(isinstance(p, str | int) for p in participants):
        raise SidecarError("participants must be a list of client ids")
    return Attribution(
        client=_opt_str(data.get("client")),
        session_date=_opt_date(data.get("session_date"), "session_date"),
        purpose=_opt_str(data.get("purpose")),
        participants=[str(p) for p in participants],
        consent_id=_opt_str(data.get("consent_id")),
        source="sidecar",
    )


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
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SidecarError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from exc
