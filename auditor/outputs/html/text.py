"""Text as the report shows it: template filters (visible names, dates, sizes) and JSON that is
safe to embed in a script element."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from auditor.textsafe import fix_lone_surrogates, for_terminal

_SURROGATES = re.compile("[\ud800-\udfff]")
_DEL_AND_C1 = re.compile("[\x7f-\x9f]")


def visible(value: Any) -> str:
    """A name as the report shows it: controls, line breaks, bidirectional overrides (which can
    disguise `gpj.exe` as `exe.jpg`) and zero-width characters as escapes, so it reads exactly as
    stored. The same escaping as the terminal's (auditor.textsafe.for_terminal)."""
    return for_terminal("" if value is None else str(value))


# What an HTML text node or attribute must not hold raw (the HTML standard's "control" and
# "noncharacter" parse errors): C0 but tab and line breaks, DEL, C1, U+FDD0-U+FDEF, U+FFFE/FFFF.
_NOT_IN_HTML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def html_safe(value: Any) -> Any:
    """Jinja's finalize: every value a template writes, in any text node or attribute (`<title>`
    included), with control characters shown as escapes and lone surrogates in the lossless form.
    Markup stays Markup (the replacements hold no markup characters); other values pass through."""
    if not isinstance(value, str):
        return value
    text = fix_lone_surrogates(str(value))
    if _NOT_IN_HTML.search(text) is not None:
        text = _NOT_IN_HTML.sub(
            lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x80 else f"\\u{ord(m.group()):04x}",
            text,
        )
    return Markup(text) if isinstance(value, Markup) else text


def breakable_path(value: Any) -> Markup:
    """A path, escaped and shown as `visible` does, that may wrap after each `/` (and only there,
    unless a single name is wider than its column)."""
    return Markup("/<wbr>").join(escape(part) for part in visible(value).split("/"))


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
    if _SURROGATES.search(text):  # publish() fixes these first; this is for direct callers
        text = json.dumps(fix_lone_surrogates(copy.deepcopy(data)), ensure_ascii=False, separators=(",", ":"))
    # JSON escapes C0 itself; DEL and C1 as \u00NN too, so the script's text node holds none raw.
    text = _DEL_AND_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    for char, code in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, code)
    return Markup(text)
