"""`.xml`: JUnit XML, read by CI the way the gate decides (GitLab's Tests tab, Jenkins, Azure DevOps).

One test suite per scan target, one test case per rule, plus a `coverage` case:

- A rule **fails** only when it has an open finding under the target that fails the gate
  (`--fail-on`, `--new-only`: auditor/gate.py, the predicate of the exit code). Findings below the
  gate, unchanged ones under `--new-only` and suppressed ones are listed in the suite's
  `system-out`, and do not fail.
- A rule that did not run is **skipped**, with the reason: it needs a consent registry and there is
  none, it judges another kind of source (an S3 rule on a local folder), or there was nothing of
  its kind under the target.
- Coverage gaps are an **error** on the `coverage` case: an incomplete audit shows in CI. GitLab
  counts it as an error, Jenkins as a failure (the build turns unstable).

The file is valid against both common schemas (tests/vendor): the Jenkins xunit `junit-10.xsd`,
and Ant's, which is the stricter: no attributes on `testsuites`; `package`, `id`, `hostname`,
`timestamp` (YYYY-MM-DDTHH:MM:SS) and `time` on every suite; `classname` and `time` on every
case; at most one of skipped/error/failure in a case, and no output inside it; the suite's
`properties`, cases, `system-out` and `system-err` in that order. Rules are not timed one by one:
their `time` is 0, and the scan's duration is the suite's `duration_seconds` property.

Text that XML 1.0 cannot carry is escaped: lone surrogates in textsafe's lossless form, control
characters as `\\xNN` (C1 as `\\uNNNN`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.gate import fails_gate
from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import OutputOptions, write_private
from auditor.outputs.places import Places
from auditor.textsafe import fix_lone_surrogates

FAILURE_LINES = 500  # findings listed per failing case; the count is always complete
OUTPUT_LINES = 2000  # lines of a suite's system-out and of the coverage error
PACKAGE = "recording-auditor"
COVERAGE_CASE = "coverage"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SOURCE_NAMES = {"local": "local folders and files", "s3": "s3:// targets"}


def xml_text(value: Any) -> str:
    """Text XML 1.0 can carry: lone surrogates in the lossless form, controls as `\\xNN`."""
    text = fix_lone_surrogates("" if value is None else str(value))
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x80 else f"\\u{ord(m.group(0)):04x}",
        text,
    )


def _worst(findings: list[dict[str, Any]]) -> str:
    return min((f["severity"] for f in findings), key=SEVERITIES.index, default="info")


def _line(f: dict[str, Any], why: str = "") -> str:
    suffix = f" [{f['status']}]" if f.get("status") else ""
    note = f" ({why})" if why else ""
    return f"{f['severity'].upper():8} {f['location']}{suffix}{note}\n         {f.get('message', '')}"


def _capped(lines: list[str], limit: int, what: str) -> str:
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit:,} more {what} in the JSON result"]
    return "\n".join(lines)


def _source_of(target: str) -> str:
    return target.split("://", 1)[0].lower() if "://" in target else "local"


def _timestamp(value: Any) -> str:
    """Ant's form: YYYY-MM-DDTHH:MM:SS, here in UTC."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _duration(result: dict[str, Any]) -> str:
    try:
        seconds = (
            datetime.fromisoformat(str(result["finished"])) - datetime.fromisoformat(str(result["started"]))
        ).total_seconds()
    except (KeyError, TypeError, ValueError):
        return "0"
    return f"{max(seconds, 0.0):.3f}"


@dataclass
class _Target:
    """What one scan target holds: its findings by rule, its artifacts by kind, its gaps."""

    name: str
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    kinds: Counter[str] = field(default_factory=Counter)
    sources: set[str] = field(default_factory=set)
    gaps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return next(iter(self.sources)) if len(self.sources) == 1 else _source_of(self.name)


def _targets(result: dict[str, Any], places: Places) -> list[_Target]:
    names = [str(t) for t in result.get("targets", []) if t]
    by_name: dict[str, _Target] = {n: _Target(n) for n in names}

    def of(location: str) -> _Target:
        name = places.target(location)
        if name not in by_name:
            by_name[name] = _Target(name)
        return by_name[name]

    for item in (*result.get("recordings", []), *result.get("buckets", [])):
        target = by_name.get(str(item.get("target"))) or of(item["location"])
        target.kinds[item.get("kind", "recording")] += 1
        if item.get("source"):
            target.sources.add(str(item["source"]))
    for f in result.get("findings", []):
        if f.get("status") != "resolved":  # gone since the baseline: nothing to pass or fail
            of(f["location"]).findings[f["rule"]].append(f)
    if not by_name:
        by_name["(no target)"] = _Target("(no target)")
    # A gap no target holds (no consent registry, a rule that did not load) belongs to them all.
    everywhere: list[dict[str, Any]] = []
    for gap in (result.get("coverage") or {}).get("skipped", []):
        name = places.target(str(gap.get("location", "")))
        (by_name[name].gaps if name in by_name else everywhere).append(gap)
    targets = sorted(by_name.values(), key=lambda t: t.name)
    for target in targets:
        target.gaps.extend(everywhere)
    return targets


def _skip_reason(rule: dict[str, Any], target: _Target, result: dict[str, Any]) -> str | None:
    if rule.get("requires_registry") and not result.get("consent_registry"):
        return "not evaluated: no consent registry was given (consent_registry in auditor.yaml, or --consent)"
    sources = rule.get("sources") or []
    if sources and target.source not in sources:
        return "applies to " + " and ".join(_SOURCE_NAMES.get(s, f"{s}://") for s in sources) + " only"
    kinds = rule.get("applies_to") or ["recording"]
    if not any(target.kinds[k] for k in kinds):
        return "nothing to judge under this target: no " + " or ".join(f"{k}s" for k in kinds)
    return None


def _why_not_failing(f: dict[str, Any], fail_on: str, new_only: bool) -> str:
    if f.get("suppressed"):
        return f"suppressed: {(f['suppressed'] or {}).get('reason', '')}"
    if new_only and f.get("status", "new") != "new":
        return "not new since the baseline (--new-only)"
    return "the gate is off (--fail-on none)" if fail_on == "none" else f"below --fail-on {fail_on}"


def _rules(result: dict[str, Any]) -> list[dict[str, Any]]:
    rules = list(result.get("rules", []))
    known = {r["id"] for r in rules}
    for f in result.get("findings", []):  # a rule no longer active (a re-rendered result)
        if f["rule"] not in known:
            known.add(f["rule"])
            rules.append({"id": f["rule"], "title": f["rule"], "category": f.get("category", "")})
    return rules


def to_junit(result: dict[str, Any], fail_on: str = "high", new_only: bool = False) -> ET.Element:
    rules = _rules(result)
    timestamp = _timestamp(result.get("started") or result.get("as_of"))
    hostname = (result.get("run_by") or "").rpartition("@")[2] or "unknown"
    root = ET.Element("testsuites")
    for number, target in enumerate(_targets(result, Places(result))):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=xml_text(target.name),
            package=PACKAGE,
            id=str(number),
            timestamp=timestamp,
            hostname=xml_text(hostname),
            time="0",
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("as_of", result.get("as_of")),
            ("tool_version", (result.get("tool") or {}).get("version")),
            ("coverage_complete", (result.get("coverage") or {}).get("complete")),
            ("fail_on", fail_on),
            ("new_only", new_only),
            ("duration_seconds", _duration(result)),
        ):
            ET.SubElement(props, "property", name=name, value=xml_text(value))
        counts: Counter[str] = Counter()
        listed: list[str] = []  # findings that do not fail, for the suite's system-out
        for rule in rules:
            found = target.findings.get(rule["id"], [])
            failing = [f for f in found if fails_gate(f, fail_on, new_only)]
            listed += [
                f"[{rule['id']}] " + _line(f, _why_not_failing(f, fail_on, new_only))
                for f in found
                if not fails_gate(f, fail_on, new_only)
            ]
            case = ET.SubElement(
                suite,
                "testcase",
                name=xml_text(rule["id"]),
                classname=xml_text(f"{PACKAGE}.{rule.get('category') or 'other'}"),
                time="0",
            )
            counts["tests"] += 1
            if failing:
                counts["failures"] += 1
                worst = _worst(failing)
                gate = f"at or above --fail-on {fail_on}" + (", new since the baseline" if new_only else "")
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=xml_text(
                        f"{len(failing):,} finding{'s' if len(failing) != 1 else ''} {gate} "
                        f"(worst: {worst}): {rule.get('title', rule['id'])}"
                    ),
                    type=worst,
                )
                failure.text = xml_text(_capped([_line(f) for f in failing], FAILURE_LINES, "findings"))
            elif not found and (reason := _skip_reason(rule, target, result)):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=xml_text(reason))
        counts["tests"] += 1
        _coverage_case(suite, target, counts)
        out = ET.SubElement(suite, "system-out")
        out.text = xml_text(_capped(listed, OUTPUT_LINES, "findings")) if listed else ""
        ET.SubElement(suite, "system-err").text = ""
        for name in ("tests", "failures", "errors", "skipped"):
            suite.set(name, str(counts[name]))
    return root


def _coverage_case(suite: ET.Element, target: _Target, counts: Counter[str]) -> None:
    case = ET.SubElement(
        suite, "testcase", name=COVERAGE_CASE, classname=f"{PACKAGE}.{COVERAGE_CASE}", time="0"
    )
    gaps = [g for g in target.gaps if g.get("reason") not in INTENTIONAL_SKIPS]
    if not gaps:
        return
    counts["errors"] += 1
    reasons = Counter(str(g.get("reason")) for g in gaps)
    why = ", ".join(f"{reason} {n:,}" for reason, n in reasons.most_common())
    error = ET.SubElement(
        case,
        "error",
        message=xml_text(f"incomplete audit: {len(gaps):,} gap(s) ({why})"),
        type="incomplete-coverage",
    )
    lines = [
        f"{g.get('reason')}: {g.get('location')}" + (f" ({g['detail']})" if g.get("detail") else "")
        for g in gaps
    ]
    error.text = xml_text(_capped(lines, OUTPUT_LINES, "gaps"))


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    tree = to_junit(result, options.fail_on, options.new_only)
    ET.indent(tree)
    body = ET.tostring(tree, encoding="unicode")
    write_private(path, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8"))
