"""`.html`: the audit report officers read, print and hand to an inspector.

One self-contained file: CSS, script and charts are inline, a Content-Security-Policy forbids
every fetch, and the data is embedded once as compact JSON that the script pages through, so
100,000 findings open smoothly. Templates are Jinja2 with autoescape on (file names are hostile
input) and live in the top-level `reports/` folder; `--template DIR` overrides any of them
(docs/report.md lists the variables).

The parts, one job each: `environment` (templates, assets, CSP), `text` (template filters and
script-safe JSON), `rows` (the compact embedded data and its column map), `view` (the
template's variables), `charts` (the report's charts) drawn with `svg`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.outputs.base import OutputOptions, write_private
from auditor.outputs.html.environment import TEMPLATE, environment
from auditor.outputs.html.text import script_json, visible
from auditor.outputs.html.view import build_context

__all__ = ["render_html", "script_json", "visible", "write"]


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    write_private(path, render_html(result, options).encode("utf-8", "backslashreplace"))


def render_html(result: dict[str, Any], options: OutputOptions | None = None) -> str:
    options = options or OutputOptions()
    env = environment(options.template_dir)
    context = build_context(result, options, env)
    return env.get_template(TEMPLATE).render(**context)
