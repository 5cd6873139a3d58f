"""`.csv`: one row per finding, for spreadsheets and ticket imports.

Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
carriage return, even after spaces) are prefixed with `'`: file names are hostile input, and
`=HYPERLINK(...)` in a name must stay text. So is every piece of a cell that begins after a
`;`, tab, `|` or line break, which is where a spreadsheet using another separator (European
Excel uses `;`) would start a cell. The file starts with a UTF-8 byte-order mark so
Excel reads accents and non-Latin names correctly; `csv` in Python reads it with `utf-8-sig`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from auditor.outputs.base import OutputOptions, write_private

COLUMNS: tuple[str, ...] = (
    "severity",
    "state",
    "status",
    "rule",
    "category",
    "location",
    "client",
    "owner",
    "due",
    "message",
    "controls",
    "remediation",
    "first_seen",
    "suppression_reason",
    "suppression_expires",
    "fingerprint",
    "evidence",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet that splits on another separator (`;` in European Excel, tab, `|`) starts a new
# cell after any of these inside our cells, and one that lost track of the quoting a new row
# after a line break: each such piece is defused by its first character too (after spaces and
# quotes), so no separator turns a name into a live formula.
_PIECE_START = re.compile('([;\t|\r\n][" ]*)(?=[=+\\-@\t\r])')
_PIECE_SEARCH = _PIECE_START.search


def safe_cell(value: Any) -> str:
    """The cell as text, defused if a spreadsheet would read it, or any piece of it, as a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _PIECE_SEARCH(text) is not None:  # most cells hold no separator: search is C only, sub is not
        text = _PIECE_START.sub("\\1'", text)
    if text.lstrip(" ").startswith(_FORMULA_START) or text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _state(finding: dict[str, Any]) -> str:
    if finding.get("status") == "resolved":
        return "resolved"
    return "suppressed" if finding.get("suppressed") else "open"


def rows(result: dict[str, Any]) -> list[list[str]]:
    out = []
    for f in result.get("findings", []):
        suppressed = f.get("suppressed") or {}
        values = {
            "severity": f.get("severity"),
            "state": _state(f),
            "status": f.get("status"),
            "rule": f.get("rule"),
            "category": f.get("category"),
            "location": f.get("location"),
            "client": f.get("client"),
            "owner": f.get("owner"),
            "due": f.get("due"),
            "message": f.get("message"),
            "controls": "; ".join(f.get("controls") or []),
            "remediation": f.get("remediation"),
            "first_seen": f.get("first_seen"),
            "suppression_reason": suppressed.get("reason"),
            "suppression_expires": suppressed.get("expires"),
            "fingerprint": f.get("fingerprint"),
            "evidence": json.dumps(f.get("evidence") or {}, ensure_ascii=False, sort_keys=True, default=str),
        }
        out.append([safe_cell(values[c]) for c in COLUMNS])
    return out


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(result))
    write_private(path, ("\ufeff" + buffer.getvalue()).encode("utf-8", "backslashreplace"))
