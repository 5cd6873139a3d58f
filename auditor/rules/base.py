"""The rule plugin interface.

A rule is one small module: its metadata (id, category, default severity, controls,
remediation) sits beside its `evaluate` function, as in Prowler's one-check-per-unit.
It registers through the `auditor.rules` entry-point group, exactly as a third-party
package would:

    [project.entry-points."auditor.rules"]
    recording-unencrypted = "auditor.rules.unencrypted:RULE"

`evaluate(artifact, ctx)` yields `Hit`s; the engine turns each into a `Finding`, adding the
rule's metadata, the pack's severity and controls, and a stable fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from auditor.models import Artifact

if TYPE_CHECKING:  # pragma: no cover - typing only
    from auditor.config import Config
    from auditor.consent.registry import ConsentRegistry


@dataclass(frozen=True)
class Hit:
    """One thing a rule found wrong with one artifact."""

    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    severity: str | None = None  # override the effective severity (e.g. lower for encrypted files)
    discriminator: str = ""  # distinguishes several hits of one rule on one artifact (fingerprint)


@dataclass
class RuleContext:
    """What a rule may consult besides the artifact itself."""

    as_of: date  # the audit day (--as-of)
    now: datetime  # when the scan ran (UTC): the discovery time for breach clocks
    config: Config
    registry: ConsentRegistry | None
    params: Mapping[str, Any]  # this rule's parameters after pack overrides
    severity: str  # this rule's effective severity after pack and config overrides


Evaluate = Callable[[Artifact, RuleContext], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    title: str
    remediation: str
    evaluate: Evaluate
    controls: tuple[str, ...] = ()  # "FRAMEWORK section", e.g. "HIPAA 164.312(a)(2)(iv)"
    description: str = ""
    applies_to: frozenset[str] = frozenset({"recording"})
    params: Mapping[str, Any] = field(default_factory=dict)  # defaults; packs may override
    requires_registry: bool = False  # cannot judge without a consent registry: reported as a coverage gap
    # The sources (Artifact.source: "local", "s3") whose artifacts the rule can judge; empty: every
    # source. The engine runs it on no other, and JUnit reports it skipped for other targets.
    sources: frozenset[str] = frozenset()
