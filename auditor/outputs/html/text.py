"""Text as the report shows it: template filters (visible names, dates, sizes) and JSON that is
safe to embed in a script element."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from markupsafe import Markup

# Controls, line breaks and bidirectional overrides (which can disguise `gpj.exe` as `exe.jpg`)
# are shown as escapes, so a file name reads exactly as stored.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(value: Any) -> str:
    text = "" if value is None else str(value)

    def escape(match: re.Match[str]) -> str:
        char = match.group(0)
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
        if named:
            return named
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(escape, text)


def when(value: Any) -> str:
    """An ISO timestamp as `2026-11-22 05:11 UTC`; other values as given."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    suffix = " UTC" if moment.utcoffset() is not None and not moment.utcoffset() else ""
    return f"{moment:%Y-%m-%d %H:%M}{suffix}"


def human_size(n: Any) -> str:
    if not isinstance(n, int):
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


def day(value: Any) -> date | None:
    """The calendar day of an ISO timestamp or date; None for anything else."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None


def script_json(data: Any) -> Markup:
    """JSON that is safe inside <script type="application/json">: no `<`, `>`, `&`, U+2028/2029."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return Markup(text)
