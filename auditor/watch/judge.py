"""The judge: what the engine's judgement of a recording means for the alerts.

It binds the rules (once per batch of events, or once per rescan), has the engine judge each
artifact, applies the suppressions (`.auditor-ignore.yaml`, `--ignore`) and keeps the ledger of
open findings. The events that follow wait in `pending` until the daemon commits them with
the ledger's changes (outbox.py).

One file can only fail itself: when enriching or judging an artifact raises, that file gets a
coverage gap and a health note, and what was open there stays open (nothing is known about it
now, which is not a fix).

The breach register (discovery times that survive rescans and restarts, auditor/breach/) is fed
here: in `judge()`, between the engine's judgement and `ledger.apply`, so alerts and the ledger
carry the register's clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from auditor.breach.observe import BREACH_CATEGORY, RegisterFeed
from auditor.config import Config
from auditor.consent.registry import ConsentRegistry
from auditor.engine import BoundRule, bind_rules, enrich, judge
from auditor.inputs import load_inputs
from auditor.models import Artifact, Coverage, Finding, Gap
from auditor.rules.registry import RuleSet
from auditor.suppress import SuppressionFile, check_rule_ids, find_ignore_file, load_suppressions
from auditor.watch.health import GAP_FILE_FAILED, WatchHealth
from auditor.watch.ledger import Event, Ledger
from auditor.watch.settings import WatchSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inputs:
    """Everything the judging depends on; reloaded as a whole on SIGHUP, or not at all."""

    config: Config
    registry: ConsentRegistry | None
    ruleset: RuleSet
    suppressions: SuppressionFile | None


def load_watch_inputs(settings: WatchSettings) -> Inputs:
    """Config, consent registry, rules and suppressions, validated (InputError on bad ones)."""
    config, registry, ruleset = load_inputs(settings.config_path, settings.consent_path, settings.rule_packs)
    suppressions = None
    ignore_path = find_ignore_file(settings.ignore_path)
    if ignore_path is not None:
        suppressions = load_suppressions(ignore_path)
        check_rule_ids(suppressions, [a.rule.id for a in ruleset.active] + list(ruleset.disabled))
    return Inputs(config, registry, ruleset, suppressions)


@dataclass(frozen=True)
class Bound:
    """The rules for one batch: as of one day, with one discovery time."""

    rules: list[BoundRule]
    as_of: date


class Judge:
    def __init__(
        self,
        inputs: Inputs,
        ledger: Ledger,
        health: WatchHealth,
        *,
        keep_for_report: bool,
        feed: RegisterFeed | None = None,
    ) -> None:
        self.inputs = inputs
        self.feed = feed
        self._breach_rules: frozenset[str] = frozenset()
        self.ledger = ledger
        self.health = health
        self.pending: list[Event] = []
        self._keep = keep_for_report
        # Kept only for the report: the findings and recordings as last judged.
        self.live: dict[str, list[Finding]] = {}
        self.artifacts: dict[str, Artifact] = {}

    def bind(self) -> Bound:
        today = date.today()
        inputs = self.inputs
        if self.feed is not None:
            self.feed.refresh()
            self._breach_rules = frozenset(
                a.rule.id for a in inputs.ruleset.active if a.rule.category == BREACH_CATEGORY
            )
        rules = bind_rules(
            inputs.ruleset.active,
            as_of=today,
            now=datetime.now(UTC),
            config=inputs.config,
            registry=inputs.registry,
        )
        return Bound(rules, today)

    def judge(self, artifact: Artifact, bound: Bound, coverage: Coverage) -> bool:
        """Judge one artifact and note what changed; False (and a gap) when it could not be judged."""
        try:
            enrich(artifact, self.inputs.registry, bound.as_of)
            judgement = judge(artifact, bound.rules)
            if self.feed is not None:
                self.feed.judged(artifact, judgement.findings, judgement.failed_rules, self._breach_rules)
            suppressed = self._suppressed(judgement.findings, bound.as_of)
            events = self.ledger.apply(
                artifact.location, judgement.findings, judgement.failed_rules, suppressed
            )
        except Exception as exc:  # this file only: the watch goes on, what was open there stays open
            self.failed(artifact.location, "judging", exc, coverage)
            return False
        coverage.gaps += judgement.gaps()
        self.pending += events
        if self._keep:
            self.live[artifact.location] = judgement.findings
            self.artifacts[artifact.location] = artifact
        return True

    def failed(self, location: str, step: str, exc: BaseException, coverage: Coverage) -> None:
        """One file made `step` fail: a gap on it and a note in the health, and nothing else."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.error("%s failed for %s: %s", step, location, error, exc_info=exc)
        coverage.gaps.append(Gap(location, GAP_FILE_FAILED, f"{step} failed: {error}"))
        self.health.file_failed(location, step, error)

    def _suppressed(self, findings: list[Finding], as_of: date) -> dict[str, dict[str, Any]]:
        suppressions = self.inputs.suppressions
        if suppressions is None:
            return {}
        marks = {}
        for finding in findings:
            as_dict = {"fingerprint": finding.fingerprint, "rule": finding.rule, "location": finding.location}
            entry = suppressions.suppressing(as_dict, as_of)
            if entry is not None:
                marks[finding.fingerprint] = entry.mark(suppressions.path)
        return marks

    def clear(self, location: str) -> None:
        """Nothing is wrong at `location` any more (gone, fixed, moved away, no longer a recording)."""
        if self.feed is not None:
            self.feed.gone(location)
        self.pending += self.ledger.apply(location, [])
        self.live.pop(location, None)
        self.artifacts.pop(location, None)

    def forget(self, location: str) -> int:
        """Drop what is open at `location` without an alert (no longer watched); how many were dropped."""
        fingerprints = self.ledger.at(location)
        for fingerprint in fingerprints:
            self.ledger.forget(fingerprint)
        self.live.pop(location, None)
        self.artifacts.pop(location, None)
        return len(fingerprints)

    def take_events(self) -> list[Event]:
        events, self.pending = self.pending, []
        return events
