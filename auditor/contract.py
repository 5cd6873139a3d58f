"""The JSON contract's pure helpers (docs/json-contract.md): its version, the summary, the
canonical bytes and their hash, and reading a saved result back.

Outputs and `auditor report` need only these, never the engine or the sources: a result dict
is all they see. The builder that turns a scan into that dict is `auditor.result`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # a fast encoder where its wheels exist; the standard library otherwise
    import orjson
except ImportError:  # pragma: no cover - depends on the platform
    orjson = None  # type: ignore[assignment]

from auditor.errors import InputError
from auditor.limits import RESULT_JSON
from auditor.models import SEVERITIES
from auditor.people import BREACH_CATEGORY, people_affected_by
from auditor.safeparse import LimitError, ParseError, load_json, read_bounded
from auditor.textsafe import fix_lone_surrogates

SCHEMA_VERSION = 1


def summarise(
    findings: list[dict[str, Any]],
    recordings: list[dict[str, Any]],
    breach_register: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # One pass sorts the findings out and counts them (a million-file scan has tens of thousands,
    # and this runs after the walk, while nothing else does): suppressed, open, or resolved.
    active = 0
    breaches: list[dict[str, Any]] = []
    suppressed = 0
    flagged: set[Any] = set()
    by_sev: dict[str, int] = {}
    by_cat: dict[str, int] = {}
    for f in findings:
        if f.get("suppressed"):
            suppressed += 1
        elif f.get("status") != "resolved":
            active += 1
            flagged.add(f["location"])
            by_sev[f["severity"]] = by_sev.get(f["severity"], 0) + 1
            category = f["category"]
            by_cat[category] = by_cat.get(category, 0) + 1
            if category == BREACH_CATEGORY:
                breaches.append(f)
    # Files a suppression entry says are no session recording are listed, but not counted as recordings.
    sessions = compliant = 0
    by_location: dict[str, dict[str, Any]] = {}
    for r in recordings:
        by_location[str(r.get("location"))] = r
        if not r.get("not_a_session_recording"):
            sessions += 1
            compliant += r["location"] not in flagged
    return {
        "recordings": sessions,
        "compliant_recordings": compliant,
        "findings": active,
        "suppressed": suppressed,
        "not_session_recordings": len(recordings) - sessions,
        "by_severity": {s: by_sev.get(s, 0) for s in SEVERITIES},
        "by_category": dict(sorted(by_cat.items())),
        # Distinct clients (and unattributed recordings) behind the breaches and the open findings.
        "people_affected": people_affected_by(flagged, breaches, by_location, breach_register),
    }


# Compact, and encoded a slice of a list at a time: a result with 100,000 findings is never held
# as one giant string. orjson is several times faster than the standard library's encoder; the
# standard one is the fallback for what orjson refuses (an integer past 64 bits, a lone surrogate
# that reached a result without going through publish, which fixes those first). The bytes are
# always strict UTF-8 JSON: lone surrogates are written in auditor.textsafe's lossless form.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_SLICE = 2048


def _encode(value: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(value, default=str)
        except (orjson.JSONEncodeError, TypeError):
            pass
    # A lone surrogate (publish leaves them to the encoder when it alone reads the texts): in
    # the lossless form, encoded as a result fixed beforehand would be.
    fixed = fix_lone_surrogates(copy.deepcopy(value))
    if orjson is not None:
        try:
            return orjson.dumps(fixed, default=str)
        except (orjson.JSONEncodeError, TypeError):
            pass
    return _ENCODER.encode(fixed).encode("utf-8")


def iter_json(data: dict[str, Any]) -> Iterator[bytes | memoryview]:
    """The canonical JSON bytes of a result, in chunks (bytes, or views of them): exactly what a
    `.json` output holds."""
    yield b"{"
    for index, (key, value) in enumerate(data.items()):
        yield (b"," if index else b"") + _encode(key) + b":"
        if isinstance(value, list) and len(value) > _SLICE:
            yield b"["
            for start in range(0, len(value), _SLICE):
                if start:
                    yield b","
                # "[...]": what is inside, as a view (a slice of bytes would copy megabytes)
                yield memoryview(_encode(value[start : start + _SLICE]))[1:-1]
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
    data = parse_result(read_result_bytes(path), path)
    check_result_shape(data, path)
    return data


def read_result_bytes(path: Path) -> bytes:
    """A saved result's bytes, refused past the result size limit (only that much is read)."""
    try:
        return read_bounded(path, RESULT_JSON)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from exc
    except LimitError as exc:
        raise InputError(path, f"{exc.message} (see docs/limits.md)", line=exc.line) from exc


def parse_result(raw: bytes, where: str | Path) -> dict[str, Any]:
    """A result read from a file or an S3 object (`where` names it in errors): JSON within the
    limits, from this tool, of this schema version."""
    try:
        data = load_json(raw, RESULT_JSON, lone_surrogates=True)
    except LimitError as exc:
        raise InputError(where, f"{exc.message} (see docs/limits.md)", line=exc.line) from exc
    except ParseError as exc:
        raise InputError(where, exc.message, line=exc.line) from exc
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "recording-auditor":
        raise InputError(where, "not a recording-auditor JSON result")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(where, f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}")
    return data


def check_result_shape(data: dict[str, Any], where: str | Path) -> None:
    """The result against result.schema.json, before anything reads it: a saved result that was
    edited, truncated by hand or written by another tool must be an input error naming its key,
    never an internal error further on (`auditor merge`, `auditor report`). The shipped schemas'
    own check (yamlsource: compiled once, 0.25 s for 25,000 findings; jsonschema only to say why)."""
    from auditor.yamlsource import PositionIndex, schema_errors

    errors = schema_errors(data, "result", PositionIndex(), str(where), InputError)
    if errors:
        first = errors[0]
        raise InputError(
            where, f"not a valid result ({first.message}; see result.schema.json)", key=first.key
        )
