"""The report's embedded data: findings and recordings as compact rows of string indexes.

The rows are positional to stay small (100,000 findings), and their column maps travel with
them (`columns`), so reports/report.js reads a column by name and the layout is defined once,
here. Each row's list below is written in the order of its columns tuple.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from auditor.encryption import Encryption
from auditor.models import SEVERITIES
from auditor.outputs.html.svg import Segment
from auditor.outputs.html.text import day
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
    """Compact rows with their column maps (`columns`), which reports/report.js reads."""
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
    recording_index = {r.get("location", ""): i for i, r in enumerate(result.get("recordings", []))}
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
                # SUPPRESSION_COLUMNS order
                suppressions.append(
                    [s.get("reason"), s.get("expires"), s.get("line"), s.get("by"), s.get("file")]
                )
            sup = sup_index[key]
        sev = sev_index.get(f.get("severity", "info"), len(SEVERITIES) - 1)
        location = f.get("location", "")
        if is_active(f):
            open_count[location] += 1
            worst[location] = min(worst.get(location, sev), sev)
        rows.append(  # FINDING_COLUMNS order
            [
                sev,
                rule_of(f.get("rule", ""), cat, f.get("severity", "info")),
                cat_index[cat],
                strings(location),
                strings(group_of(f, places)),
                strings(f.get("message")),
                strings(f.get("client")),
                STATUSES.index(f["status"]) if f.get("status") in STATUSES else 0,
                sup,
                strings(json.dumps(f.get("evidence") or {}, ensure_ascii=False, sort_keys=True, default=str)),
                strings(json.dumps(f.get("controls") or [], ensure_ascii=False)),
                strings(f.get("remediation")),
                f.get("fingerprint", ""),
                strings(f.get("first_seen")),
                recording_index.get(location, -1),
                strings(f.get("owner")),
                strings(f.get("due")),
            ]
        )
    as_of = day(result.get("as_of"))
    recordings = []
    for r in result.get("recordings", []):
        location = r.get("location", "")
        recorded = day(r.get("recorded_at"))
        hold = r.get("legal_hold") or None
        exposures = "; ".join(f"{e.get('kind')}: {e.get('detail')}" for e in r.get("exposures") or [])
        recordings.append(  # RECORDING_COLUMNS order
            [
                strings(location),
                strings(group_of(r, places)),
                strings(" / ".join(x for x in (r.get("media"), r.get("format")) if x)),
                encryption_state(r),
                strings(r.get("encryption")),
                strings(r.get("client")),
                strings(recorded.isoformat() if recorded else None),
                (as_of - recorded).days if as_of and recorded else None,
                strings(exposures),
                open_count.get(location, 0),
                worst.get(location, -1),
                strings(hold_text(hold)),
                r.get("size"),
                strings(r.get("session_date")),
                strings(", ".join(str(p) for p in r.get("participants") or [] if p and p != r.get("client"))),
                strings(not_a_recording_text(r.get("not_a_session_recording"))),
            ]
        )
    return {
        "columns": {
            "findings": F,
            "recordings": R,
            "suppressions": {name: i for i, name in enumerate(SUPPRESSION_COLUMNS)},
        },
        "as_of": result.get("as_of"),
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
