"""From a result dict to files and an exit code: shared by `auditor scan` and `auditor report`.

Order matters: suppressions and the baseline mark findings first, redaction then hides
names, and only then are outputs written, so every format shows the same thing.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.baseline import apply_baseline, load_baseline
from auditor.config import ReportConfig
from auditor.contract import json_sha256, summarise
from auditor.errors import OutputError
from auditor.gate import FAIL_ON_CHOICES, gate
from auditor.outputs.base import (
    STDOUT,
    OutputOptions,
    Writer,
    available_formats,
    format_of,
    known_extensions,
    writer_for_format,
)
from auditor.owners import OwnerRule, assign_owners
from auditor.redact import Redactor, redaction_key
from auditor.suppress import (
    SuppressionFile,
    apply_suppressions,
    check_rule_ids,
    find_ignore_file,
    load_suppressions,
)
from auditor.textsafe import without_lone_surrogates


@dataclass
class PublishSettings:
    """Where a result goes and what it gates on: outputs, --fail-on, suppressions, baseline."""

    outputs: Sequence[Path] = ()  # STDOUT (`-o -`) for the report written to standard output
    fail_on: str = "high"  # a severity, or "none"
    output_options: OutputOptions = field(default_factory=OutputOptions)
    suppressions: SuppressionFile | None = None  # --ignore / .auditor-ignore.yaml
    baseline: dict[str, Any] | None = None  # --baseline: the earlier result
    baseline_source: str = ""  # its path, as given
    baseline_sha256: str = ""
    redactor: Redactor | None = None  # --redact
    new_only: bool = False  # --new-only: only findings new since the baseline can fail CI
    # --state: tell the breach register what this audit saw (after the baseline, before redaction)
    record_breaches: Callable[[dict[str, Any]], None] | None = None
    owners: Sequence[OwnerRule] = ()  # `owners:` in the config: who fixes what, by path or bucket
    stdout_format: str | None = None  # --format: the format of the report written to stdout
    # Told each step as it starts ("summarising", "writing report.html"): the progress line.
    on_phase: Callable[[str], None] = lambda _step: None

    def format_for(self, path: Path) -> str:
        return (self.stdout_format or "") if path == STDOUT else format_of(path)


def publish_settings(
    outputs: Sequence[Path],
    fail_on: str,
    *,
    report: ReportConfig,
    known_rules: Sequence[str] | None = None,
    template_dir: Path | None = None,
    ignore: Path | None = None,
    baseline: Path | None = None,
    redact: bool = False,
    new_only: bool = False,
    owners: Sequence[OwnerRule] = (),
    sarif_category: str | None = None,
    stdout_format: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> PublishSettings:
    """Load and check everything the outputs need (the outputs themselves, suppressions, baseline,
    redaction key) up front, so a bad input exits 2 before a long scan rather than after it."""
    check_outputs(outputs, stdout_format)
    if template_dir is not None:
        from auditor.outputs.templates import check_template_dir  # jinja2: only with --template

        check_template_dir(template_dir)
    options = OutputOptions(
        redact=redact,
        template_dir=template_dir,
        title=report.title,
        fail_on=fail_on,
        new_only=new_only,
        sarif_category=sarif_category,
    )
    if warn is not None:
        options.warn = warn
    settings = PublishSettings(
        outputs=outputs,
        fail_on=fail_on,
        output_options=options,
        new_only=new_only,
        owners=owners,
        stdout_format=stdout_format,
    )
    ignore_path = find_ignore_file(ignore)
    if ignore_path is not None:
        settings.suppressions = load_suppressions(ignore_path)
        if known_rules is not None:
            check_rule_ids(settings.suppressions, known_rules)
    if baseline is not None:
        settings.baseline, settings.baseline_sha256 = load_baseline(baseline)
        settings.baseline_source = os.path.abspath(baseline)
    if redact:
        key = redaction_key(report)
        settings.output_options.redaction_key = key
        settings.redactor = Redactor(key)
    return settings


def check_outputs(outputs: Sequence[Path], stdout_format: str | None = None) -> None:
    """Everything about the outputs that can be known before scanning: a long scan must not end
    in a usage error. Raises OutputError (exit 2) naming the output and what is wrong."""
    seen: set[str] = set()
    for path in outputs:
        if path == STDOUT:
            if stdout_format is None:
                raise OutputError("-o -", f"say which format goes to stdout with --format ({_formats()})")
            if "-" in seen:
                raise OutputError("-o -", "only one report can go to stdout")
            seen.add("-")
            _writer(stdout_format, "--format")
            continue
        key = os.path.abspath(path)
        if key in seen:
            raise OutputError(path, "given twice with -o")
        seen.add(key)
        if path.is_dir():
            raise OutputError(path, "is a folder: give a file name")
        fmt = format_of(path)
        if not fmt:
            raise OutputError(path, f"no extension to choose the format by: use one of {known_extensions()}")
        _writer(fmt, str(path))
        folder = _folder(path)
        if not folder.is_dir():
            raise OutputError(path, f"folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(path, f"folder {folder} is not writable")


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _formats() -> str:
    return ", ".join(sorted(available_formats()))


def _writer(fmt: str, what: str) -> Writer:
    try:
        return writer_for_format(fmt)
    except OutputError:
        if what == "--format":
            raise OutputError("--format", f"no output format {fmt!r} (known: {_formats()})") from None
        raise OutputError(what, f"no output format for '.{fmt}' (known: {known_extensions()})") from None


def prepare(result: dict[str, Any], settings: PublishSettings) -> None:
    """Suppress, compare with the baseline, record breaches, assign owners, summarise, redact: in
    that order, in place."""
    settings.on_phase("preparing results")
    # First, every text valid Unicode: a lone surrogate (a name that is not UTF-8 reaching a
    # result some way other than the sources' display_path) becomes auditor.textsafe's one
    # lossless form, which every format, the breach register's sqlite and browsers can carry.
    # Finding out costs as much as encoding the result: when the JSON encoder is the only reader
    # of the texts, it makes them valid as it writes (the same form, the same bytes) instead.
    if not _json_alone_reads(settings):
        without_lone_surrogates(result)
    if settings.suppressions is not None:
        apply_suppressions(result, settings.suppressions)
    if settings.baseline is not None:
        apply_baseline(
            result, settings.baseline, source=settings.baseline_source, sha256=settings.baseline_sha256
        )
    if settings.record_breaches is not None:
        settings.record_breaches(result)
    assign_owners(result, settings.owners)  # real paths: before redaction
    settings.on_phase("summarising")
    result["summary"] = summarise(result["findings"], result["recordings"], result.get("breach_register"))
    if settings.redactor is not None:
        settings.on_phase("redacting")
        settings.redactor.redact(result)


def _json_alone_reads(settings: PublishSettings) -> bool:
    """Whether the result's texts reach nothing but the JSON encoder (auditor.contract.iter_json):
    no suppression, baseline, breach register, owner or redaction step compares or rewrites them,
    and every output is JSON. The summary only counts distinct texts."""
    return (
        settings.suppressions is None
        and settings.baseline is None
        and settings.record_breaches is None
        and not settings.owners
        and settings.redactor is None
        and all(settings.format_for(path) == "json" for path in settings.outputs)
    )


def publish(result: dict[str, Any], settings: PublishSettings) -> tuple[list[Path], bool]:
    """Write every output, in order, and say whether the gate fails. A write that fails (a full
    disk, a folder removed during the scan) raises OutputError naming what was and was not
    written; no output is ever left half-written (write_private)."""
    prepare(result, settings)
    formats = [settings.format_for(p) for p in settings.outputs]
    # The report quotes the SHA-256 of exactly the bytes a .json output of this run holds.
    # Reports quote it; a run writing only JSON need not pay for a second encoding pass.
    needs_hash = any(fmt != "json" for fmt in formats)
    if needs_hash:
        settings.on_phase("hashing the result")
    options = replace(
        settings.output_options,
        result_sha256=json_sha256(result) if needs_hash else None,
        companion_json=tuple(
            p for p, fmt in zip(settings.outputs, formats, strict=True) if fmt == "json" and p != STDOUT
        ),
    )
    written: list[Path] = []
    for path, fmt in zip(settings.outputs, formats, strict=True):
        settings.on_phase(f"writing {'the report to stdout' if path == STDOUT else path.name}")
        try:
            _writer(fmt, str(path))(result, path, options)
        except OSError as exc:
            raise _write_failure(path, exc, written, settings.outputs) from exc
        except Exception as exc:
            # A template error is the user's --template: their input, not our crash. jinja2 is
            # imported by the HTML writer only, so a scan writing JSON never loads it.
            jinja2 = sys.modules.get("jinja2")
            if jinja2 is None or not isinstance(exc, jinja2.TemplateError):
                failure = _plugin_failure(fmt, path, exc, written, settings.outputs)
                if failure is None:
                    raise  # our own writer: a bug (exit 70, the traceback saved)
                raise failure from exc
            from auditor.outputs.templates import template_error

            raise template_error(exc, options.template_dir) from exc
        written.append(path)
    return written, gate(result["findings"], settings.fail_on, settings.new_only)


def _write_failure(path: Path, exc: OSError, written: list[Path], outputs: Sequence[Path]) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT and path != STDOUT and not _folder(path).is_dir():
        reason = f"folder {_folder(path)} no longer exists"
    done = ", ".join(map(output_name, written)) or "none"
    rest = ", ".join(output_name(p) for p in outputs[len(written) :])
    return OutputError(
        output_name(path), f"could not write it: {reason} (written: {done}; not written: {rest})"
    )


def _plugin_failure(
    fmt: str, path: Path, exc: Exception, written: list[Path], outputs: Sequence[Path]
) -> OutputError | None:
    """A third-party output plugin that raised: an OutputError naming it and what was and was not
    written (exit 2), rather than an internal error of ours. None for the built-in writers."""
    from auditor.plugins import registry
    from auditor.project import DISTRIBUTION

    plugin = registry().get("output", fmt)
    if plugin is None or plugin.distribution == DISTRIBUTION:
        return None
    done = ", ".join(map(output_name, written)) or "none"
    rest = ", ".join(output_name(p) for p in outputs[len(written) :])
    return OutputError(
        output_name(path),
        f"the {fmt} output from {plugin.provider} failed: {type(exc).__name__}: {exc} "
        f"(written: {done}; not written: {rest})",
    )


def output_name(path: Path) -> str:
    return "stdout" if path == STDOUT else str(path)


__all__ = [
    "FAIL_ON_CHOICES",
    "PublishSettings",
    "check_outputs",
    "gate",
    "output_name",
    "prepare",
    "publish",
    "publish_settings",
]
