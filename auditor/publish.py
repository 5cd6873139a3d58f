"""From a result dict to files and an exit code: shared by `auditor scan` and `auditor report`.

Order matters: suppressions and the baseline mark findings first, redaction then hides
names, and only then are outputs written, so every format shows the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.models import SEVERITIES, severity_at_least
from auditor.outputs.base import OutputOptions, writer_for
from auditor.result import summarise


@dataclass
class PublishSettings:
    outputs: Sequence[Path] = ()
    fail_on: str = "high"  # a severity, or "none"
    output_options: OutputOptions = field(default_factory=OutputOptions)


def check_outputs(outputs: Sequence[Path]) -> None:
    """Fail before scanning if an output format is unknown: a long scan must not end in a usage error."""
    for path in outputs:
        writer_for(path)


def gate(result: dict[str, Any], fail_on: str) -> bool:
    """True when CI should fail: an active (not suppressed, not resolved) finding at or above fail_on."""
    if fail_on == "none":
        return False
    return any(
        severity_at_least(f["severity"], fail_on)
        for f in result["findings"]
        if not f.get("suppressed") and f.get("status") != "resolved"
    )


def publish(result: dict[str, Any], settings: PublishSettings) -> tuple[list[Path], bool]:
    result["summary"] = summarise(result["findings"], result["recordings"])
    written = []
    for path in settings.outputs:
        writer_for(path)(result, path, settings.output_options)
        written.append(path)
    return written, gate(result, settings.fail_on)


FAIL_ON_CHOICES = (*SEVERITIES, "none")
