"""The rule plugin interface.

A rule is one small module: its id, category, text (title, summary, description, remediation),
default severity and typed parameters sit beside its `evaluate` function, as in Prowler's
one-check-per-unit. The rule pack (rules/*.yaml) is the one home of the severities and of the
controls each rule enforces: a rule module names no control.
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

_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


@dataclass(frozen=True)
class Param:
    """A rule parameter: its default, its type, and optionally the values it may take. Packs'
    `params` are checked against it when they are loaded (file, line and key)."""

    default: Any
    kind: type | None = None  # bool, int, float or str; None: the default's own type
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    help: str = ""

    def problem(self, value: Any) -> str | None:
        """Why `value` will not do, or None when it will."""
        kind = self.kind or type(self.default)
        if isinstance(value, bool) and kind is not bool:  # YAML's yes/no are not numbers
            fits = False
        elif kind is float:
            fits = isinstance(value, int | float)
        else:
            fits = isinstance(value, kind)
        if not fits:
            return f"must be {_TYPE_NAMES.get(kind, kind.__name__)} (got {value!r})"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(map(repr, self.choices))} (got {value!r})"
        if self.minimum is not None and value < self.minimum:
            return f"must be {self.minimum:g} or more (got {value!r})"
        return None


def param_specs(params: Mapping[str, Any]) -> dict[str, Param]:
    """A rule's `params` as Params: a plain default stands for a Param of its own type."""
    return {name: p if isinstance(p, Param) else Param(p) for name, p in params.items()}


@dataclass(frozen=True)
class Rule:
    """A rule's metadata (its one validated home) and the check it runs on each artifact."""

    id: str
    category: str
    severity: str
    title: str
    remediation: str
    evaluate: Evaluate
    # Controls belong in the rule's pack ("FRAMEWORK section", e.g. "HIPAA 164.312(a)(2)(iv)");
    # these are used only when no loaded pack sets any (a plugin rule shipped without one).
    controls: tuple[str, ...] = ()
    description: str = ""
    applies_to: frozenset[str] = frozenset({"recording"})
    params: Mapping[str, Any] = field(default_factory=dict)  # name -> Param (or a plain default)
    summary: str = ""  # when it fires, in one line: the officers' table (auditor rules --format markdown)
    requires_registry: bool = False  # cannot judge without a consent registry: reported as a coverage gap
    # The sources (Artifact.source: "local", "s3") whose artifacts the rule can judge; empty: every
    # source. The engine runs it on no other, and JUnit reports it skipped for other targets.
    sources: frozenset[str] = frozenset()
