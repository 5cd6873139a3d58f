"""`.sarif`: SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps, IDE viewers).

Each finding is a result: `ruleId`, a level from the severity, the location as an artifact URI
(`file://` for local paths, `s3://` as is), and `partialFingerprints` carrying our fingerprint
so dashboards track a finding across runs. Suppressed findings keep their place with a SARIF
`suppressions` entry; with `--baseline`, `baselineState` says new/unchanged/absent (resolved).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any

from auditor.models import INTENTIONAL_SKIPS
from auditor.outputs.base import OutputOptions, write_private

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "recordingAuditor/v1"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks alerts by this CVSS-like score (a string property on the rule).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
BASELINE_STATES = {"new": "new", "unchanged": "unchanged", "resolved": "absent"}
_URI_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 characters allowed in a path as they are
NOTIFICATION_CAP = 1000  # coverage gaps listed as tool notifications; the JSON has all


def artifact_uri(location: str) -> str:
    """`file:///abs/path` (percent-encoded) for local paths; other schemes keep their form, encoded where needed."""
    if "://" in location:
        scheme, _, rest = location.partition("://")
        return f"{scheme}://{urllib.parse.quote(rest, safe=_URI_SAFE)}"
    path = PurePosixPath(location)
    if path.is_absolute():
        return path.as_uri()
    return urllib.parse.quote(location, safe=_URI_SAFE)


def _rule_descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    severity = rule.get("severity", "info")
    controls = list(rule.get("controls") or [])
    remediation = rule.get("remediation") or ""
    help_markdown = remediation
    if controls:
        help_markdown += "\n\n**Controls:** " + ", ".join(controls)
    return {
        "id": rule["id"],
        "name": "".join(part.capitalize() for part in rule["id"].split("-")),
        "shortDescription": {"text": rule.get("title") or rule["id"]},
        "fullDescription": {"text": rule.get("description") or rule.get("title") or rule["id"]},
        "help": {
            "text": remediation or rule.get("title") or rule["id"],
            "markdown": help_markdown or rule["id"],
        },
        "defaultConfiguration": {"level": LEVELS.get(severity, "note")},
        "properties": {
            "category": rule.get("category"),
            "severity": severity,
            "controls": controls,
            "tags": ["compliance", rule.get("category") or "other", *controls],
            "security-severity": SECURITY_SEVERITY.get(severity, "0.0"),
            "pack": rule.get("pack"),
        },
    }


def _result(finding: dict[str, Any], rule_index: dict[str, int]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "severity": finding.get("severity"),
        "category": finding.get("category"),
        "controls": finding.get("controls") or [],
        "evidence": finding.get("evidence") or {},
        "remediation": finding.get("remediation"),
    }
    if finding.get("client"):
        properties["client"] = finding["client"]
    if finding.get("first_seen"):
        properties["firstSeen"] = finding["first_seen"]
    if finding.get("owner"):  # who fixes it and by when (owners: in the config)
        properties["owner"] = finding["owner"]
    if finding.get("due"):
        properties["due"] = finding["due"]
    out: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index[finding["rule"]],
        "level": LEVELS.get(finding.get("severity", "info"), "note"),
        "message": {"text": finding.get("message") or finding["rule"]},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(str(finding.get("location", "")))}
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.get("fingerprint", "")},
        "properties": properties,
    }
    if finding.get("status") in BASELINE_STATES:
        out["baselineState"] = BASELINE_STATES[finding["status"]]
    suppressed = finding.get("suppressed")
    if suppressed:
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": suppressed.get("reason") or "",
                "properties": {k: suppressed.get(k) for k in ("expires", "file", "line", "by")},
            }
        ]
    return out


def to_sarif(result: dict[str, Any]) -> dict[str, Any]:
    rules = [dict(r) for r in result.get("rules", [])]
    known = {r["id"] for r in rules}
    for f in result.get("findings", []):  # a resolved finding's rule may no longer be active
        if f["rule"] not in known:
            known.add(f["rule"])
            rules.append({"id": f["rule"], "category": f.get("category"), "severity": f.get("severity")})
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    coverage = result.get("coverage") or {}
    gaps = coverage.get("skipped", [])
    notifications = [
        {
            "level": "note" if gap.get("reason") in INTENTIONAL_SKIPS else "warning",
            "message": {
                "text": f"{gap.get('reason')}: {gap.get('location')}"
                + (f" ({gap['detail']})" if gap.get("detail") else "")
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": artifact_uri(str(gap.get("location", "")))}
                    }
                }
            ],
            "properties": {"reason": gap.get("reason")},
        }
        for gap in gaps[:NOTIFICATION_CAP]
    ]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "properties": {"coverageComplete": bool(coverage.get("complete", True)), "skipped": len(gaps)},
    }
    if result.get("started"):
        invocation["startTimeUtc"] = result["started"]
    if result.get("finished"):
        invocation["endTimeUtc"] = result["finished"]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    tool = result.get("tool") or {}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": tool.get("name", "recording-auditor"),
                "version": str(tool.get("version", "")),
                "rules": [_rule_descriptor(r) for r in rules],
                "properties": {"rulePacks": result.get("rule_packs", [])},
            }
        },
        "automationDetails": {"id": "recording-auditor/"},
        "invocations": [invocation],
        "results": [_result(f, rule_index) for f in result.get("findings", [])],
        "properties": {
            "asOf": result.get("as_of"),
            "organisation": result.get("organisation"),
            "runBy": result.get("run_by"),
            "targets": result.get("targets", []),
            "summary": result.get("summary", {}),
        },
    }
    if result.get("redaction"):
        run["properties"]["redaction"] = result["redaction"]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    text = json.dumps(to_sarif(result), indent=2, ensure_ascii=False, default=str) + "\n"
    write_private(path, text.encode("utf-8", "backslashreplace"))
