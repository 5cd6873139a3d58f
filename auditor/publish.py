"""From a result dict to files and an exit code: shared by `auditor scan` and `auditor report`.

Order matters: suppressions and the baseline mark findings first, redaction then hides
names, and only then are outputs written, so every format shows the same thing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auditor.baseline import apply_baseline, load_baseline
from auditor.config import ReportConfig
from auditor.contract import json_sha256, summarise
from auditor.models import SEVERITIES, severity_at_least
from auditor.outputs.base import OutputOptions, writer_for
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
    outputs: Sequence[Path] = ()
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
) -> PublishSettings:
    """Load and check everything the outputs need (suppressions, baseline, redaction key) up
    front, so a bad input exits 2 before a long scan rather than after it."""
    settings = PublishSettings(
        outputs=outputs,
        fail_on=fail_on,
        output_options=OutputOptions(redact=redact, template_dir=template_dir, title=report.title),
        new_only=new_only,
        owners=owners,
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


def check_outputs(outputs: Sequence[Path]) -> None:
    """Fail before scanning if an output format is unknown: a long scan must not end in a usage error."""
    for path in outputs:
        writer_for(path)


def gate(result: dict[str, Any], fail_on: str, new_only: bool = False) -> bool:
    """True when CI should fail: an active (not suppressed, not resolved) finding at or above fail_on.

    With `new_only`, only findings new since the baseline count; without a baseline every
    finding is new (the first run of a CI job has nothing to compare with).
    """
    if fail_on == "none":
        return False
    return any(
        severity_at_least(f["severity"], fail_on)
        for f in result["findings"]
        if not f.get("suppressed")
        and f.get("status") != "resolved"
        and (not new_only or f.get("status", "new") == "new")
    )


def prepare(result: dict[str, Any], settings: PublishSettings) -> None:
    """Suppress, compare with the baseline, record breaches, assign owners, summarise, redact: in
    that order, in place."""
    # First, every text valid Unicode: a lone surrogate (a name that is not UTF-8 reaching a
    # result some way other than the sources' display_path) becomes auditor.textsafe's one
    # lossless form, which every format, the breach register's sqlite and browsers can carry.
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
    result["summary"] = summarise(result["findings"], result["recordings"], result.get("breach_register"))
    if settings.redactor is not None:
        settings.redactor.redact(result)


def publish(result: dict[str, Any], settings: PublishSettings) -> tuple[list[Path], bool]:
    prepare(result, settings)
    # The report quotes the SHA-256 of exactly the bytes a .json output of this run holds.
    # Reports quote it; a run writing only JSON need not pay for a second encoding pass.
    needs_hash = any(p.suffix.lower() != ".json" for p in settings.outputs)
    options = replace(
        settings.output_options,
        result_sha256=json_sha256(result) if needs_hash else None,
        companion_json=tuple(p for p in settings.outputs if p.suffix.lower() == ".json"),
    )
    written = []
    for path in settings.outputs:
        writer_for(path)(result, path, options)
        written.append(path)
    return written, gate(result, settings.fail_on, settings.new_only)


FAIL_ON_CHOICES = (*SEVERITIES, "none")
