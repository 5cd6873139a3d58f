"""`.sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF dashboards.

Shaped by what GitHub accepts ("SARIF support for code scanning" and "SARIF results exceed
limit" on docs.github.com, and the checks of github/codeql-action's upload-sarif):

- **Locations.** upload-sarif always sends the checkout as a `file://` source root, and GitHub
  rejects a file whose absolute URIs use another scheme. Local paths are absolute `file://`
  URIs (GitHub makes those under the checkout relative and keeps the others as they are); an S3
  object or bucket is the relative reference `s3/BUCKET/KEY`, which GitHub shows as a path. The
  finding's own location (`s3://...` or the path) is kept in the location's `properties`.
- **Regions.** Recordings and buckets have no lines, but GitHub places an alert by its region:
  every result points at line 1, column 1.
- **Fingerprints.** `partialFingerprints.primaryLocationLineHash` (the only key GitHub reads)
  carries our fingerprint, which depends on the rule and the location only, so an alert keeps
  its identity from run to run; `recordingAuditor/v1` carries it too, for other tools.
- **Category.** `runs[].automationDetails.id` only when `--sarif-category` is given, so that
  upload-sarif's own `category` input applies otherwise.
- **Limits.** One run (GitHub rejects two runs of one tool and category in a file), at most
  25,000 results, 10 tags per rule, short texts within GitHub's lengths, and at most 10 MB
  gzip-compressed: past that the most severe findings are kept, a warning says what was left
  out, and the JSON result still holds everything.
- **Baseline.** A finding resolved since `--baseline` is left out: GitHub shows every result as
  an open alert whatever its `kind` or `baselineState`, and closes an alert that is absent
  from the next upload. New and unchanged findings carry `baselineState`.
"""

from __future__ import annotations

import gzip
import json
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from auditor.models import INTENTIONAL_SKIPS, SEVERITIES
from auditor.outputs.base import OutputOptions, write_private
from auditor.project import docs_url, project_url

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "recordingAuditor/v1"
LINE_HASH_KEY = "primaryLocationLineHash"  # the one partialFingerprints key GitHub reads
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks security alerts by this score (a string property on the rule):
# over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; 0.0 is "no security severity".
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
BASELINE_STATES = {"new": "new", "unchanged": "unchanged"}
_URI_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 characters allowed in a path as they are
# The whole artifact: GitHub needs a line to place an alert, and a recording has none.
WHOLE_ARTIFACT_REGION = {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 2}
S3_PREFIX = "s3/"  # relative reference for s3://BUCKET/KEY: s3/BUCKET/KEY
NOTIFICATION_CAP = 1000  # coverage gaps listed as tool notifications; the JSON has all


@dataclass(frozen=True)
class GitHubLimits:
    """What GitHub code scanning accepts in one SARIF file (docs.github.com: "SARIF support for
    code scanning", "Validating your SARIF file"; "SARIF results exceed limit"). Past a hard
    limit the whole upload is rejected."""

    runs_per_file: int = 20
    results_per_run: int = 25_000
    rules_per_run: int = 25_000
    tool_extensions_per_run: int = 100
    locations_per_result: int = 1_000
    tags_per_rule: int = 20
    tags_displayed: int = 10  # only the first 10 tags are kept
    gzip_bytes: int = 10 * 1024 * 1024  # each gzip-compressed file
    name_chars: int = 255  # reportingDescriptor.name
    description_chars: int = 1024  # shortDescription.text, fullDescription.text


GITHUB = GitHubLimits()


def artifact_uri(location: str) -> str:
    """`file:///abs/path` (percent-encoded) for local paths, `s3/BUCKET/KEY` for S3, relative
    paths as relative references. A name that is not UTF-8 keeps its bytes, percent-encoded."""

    def quote(text: str) -> str:
        return urllib.parse.quote(text, safe=_URI_SAFE, encoding="utf-8", errors="surrogateescape")

    if location.startswith("s3://"):
        return quote(S3_PREFIX + location[len("s3://") :])
    if "://" in location:  # another store: keep its scheme's name as the first segment, as for S3
        scheme, _, rest = location.partition("://")
        return quote(f"{scheme}/{rest}")
    path = PurePosixPath(location)
    if path.is_absolute():
        return "file://" + quote(str(path))
    encoded = quote(location)
    first = encoded.split("/", 1)[0]
    return f"./{encoded}" if ":" in first else encoded  # a colon there would read as a scheme


def _location(location: str) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(location)},
            "region": dict(WHOLE_ARTIFACT_REGION),
        },
        "properties": {"location": location},
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tags(category: str | None, controls: Sequence[str]) -> list[str]:
    """`security` first (GitHub's security filter), then the category, the frameworks and the
    controls, within the number of tags GitHub keeps."""
    frameworks = sorted({c.split(" ", 1)[0] for c in controls if c})
    tags: list[str] = []
    for tag in ["security", "compliance", category or "other", *frameworks, *controls]:
        if tag and tag not in tags:
            tags.append(tag)
    return tags[: GITHUB.tags_displayed]


def help_uri(rule: dict[str, Any]) -> str:
    """Where the rule is documented: the bucket rules in s3.md, the others in the rules table."""
    if rule.get("help_uri"):
        return str(rule["help_uri"])
    if str(rule.get("id", "")).startswith("s3-bucket-"):
        return docs_url("s3.md")
    return docs_url("compliance-officers.md", "rules-and-controls")


def _rule_descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    severity = rule.get("severity", "info")
    controls = list(rule.get("controls") or [])
    remediation = rule.get("remediation") or ""
    title = rule.get("title") or rule["id"]
    help_markdown = remediation or title
    if controls:
        help_markdown += "\n\n**Controls:** " + ", ".join(controls)
    return {
        "id": rule["id"],
        "name": _clip("".join(part.capitalize() for part in rule["id"].split("-")), GITHUB.name_chars),
        "shortDescription": {"text": _clip(title, GITHUB.description_chars)},
        "fullDescription": {"text": _clip(rule.get("description") or title, GITHUB.description_chars)},
        "helpUri": help_uri(rule),
        "help": {"text": remediation or title, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVELS.get(severity, "note")},
        "properties": {
            "category": rule.get("category"),
            "severity": severity,
            "controls": controls,
            "tags": _tags(rule.get("category"), controls),
            "security-severity": SECURITY_SEVERITY.get(severity, "0.0"),
            "precision": "high",
            "pack": rule.get("pack"),
        },
    }


def _result(finding: dict[str, Any], rule_index: dict[str, int], any_suppressed: bool) -> dict[str, Any]:
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
    fingerprint = finding.get("fingerprint") or ""
    out: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index[finding["rule"]],
        "level": LEVELS.get(finding.get("severity", "info"), "note"),
        "message": {"text": finding.get("message") or finding["rule"]},
        "locations": [_location(str(finding.get("location", "")))],
        "partialFingerprints": {LINE_HASH_KEY: f"{fingerprint}:1", FINGERPRINT_KEY: fingerprint},
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
    elif any_suppressed:  # SARIF: in a run, every result has suppressions or none has
        out["suppressions"] = []
    return out


def _severity_order(finding: dict[str, Any]) -> tuple[int, int]:
    """Open findings before suppressed ones, then the most severe first."""
    severity = finding.get("severity", "info")
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
    return (1 if finding.get("suppressed") else 0, rank)


@dataclass
class Omitted:
    """The findings a SARIF file had to leave out to stay within GitHub's limits."""

    total: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    reason: str = ""

    def describe(self) -> str:
        parts = ", ".join(
            f"{self.by_severity[s]:,} {s}" for s in (*SEVERITIES, "suppressed") if self.by_severity.get(s)
        )
        return f"{self.total:,} finding(s) left out ({parts}): {self.reason}"


def _gap_notification(gap: dict[str, Any]) -> dict[str, Any]:
    return {
        "level": "note" if gap.get("reason") in INTENTIONAL_SKIPS else "warning",
        "message": {
            "text": f"{gap.get('reason')}: {gap.get('location')}"
            + (f" ({gap['detail']})" if gap.get("detail") else "")
        },
        "locations": [_location(str(gap.get("location", "")))],
        "properties": {"reason": gap.get("reason")},
    }


def to_sarif(
    result: dict[str, Any],
    category: str | None = None,
    *,
    limits: GitHubLimits = GITHUB,
    keep: int | None = None,
) -> tuple[dict[str, Any], Omitted]:
    """The SARIF log for `result`, and what had to be left out of it. `keep` caps the results
    below the per-run limit (used to fit the compressed size)."""
    rules = [dict(r) for r in result.get("rules", [])]
    known = {r["id"] for r in rules}
    findings = [f for f in result.get("findings", []) if f.get("status") != "resolved"]
    for f in findings:  # a finding's rule may no longer be active (a re-rendered result)
        if f["rule"] not in known:
            known.add(f["rule"])
            rules.append({"id": f["rule"], "category": f.get("category"), "severity": f.get("severity")})
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    findings.sort(key=_severity_order)
    cap = min(limits.results_per_run, keep if keep is not None else limits.results_per_run)
    omitted = Omitted()
    if len(findings) > cap:
        left_out = findings[cap:]
        findings = findings[:cap]
        omitted.total = len(left_out)
        omitted.by_severity.update(
            "suppressed" if f.get("suppressed") else f.get("severity", "info") for f in left_out
        )
        omitted.reason = (
            f"GitHub code scanning accepts at most {limits.results_per_run:,} results per run"
            if cap == limits.results_per_run
            else f"GitHub code scanning accepts at most {limits.gzip_bytes // (1024 * 1024)} MB of gzip-compressed SARIF"
        ) + "; the most severe were kept, and the JSON result has them all"
    any_suppressed = any(f.get("suppressed") for f in findings)
    coverage = result.get("coverage") or {}
    gaps = coverage.get("skipped", [])
    notifications = [_gap_notification(gap) for gap in gaps[:NOTIFICATION_CAP]]
    if omitted.total:
        notifications.insert(
            0,
            {
                "level": "warning",
                "message": {"text": omitted.describe()},
                "descriptor": {"id": "results-capped"},
                "properties": {"omitted": omitted.total, "bySeverity": dict(omitted.by_severity)},
            },
        )
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
    version = str(tool.get("version", ""))
    driver: dict[str, Any] = {
        "name": tool.get("name", "recording-auditor"),
        "informationUri": project_url(),
        "version": version,
        "rules": [_rule_descriptor(r) for r in rules],
        "properties": {"rulePacks": result.get("rule_packs", [])},
    }
    if version:
        driver["semanticVersion"] = version
    resolved = sum(1 for f in result.get("findings", []) if f.get("status") == "resolved")
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "results": [_result(f, rule_index, any_suppressed) for f in findings],
        "properties": {
            "asOf": result.get("as_of"),
            "organisation": result.get("organisation"),
            "runBy": result.get("run_by"),
            "targets": result.get("targets", []),
            "summary": result.get("summary", {}),
            "resolvedSinceBaseline": resolved,
            "omittedResults": omitted.total,
        },
    }
    if category:
        run["automationDetails"] = {"id": automation_id(category)}
    if result.get("redaction"):
        run["properties"]["redaction"] = result["redaction"]
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, omitted


def automation_id(category: str) -> str:
    """GitHub reads `id` as CATEGORY/RUN-ID; as upload-sarif does with its `category` input, the
    whole option is the category (a trailing slash is added)."""
    return category if category.endswith("/") else category + "/"


def encode(log: dict[str, Any]) -> bytes:
    """Indented UTF-8 JSON. orjson is 40 times faster than the standard library's indenting
    encoder, which took 16 s for 25,000 results; the fallback is for text orjson refuses."""
    try:
        return orjson.dumps(log, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE, default=str)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(log, indent=2, ensure_ascii=False, default=str) + "\n"
        return text.encode("utf-8", "backslashreplace")


def within_size(data: bytes, limits: GitHubLimits = GITHUB) -> bool:
    """Within GitHub's compressed size: compressing cannot be needed to tell when the file is
    already smaller than the limit uncompressed."""
    return len(data) <= limits.gzip_bytes or gzip_size(data) <= limits.gzip_bytes


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))  # upload-sarif uses zlib's default level


def fit_for_github(
    result: dict[str, Any], category: str | None = None, *, limits: GitHubLimits = GITHUB
) -> tuple[bytes, Omitted]:
    """The encoded SARIF within GitHub's limits: the per-run result count first, then the
    compressed size. When that is too large, the number of results kept (most severe first) is
    searched for, to within half a percent: a file is cut only as far as it must be."""
    log, omitted = to_sarif(result, category, limits=limits)
    data = encode(log)
    if within_size(data, limits):
        return data, omitted
    fits = 0
    best = _attempt(result, category, limits, 0)  # rules and notifications alone
    too_big = len(log["runs"][0]["results"])
    while too_big - fits > max(1, too_big // 200):
        middle = (fits + too_big) // 2
        attempt = _attempt(result, category, limits, middle)
        if within_size(attempt[0], limits):
            fits, best = middle, attempt
        else:
            too_big = middle
    return best


def _attempt(
    result: dict[str, Any], category: str | None, limits: GitHubLimits, keep: int
) -> tuple[bytes, Omitted]:
    log, omitted = to_sarif(result, category, limits=limits, keep=keep)
    return encode(log), omitted


def write(result: dict[str, Any], path: Path, options: OutputOptions) -> None:
    data, omitted = fit_for_github(result, options.sarif_category)
    if omitted.total:
        options.warn(f"{path}: {omitted.describe()}")
    write_private(path, data)
