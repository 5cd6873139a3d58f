"""The report's Jinja2 environment, its CSS and script assets, the logo, and the CSP that admits
only those inline assets (by hash) and forbids every fetch."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)

from auditor.outputs.html.text import breakable_path, html_safe, human_size, visible, when
from auditor.resources import data_dir

TEMPLATE = "report.html.j2"
LOGO_TYPES = {"logo.svg": "image/svg+xml", "logo.png": "image/png", "logo.jpg": "image/jpeg"}


def environment(template_dir: Path | None) -> Environment:
    """Templates from `template_dir` first, then the built-in ones; `builtin/NAME` always reaches
    the built-in, so an override can `{% extends "builtin/report.html.j2" %}` and change one block."""
    builtin = FileSystemLoader(str(data_dir("reports")))
    loaders: list[Any] = [FileSystemLoader(str(template_dir))] if template_dir else []
    loaders += [builtin, PrefixLoader({"builtin": builtin})]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=html_safe,  # no control character or lone surrogate in any text node or attribute
    )
    env.filters["visible"] = visible
    env.filters["path"] = breakable_path
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["when"] = when
    env.filters["size"] = human_size
    return env


def asset(env: Environment, name: str) -> str:
    """Raw text of a CSS or JS file, found like templates (an override dir wins)."""
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    return source


def optional_asset(env: Environment, name: str) -> str:
    try:
        return asset(env, name)
    except Exception:  # jinja2.TemplateNotFound: the optional file is simply absent
        return ""


def logo(template_dir: Path | None) -> str | None:
    if template_dir is None:
        return None
    for name, mime in LOGO_TYPES.items():
        candidate = template_dir / name
        if candidate.is_file():
            return f"data:{mime};base64," + base64.b64encode(candidate.read_bytes()).decode("ascii")
    return None


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(css: str, js: str) -> str:
    """Only the report's own inline style and script run; nothing is ever fetched."""
    return (
        "default-src 'none'; "
        f"style-src {csp_hash(css)}; script-src {csp_hash(js)}; img-src data:; font-src 'none'; "
        "connect-src 'none'; media-src 'none'; object-src 'none'; frame-src 'none'; worker-src 'none'; "
        "manifest-src 'none'; base-uri 'none'; form-action 'none'"
    )
