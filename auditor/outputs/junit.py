"""`.xml`: JUnit XML, for CI systems that show test results (GitLab, Jenkins, Azure DevOps).

One test suite per scan target, one test case per active rule in it: a rule with open findings
under that target fails, and the failure lists them. Suppressed findings never fail a case;
they are listed in its `system-out`. Text that XML 1.0 cannot carry (control characters) is
written as `\\xNN`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from auditor.models import SEVERITIES
from auditor.outputs.base import OutputOptions, write_private
from auditor.outputs.places import Places
from auditor.posture import is_active
from auditor.textsafe import fix_lone_surrogates

FAILURE_LINES = 500  # findings listed per failing case; the count is always complete

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def xml_text(value: Any) -> str:
    """Text XML 1.0 can carry: lone surrogates in the lossless form, controls as `\\xNN`."""
    text = fix_lone_surrogates("" if value is None else str(value))
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x80 else f"\\u{ord(m.group(0)):04x}",
        text,
    )


def _worst(findings: list[dict[str, Any]]) -> str:
    return min((f["severity"] for f in findings), key=SEVERITIES.index, default="info")


def _line(f: dict[str, Any]) -> str:
    suffix = f" [{f['status']}]" if f.get("status") else ""
    return f"{f['severity'].upper():8} {f['location']}{suffix}\n         {f.get('message', '')}"


def to_junit(result: dict[str, Any]) -> ET.Element:
    places = Places(result)
    rules = list(result.get("rules", []))
    known = {r["id"] for r in rules}
    for f in result.get("findings", []):
        if f["rule"] not in known:
            known.add(f["rule"])
            rules.append({"id": f["rule"], "title": f["rule"], "category": f.get("category", "")})
    by_target: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for f in result.get("findings", []):
        if f.get("status") == "resolved":
            continue
        by_target[places.target(f["location"])][f["rule"]].append(f)
    targets = sorted(set(by_target) | set(places.target_of.values()))
    if not targets:
        targets = list(result.get("targets", [])) or ["(no target)"]

    root = ET.Element("testsuites", name="recording-auditor")
    total_tests = total_failures = 0
    for target in targets:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=xml_text(target),
            timestamp=str(result.get("started") or ""),
            hostname=xml_text((result.get("run_by") or "").rpartition("@")[2]),
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("as_of", result.get("as_of")),
            ("tool_version", (result.get("tool") or {}).get("version")),
            ("coverage_complete", (result.get("coverage") or {}).get("complete")),
        ):
            ET.SubElement(props, "property", name=name, value=xml_text(value))
        failures = 0
        for rule in rules:
            found = by_target[target].get(rule["id"], [])
            active = [f for f in found if is_active(f)]
            suppressed = [f for f in found if f.get("suppressed")]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=xml_text(f"recording-auditor.{rule.get('category') or 'other'}"),
                name=xml_text(rule["id"]),
            )
            if active:
                failures += 1
                worst = _worst(active)
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=xml_text(
                        f"{len(active)} open finding{'s' if len(active) != 1 else ''} "
                        f"(worst: {worst}): {rule.get('title', rule['id'])}"
                    ),
                    type=worst,
                )
                lines = [_line(f) for f in active[:FAILURE_LINES]]
                if len(active) > FAILURE_LINES:
                    lines.append(f"... and {len(active) - FAILURE_LINES} more in the JSON result")
                failure.text = xml_text("\n".join(lines))
            if suppressed:
                out = ET.SubElement(case, "system-out")
                out.text = xml_text(
                    "\n".join(
                        f"suppressed: {f['location']}: {(f['suppressed'] or {}).get('reason', '')}"
                        for f in suppressed[:FAILURE_LINES]
                    )
                )
        suite.set("tests", str(len(rules)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total_tests += len(rules)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    return root


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    tree = to_junit(result)
    ET.indent(tree)
    body = ET.tostring(tree, encoding="unicode")
    write_private(path, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8"))
