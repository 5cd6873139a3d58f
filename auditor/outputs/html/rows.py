"""The report's embedded data: findings and recordings as compact rows of string indexes.

The rows are positional to stay small (100,000 findings), and their column maps travel with
them (`columns`), so reports/report.js reads a column by name and the layout is defined once,
here. Each row's list below is written in the order of its columns tuple.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

try:  # as auditor.contract: a fast encoder where its wheels exist
    import orjson
except ImportError:  # pragma: no cover - depends on the platform
    orjson = None  # type: ignore[assignment]

from auditor.encryption import Encryption
from auditor.models import SEVERITIES
from auditor.outputs.html.svg import Segment
from auditor.outputs.html.text import day, script_json
from auditor.outputs.places import Places
from auditor.posture import is_active

FINDING_COLUMNS = (
    "SEV",  # index into severities
    "RULE",  # index into rules
    "CAT",  # index into categories
    "LOC",  # the rest, unless said otherwise, index into strings (-1 = none)
    "GROUP",
    "MSG",
    "CLIENT",
    "STATUS",  # index into statuses
    "SUP",  # index into suppressions, -1 = not suppressed
    "EV",  # evidence as JSON text
    "CTL",  # controls as JSON text
    "REM",
    "FP",  # the fingerprint itself (text)
    "FIRST",  # first seen (ISO timestamp)
    "RECORDING",  # index into recordings of the recording at LOC, -1 = none (a bucket, a resolved file)
    "OWNER",  # who fixes it (owners: in the config)
    "DUE",  # when (ISO date)
)
RECORDING_COLUMNS = (
    "LOC",
    "GROUP",
    "MEDIA",
    "ENC",  # encryption state: index into encryption
    "ENCTXT",
    "CLIENT",
    "REC",  # recorded on (ISO date)
    "AGE",  # days, or null
    "EXP",
    "OPEN",  # open findings at this location (a count)
    "WORST",  # index into severities of the worst open finding, -1 = none
    "HOLD",
    "SIZE",  # bytes, or null
    "SESSION",  # the session date from attribution (ISO date)
    "PEOPLE",  # participants besides the client, joined with ", "
    "NOTREC",  # "not a session recording (suppressed by FILE line N until DAY): reason", or -1
)
SUPPRESSION_COLUMNS = ("REASON", "EXPIRES", "LINE", "BY", "FILE")  # values themselves, not indexes

STATUSES = ("", "new", "unchanged", "resolved")
ENCRYPTION_STATES = (
    Segment("encrypted (content)", "enc-content"),
    Segment("encrypted at rest only", "enc-rest"),
    Segment("not encrypted", "enc-none"),
    Segment("unknown", "enc-unknown"),
)
F = {name: i for i, name in enumerate(FINDING_COLUMNS)}
R = {name: i for i, name in enumerate(RECORDING_COLUMNS)}


def group_of(item: dict[str, Any], places: Places) -> str:
    """The group a report shows an entry under: its folder or bucket; in a merged result (`auditor
    merge`), its scope, so the group filter drills down to one machine, account or shard."""
    scope = item.get("scope")
    return str(scope) if scope else places.group(item.get("location", ""))


def encryption_state(item: dict[str, Any]) -> int:
    """0 content-encrypted, 1 encrypted at rest only (volume or SSE), 2 not encrypted, 3 unknown."""
    if Encryption.parse(item.get("encryption")).of_content:
        return 0
    if item.get("encrypted") is True:
        return 1
    if item.get("encrypted") is False:
        return 2
    return 3


# A merged report with more findings than this embeds each scope as its own compressed part and
# parses one scope at a time (bench/bench_merge.py: 1,000,000 findings in one blob took 6-19 s to
# open); below it, every part is parsed at once and the report opens on all scopes.
EAGER_FINDINGS = 50_000
# The columns whose values index `strings`: a lazily parsed part's own strings are appended to the
# shared ones, so report.js moves these indexes by where the part's strings land.
FINDING_STRINGS = ("LOC", "GROUP", "MSG", "CLIENT", "EV", "CTL", "REM", "FIRST", "OWNER", "DUE")
RECORDING_STRINGS = (
    "LOC", "GROUP", "MEDIA", "ENCTXT", "CLIENT", "REC", "EXP", "HOLD", "SESSION", "PEOPLE", "NOTREC",
)  # fmt: skip


class _Strings:
    """Interned strings: 100,000 findings repeat the same locations, messages and evidence.

    A part's own table (`shared` given) numbers its strings after the shared ones and looks the
    shared ones (scope names) up there, so its rows index one table once report.js appends it."""

    def __init__(self, shared: _Strings | None = None) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}
        self.shared = shared
        self.base = len(shared.items) if shared is not None else 0

    def __call__(self, value: Any) -> int:
        if value is None or value == "":
            return -1
        text = value if isinstance(value, str) else str(value)
        if self.shared is not None and (known := self.shared.index.get(text)) is not None:
            return known
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = self.base + len(self.items)
            self.items.append(text)
        return found


@dataclass
class Part:
    """One scope's rows of a merged report, embedded as its own script element and parsed when
    that scope (or all of them) is shown. `payload` is JSON text, or gzip in base64 when `encoding`
    says so (a large merge: 5-6x smaller, so the browser reads the file in a fraction of the time)."""

    scope: str
    findings: int
    recordings: int
    payload: Markup
    encoding: str


class _Rows:
    """The report's rules, categories and suppressions, shared by every part, and the rows of each."""

    def __init__(self, result: dict[str, Any], places: Places, strings: _Strings) -> None:
        self.places = places
        self.shared = strings
        self.sev_index = {s: i for i, s in enumerate(SEVERITIES)}
        self.rules: list[dict[str, Any]] = []
        self.rule_index: dict[str, int] = {}
        for rule in result.get("rules", []):
            self.rule_of(rule["id"], rule.get("category", ""), rule.get("severity", "info"))
            self.rules[self.rule_index[rule["id"]]]["title"] = rule.get("title") or rule["id"]
        self.categories: list[str] = []
        self.cat_index: dict[str, int] = {}
        self.suppressions: list[list[Any]] = []
        self.sup_index: dict[str, int] = {}
        self.as_of = day(result.get("as_of"))
        self._controls: dict[tuple[str, ...], str] = {}

    def controls_json(self, controls: list[Any]) -> str:
        """A rule's controls, the same list on each of its findings: encoded once per list."""
        key = tuple(map(str, controls))
        text = self._controls.get(key)
        if text is None:
            text = self._controls[key] = json.dumps(controls, ensure_ascii=False)
        return text

    def rule_of(self, rule_id: str, category: str, severity: str) -> int:
        if rule_id not in self.rule_index:
            self.rule_index[rule_id] = len(self.rules)
            self.rules.append({"id": rule_id, "title": rule_id, "category": category, "severity": severity})
        return self.rule_index[rule_id]

    def rows(
        self, findings: list[dict[str, Any]], recordings: list[dict[str, Any]], strings: _Strings
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """FINDING_COLUMNS and RECORDING_COLUMNS rows; RECORDING indexes these `recordings`."""
        places = self.places
        worst: dict[tuple[str, str], int] = {}
        open_count: Counter[tuple[str, str]] = Counter()
        # keyed by group and location: two laptops of a merge may both hold /Users/x/session.m4a
        recording_index = {(group_of(r, places), r.get("location", "")): i for i, r in enumerate(recordings)}
        rows = []
        for f in findings:
            cat = f.get("category", "")
            if cat not in self.cat_index:
                self.cat_index[cat] = len(self.categories)
                self.categories.append(cat)
            sup = -1
            if f.get("suppressed"):
                s = f["suppressed"]
                key = json.dumps([s.get("reason"), s.get("expires"), s.get("line"), s.get("by")])
                if key not in self.sup_index:
                    self.sup_index[key] = len(self.suppressions)
                    # SUPPRESSION_COLUMNS order
                    self.suppressions.append(
                        [s.get("reason"), s.get("expires"), s.get("line"), s.get("by"), s.get("file")]
                    )
                sup = self.sup_index[key]
            sev = self.sev_index.get(f.get("severity", "info"), len(SEVERITIES) - 1)
            location = f.get("location", "")
            group = group_of(f, places)
            if is_active(f):
                open_count[group, location] += 1
                worst[group, location] = min(worst.get((group, location), sev), sev)
            rows.append(  # FINDING_COLUMNS order
                [
                    sev,
                    self.rule_of(f.get("rule", ""), cat, f.get("severity", "info")),
                    self.cat_index[cat],
                    strings(location),
                    strings(group),
                    strings(f.get("message")),
                    strings(f.get("client")),
                    STATUSES.index(f["status"]) if f.get("status") in STATUSES else 0,
                    sup,
                    strings(_evidence_json(f.get("evidence") or {})),
                    strings(self.controls_json(f.get("controls") or [])),
                    strings(f.get("remediation")),
                    f.get("fingerprint", ""),
                    strings(f.get("first_seen")),
                    recording_index.get((group, location), -1),
                    strings(f.get("owner")),
                    strings(f.get("due")),
                ]
            )
        as_of = self.as_of
        out = []
        for r in recordings:
            location = r.get("location", "")
            group = group_of(r, places)
            recorded = day(r.get("recorded_at"))
            hold = r.get("legal_hold") or None
            exposures = "; ".join(f"{e.get('kind')}: {e.get('detail')}" for e in r.get("exposures") or [])
            out.append(  # RECORDING_COLUMNS order
                [
                    strings(location),
                    strings(group),
                    strings(" / ".join(x for x in (r.get("media"), r.get("format")) if x)),
                    encryption_state(r),
                    strings(r.get("encryption")),
                    strings(r.get("client")),
                    strings(recorded.isoformat() if recorded else None),
                    (as_of - recorded).days if as_of and recorded else None,
                    strings(exposures),
                    open_count.get((group, location), 0),
                    worst.get((group, location), -1),
                    strings(hold_text(hold)),
                    r.get("size"),
                    strings(r.get("session_date")),
                    strings(
                        ", ".join(str(p) for p in r.get("participants") or [] if p and p != r.get("client"))
                    ),
                    strings(not_a_recording_text(r.get("not_a_session_recording"))),
                ]
            )
        return rows, out


def _by_scope(result: dict[str, Any], places: Places) -> dict[str, tuple[list[Any], list[Any]]]:
    """A merged result's findings and recordings per scope, the scopes in the order merged."""
    parts: dict[str, tuple[list[Any], list[Any]]] = {
        str(s.get("name")): ([], []) for s in result.get("scopes") or [] if isinstance(s, dict)
    }
    for index, key in ((0, "findings"), (1, "recordings")):
        for item in result.get(key, []):
            parts.setdefault(group_of(item, places), ([], []))[index].append(item)
    return {scope: lists for scope, lists in parts.items() if lists[0] or lists[1]}


def embedded_data(result: dict[str, Any], places: Places) -> tuple[dict[str, Any], list[Part]]:
    """Compact rows with their column maps (`columns`), which reports/report.js reads.

    A single scan's rows are all in the data itself. A merged result's (`scopes`) are in one Part
    per scope, after the data's shared strings (scope names); `parts` in the data lists them, and
    `lazy` says the script parses only the scope shown (a large merge) rather than all at once."""
    strings = _Strings()
    merged = bool(result.get("scopes"))
    by_scope = _by_scope(result, places) if merged else {}
    for scope in by_scope:
        strings(scope)
    builder = _Rows(result, places, strings)
    findings: list[list[Any]] = []
    recordings: list[list[Any]] = []
    parts: list[Part] = []
    total = len(result.get("findings", []))
    lazy = merged and total > EAGER_FINDINGS
    if not merged:
        findings, recordings = builder.rows(result.get("findings", []), result.get("recordings", []), strings)
    for scope, (scope_findings, scope_recordings) in by_scope.items():
        own = _Strings(strings)
        rows, recs = builder.rows(scope_findings, scope_recordings, own)

        def derivable(row: list[Any], own: _Strings = own) -> bool:
            return _derived_fingerprint(row, builder.rules, own)

        payload = {"strings": own.items, "findings": _columns(rows, derivable), "recordings": _columns(recs)}
        parts.append(
            Part(scope, len(rows), len(recs), *(_packed(payload) if lazy else (script_json(payload), "json")))
        )
    data = {
        "columns": {
            "findings": F,
            "recordings": R,
            "suppressions": {name: i for i, name in enumerate(SUPPRESSION_COLUMNS)},
            "strings": {"findings": list(FINDING_STRINGS), "recordings": list(RECORDING_STRINGS)},
        },
        "as_of": result.get("as_of"),
        "strings": strings.items,
        "severities": list(SEVERITIES),
        "statuses": list(STATUSES),
        "encryption": [s.label for s in ENCRYPTION_STATES],
        "rules": builder.rules,
        "categories": builder.categories,
        "suppressions": builder.suppressions,
        "findings": findings,
        "recordings": recordings,
        "total": {"findings": total, "recordings": len(result.get("recordings", []))},
        "parts": [{"scope": p.scope, "findings": p.findings, "recordings": p.recordings} for p in parts],
        "lazy": lazy,
    }
    return data, parts


def _derived_fingerprint(row: list[Any], rules: list[dict[str, Any]], strings: _Strings) -> bool:
    """Whether report.js can compute this row's fingerprint (models.make_fingerprint without a
    discriminator, in SHA-256 over UTF-8) instead of carrying it: 32 random hex digits are half
    of a compressed part."""
    location = strings.items[row[F["LOC"]] - strings.base] if row[F["LOC"]] >= strings.base else None
    if location is None:
        return False
    try:
        text = f"{rules[row[F['RULE']]]['id']}\0{location}\0".encode()
    except UnicodeEncodeError:  # a lone surrogate: the script would hash another text
        return False
    return bool(hashlib.sha256(text).hexdigest()[:32] == row[F["FP"]])


def _columns(rows: list[list[Any]], derivable: Any = None) -> list[list[Any]]:
    """Rows as columns (they compress to about two thirds); a fingerprint the script can compute
    is 0 (`derivable(row)`)."""
    if derivable is not None:
        for row in rows:
            if derivable(row):
                row[F["FP"]] = 0
    return [[row[c] for row in rows] for c in range(len(rows[0]))] if rows else []


def _evidence_json(evidence: dict[str, Any]) -> str:
    """Evidence as JSON text for report.js (which parses it to show it): orjson, several times
    faster on a million findings; the standard library for what orjson refuses (a lone
    surrogate, an integer past 64 bits)."""
    if orjson is not None:
        try:
            return str(orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS, default=str).decode())
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(evidence, ensure_ascii=False, sort_keys=True, default=str)


def _packed(payload: dict[str, Any]) -> tuple[Markup, str]:
    """gzip in base64: only [A-Za-z0-9+/=], safe in a script element; DecompressionStream reads it."""
    packed = gzip.compress(str(script_json(payload)).encode("utf-8"), compresslevel=5, mtime=0)
    return Markup(base64.b64encode(packed).decode("ascii")), "gzip+base64"


def not_a_recording_text(mark: dict[str, Any] | None) -> str | None:
    """How the inventory names a file a suppression entry says is no session recording."""
    if not mark:
        return None
    where = (
        f"{mark.get('file')} line {mark.get('line')}"
        if mark.get("line")
        else str(mark.get("file") or "a suppression")
    )
    until = f" until {mark['expires']}" if mark.get("expires") else ""
    return (
        f"not a session recording (suppressed by {where}{until}): {mark.get('reason') or 'no reason given'}"
    )


def hold_text(hold: dict[str, Any] | None) -> str | None:
    if not hold:
        return None
    state = "in force" if hold.get("in_force") else "ended"
    until = hold.get("until") or "until lifted"
    return f"{state}: {hold.get('reason') or 'no reason given'} ({until})"
