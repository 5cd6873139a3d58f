"""Report templates given with --template: checked before the scan, and their errors reported as
the user's input errors (exit 2, file and line), never as a crash after an hour of scanning."""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2

from auditor.errors import InputError

TEMPLATE_SUFFIX = ".j2"


class TemplateError(InputError):
    """A template under --template that does not compile or fails while rendering."""


def check_template_dir(template_dir: Path) -> None:
    """Compile every template in `template_dir` as the report would load it (syntax errors,
    a missing `{% extends %}` or `{% import %}` target)."""
    from auditor.outputs.html.environment import environment  # the report's own: same filters

    env = environment(template_dir)
    for path in sorted(template_dir.rglob(f"*{TEMPLATE_SUFFIX}")):
        name = path.relative_to(template_dir).as_posix()
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(path, f"template syntax error: {exc.message}", line=exc.lineno) from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(path, f"template error: {exc}") from exc


def template_error(exc: jinja2.TemplateError, template_dir: Path | None) -> TemplateError:
    """Where in the user's templates a rendering error happened: jinja2 puts template frames,
    with the template's file and line, in the traceback."""
    where: tuple[str, int | None] = (str(template_dir or "report template"), None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(TEMPLATE_SUFFIX):
            where = (frame.filename, frame.lineno)
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        where = (exc.filename, exc.lineno)
    message = getattr(exc, "message", None) or str(exc)
    return TemplateError(where[0], f"template error: {message}", line=where[1])
