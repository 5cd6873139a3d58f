"""Posture per framework: the state of each control the audit's rules enforce, said honestly.

Controls are written "FRAMEWORK section" (e.g. "HIPAA 164.312(a)(2)(iv)", "GDPR Art 32", "APA 6.02").
Each control is in one of four states:

- `failing`: an active finding (not suppressed, not resolved) carries it; the count is of the
  distinct recordings (or buckets) with such a finding;
- `not-evaluated`: nothing failed, but one of its rules could not judge what it should have
  (no consent registry, a rule that raised): the control cannot be said to pass;
- `not-applicable`: every rule enforcing it judges something this audit did not contain (bucket
  rules and S3-object rules on a local scan): nothing was checked, so nothing passed;
- `passing`: its rules judged what they apply to and found nothing open.

It reads only the result dict: the rules' `applies_to`, `sources` and `requires_registry`, the
artifacts' kinds and sources, the consent registry and the coverage gaps.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auditor.controls import control_name

# Report groups: APA and ACA are the two professional codes and are shown together.
FRAMEWORKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HIPAA", ("HIPAA",)),
    ("GDPR", ("GDPR",)),
    ("APA/ACA", ("APA", "ACA")),
)
OTHER = "Other"
STATES = ("failing", "not-evaluated", "not-applicable", "passing")
STATE_LABELS = {
    "failing": "failing",
    "passing": "passing",
    "not-evaluated": "not evaluated",
    "not-applicable": "not applicable",
}
# What each artifact kind is called when saying a rule had nothing to judge.
_KIND_WORDS = {"recording": "recording", "bucket": "S3 bucket"}
_SOURCE_WORDS = {"s3": "S3", "local": "local"}


def framework_of(control: str) -> str:
    prefix = control.split(" ", 1)[0]
    for name, prefixes in FRAMEWORKS:
        if prefix in prefixes:
            return name
    return OTHER


def _label(control: str) -> str:
    """The control without its framework word where the card already names it ("HIPAA 164.402" -> "164.402")."""
    prefix, _, rest = control.partition(" ")
    return rest if rest and prefix in ("HIPAA", "GDPR") else control


def _natural(text: str) -> list[Any]:
    """'GDPR Art 5' before 'GDPR Art 32'."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def is_active(finding: dict[str, Any]) -> bool:
    return not finding.get("suppressed") and finding.get("status") != "resolved"


@dataclass(frozen=True)
class RuleState:
    """Whether a rule judged this audit's artifacts: `evaluated`, `not-evaluated` or `not-applicable`."""

    state: str
    why: str = ""
    judged: int = 0  # artifacts of the kinds and sources it judges


def rule_states(result: dict[str, Any]) -> dict[str, RuleState]:
    """Each rule of the result: did it judge anything, and if not, why not."""
    present = _present(result)
    errors = _rule_errors(result)
    unchecked = _not_checked_for_consent(result)
    states: dict[str, RuleState] = {}
    for rule in result.get("rules", []):
        rule_id = rule["id"]
        kinds = set(rule.get("applies_to") or ["recording"])
        sources = set(rule.get("sources") or [])
        judged = sum(
            n for (kind, source), n in present.items() if kind in kinds and (not sources or source in sources)
        )
        if rule_id in unchecked or (rule.get("requires_registry") and result.get("consent_registry") is None):
            states[rule_id] = RuleState("not-evaluated", "no consent registry was given", judged)
        elif errors.get(rule_id):
            n = errors[rule_id]
            states[rule_id] = RuleState(
                "not-evaluated", f"failed on {n:,} place{'s' if n != 1 else ''}", judged
            )
        elif judged == 0:
            states[rule_id] = RuleState("not-applicable", _nothing_to_judge(kinds, sources), 0)
        else:
            states[rule_id] = RuleState("evaluated", "", judged)
    return states


def _nothing_to_judge(kinds: set[str], sources: set[str]) -> str:
    source = " or ".join(_SOURCE_WORDS.get(s, s) for s in sorted(sources))
    things = []
    for kind in sorted(kinds):
        word = _KIND_WORDS.get(kind, kind)
        if source and kind == "recording":
            word = f"{source} object" if source == "S3" else f"{source} {word}"
        things.append(word)
    return f"no {' or '.join(things)} in this audit"


def _rule_errors(result: dict[str, Any]) -> Counter[str]:
    """Places where a rule raised (gap `rule-error`, detail "RULE: error")."""
    errors: Counter[str] = Counter()
    for gap in (result.get("coverage") or {}).get("skipped", []):
        if gap.get("reason") == "rule-error":
            errors[str(gap.get("detail", "")).split(":", 1)[0]] += 1
    return errors


def _not_checked_for_consent(result: dict[str, Any]) -> set[str]:
    """Rules the `consent-not-checked` gap names ("...; not evaluated: a, b")."""
    named: set[str] = set()
    for gap in (result.get("coverage") or {}).get("skipped", []):
        if gap.get("reason") == "consent-not-checked":
            _, _, listed = str(gap.get("detail", "")).partition("not evaluated:")
            named.update(part.strip() for part in listed.split(",") if part.strip())
    return named


def _why(rules: Iterable[str], states: dict[str, RuleState]) -> str:
    """'consent-missing, consent-expired: no consent registry was given' (grouped by reason)."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        by_reason[states[rule].why].append(rule)
    return "; ".join(f"{', '.join(sorted(ids))}: {why}" for why, ids in by_reason.items())


def framework_posture(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per framework that has controls: its controls with their state and counts."""
    states = rule_states(result)
    rules_for: dict[str, set[str]] = defaultdict(set)
    for rule in result.get("rules", []):
        for control in rule.get("controls", []):
            rules_for[control].add(rule["id"])
    failing: dict[str, set[str]] = defaultdict(set)
    findings_for: Counter[str] = Counter()
    suppressed_for: Counter[str] = Counter()
    for finding in result.get("findings", []):
        if finding.get("status") == "resolved":
            continue
        for control in finding.get("controls", []):
            if finding.get("suppressed"):
                suppressed_for[control] += 1
                continue
            failing[control].add(finding["location"])
            findings_for[control] += 1
            rules_for[control].add(finding["rule"])
    kinds_sources = _judged_counts(result)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for control in sorted(rules_for, key=_natural):
        rules = sorted(rules_for[control])
        known = [r for r in rules if r in states]
        unevaluated = [r for r in known if states[r].state == "not-evaluated"]
        inapplicable = [r for r in known if states[r].state == "not-applicable"]
        failed = len(failing.get(control, ()))
        if failed:
            state, why = "failing", ""
        elif unevaluated:
            state, why = "not-evaluated", _why(unevaluated, states)
        elif known and len(inapplicable) == len(known):
            state, why = "not-applicable", _why(inapplicable, states)
        else:
            state, why = "passing", ""
        evaluated = kinds_sources(r for r in known if states[r].state != "not-applicable")
        name = control_name(control)
        groups[framework_of(control)].append(
            {
                "control": control,
                "label": _label(control),
                "name": name.name,
                "state": state,
                "state_label": STATE_LABELS[state],
                "why": why,
                "failed": failed,
                "evaluated": evaluated,
                "findings": findings_for.get(control, 0),
                "suppressed": suppressed_for.get(control, 0),
                "rules": rules,
                "partly": sorted(set(unevaluated) | set(inapplicable))
                if state in ("failing", "passing")
                else [],
            }
        )
    order = [name for name, _ in FRAMEWORKS] + [OTHER]
    return [
        {
            "framework": name,
            "controls": groups[name],
            "counts": {state: sum(1 for c in groups[name] if c["state"] == state) for state in STATES},
            "failed": sum(1 for c in groups[name] if c["state"] == "failing"),
        }
        for name in order
        if groups.get(name)
    ]


def _present(result: dict[str, Any]) -> Counter[tuple[str, str]]:
    """How many artifacts of each (kind, source) the audit holds."""
    present: Counter[tuple[str, str]] = Counter()
    for item in (*result.get("recordings", []), *result.get("buckets", [])):
        present[(str(item.get("kind", "recording")), str(item.get("source", "")))] += 1
    return present


def _judged_counts(result: dict[str, Any]) -> Callable[[Iterable[str]], int]:
    """A function: the number of artifacts that any of the given rules judges."""
    present = _present(result)
    scope = {
        r["id"]: (set(r.get("applies_to") or ["recording"]), set(r.get("sources") or []))
        for r in result.get("rules", [])
    }

    def count(rules: Iterable[str]) -> int:
        wanted = [scope[r] for r in rules if r in scope]
        return sum(
            n
            for (kind, source), n in present.items()
            if any(kind in kinds and (not sources or source in sources) for kinds, sources in wanted)
        )

    return count
