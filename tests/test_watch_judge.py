"""The daemon judges with the engine's judgement: findings plus the rules that failed, as data."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from auditor.models import Artifact
from auditor.rules.base import Hit, RuleContext
from tests.test_watch_helpers import SAMPLE, drop, events_at, make_settings, open_tree, running, wait_for

__all__ = ["open_tree"]  # the fixture, imported for pytest

UNENCRYPTED = "recording-unencrypted"
READABLE = "recording-readable-by-others"


def _broken(_artifact: Artifact, _ctx: RuleContext) -> list[Hit]:
    raise ValueError("a rule with a bug")


def test_a_rule_that_fails_keeps_its_open_finding_and_its_failure_is_a_gap(
    open_tree: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    settings = make_settings(tmp_path, open_tree, report_path=report, report_interval=0.1)
    recording = open_tree / "a.amr"
    drop(SAMPLE, recording)
    os.chmod(recording, 0o600)
    with running(settings) as daemon:
        wait_for(
            lambda: [e for e in events_at(settings.events_path, recording) if e["rule"] == UNENCRYPTED],
            what="the unencrypted finding",
        )
        # From now on the unencrypted rule fails on every file: it cannot say the file was fixed.
        inputs = daemon.judge.inputs
        broken = [
            replace(a, rule=replace(a.rule, evaluate=_broken)) if a.rule.id == UNENCRYPTED else a
            for a in inputs.ruleset.active
        ]
        daemon.judge.inputs = replace(inputs, ruleset=replace(inputs.ruleset, active=broken))
        os.chmod(recording, 0o644)  # judged again, and this time another rule has something to say
        wait_for(
            lambda: [e for e in events_at(settings.events_path, recording) if e["rule"] == READABLE],
            what="the second judgement",
        )

        def rule_error_in_report() -> list[dict[str, str]]:
            if not report.exists():
                return []
            gaps = json.loads(report.read_text())["coverage"]["skipped"]
            return [g for g in gaps if g["reason"] == "rule-error" and g["location"] == str(recording)]

        (gap,) = wait_for(rule_error_in_report, what="the rule's failure in the report's coverage")
    assert gap["detail"].startswith(f"{UNENCRYPTED}: ValueError")
    unencrypted = [e for e in events_at(settings.events_path, recording) if e["rule"] == UNENCRYPTED]
    assert [e["event"] for e in unencrypted] == ["finding"], "a rule that crashed was taken as a fix"


def test_the_daemon_is_built_from_core_modules_without_the_cli() -> None:
    """The watch daemon is core: importing it pulls in neither the CLI nor click."""
    import subprocess
    import sys

    code = (
        "import sys, auditor.watch.daemon\n"
        "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('auditor.cli')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
