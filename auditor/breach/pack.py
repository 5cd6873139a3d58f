"""Writing the assessment pack: `.json` (the pack as built) or `.html` (its own template, printable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from markupsafe import Markup

from auditor.outputs.base import write_private
from auditor.outputs.html.environment import asset, csp_hash, environment
from auditor.textsafe import fix_lone_surrogates

PACK_FORMATS = (".html", ".json")
TEMPLATE = "breach-pack.html.j2"
STYLE = "breach-pack.css"


def check_pack_path(path: Path) -> None:
    if path.suffix.lower() not in PACK_FORMATS:
        raise ValueError(f"{path}: the pack is written as .html or .json")


def render_pack_html(pack: dict[str, Any]) -> str:
    env = environment(None)
    css = asset(env, STYLE)
    # No script at all, nothing fetched: the pack is read, printed and filed.
    csp = (
        f"default-src 'none'; style-src {csp_hash(css)}; script-src 'none'; img-src 'none'; font-src 'none'; "
        "connect-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return env.get_template(TEMPLATE).render(pack=pack, css=Markup(css), csp=csp)


def write_pack(pack: dict[str, Any], path: Path) -> None:
    """0600, atomically, like every report: the pack names clients and recordings."""
    check_pack_path(path)
    pack = fix_lone_surrogates(pack)  # a name with a lone surrogate, in the one lossless form
    if path.suffix.lower() == ".json":
        text = json.dumps(pack, indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_pack_html(pack)
    write_private(path, text)
