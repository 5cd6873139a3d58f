"""The rules GitHub code scanning applies to an uploaded SARIF file, written out as checks.

Each check cites where GitHub publishes it:

- [support] https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
  ("Specifying the root for source files", "Validating your SARIF file", "Supported SARIF output
  file properties": the properties marked required, and their length limits).
- [limits] https://docs.github.com/en/code-security/code-scanning/troubleshooting-sarif-uploads/results-exceed-limit
  (the maximum values: past them "the SARIF file is rejected").
- [upload-lib] github/codeql-action src/upload-lib.ts (commit f3f1edbedfb4a1d188d344570834df2996d45d39):
  validateSarifFileSchema (the schema in tests/vendor/codeql-action-sarif-schema-2.1.0.json,
  format errors on `uri`/`uri-reference` only logged), the check that no two runs of a file share
  a tool and category (src/sarif/index.ts createRunKey, areAllRunsUnique), and the processing
  errors it reports as invalid uploads (`SARIF URI scheme ... did not match the checkout URI
  scheme`, `could not convert rules: invalid security severity value, is not a number`,
  `locationFromSarifResult: expected at least one location`).
"""

from __future__ import annotations

import gzip
import json
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema

CODEQL_ACTION_SCHEMA = Path(__file__).parent / "vendor" / "codeql-action-sarif-schema-2.1.0.json"

# [limits]: "Maximum values"
MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_EXTENSIONS_PER_RUN = 100
MAX_LOCATIONS_PER_RESULT = 1_000
MAX_TAGS_PER_RULE = 20
# [support] "Validating your SARIF file": each gzip-compressed file at most 10 MB.
MAX_GZIP_BYTES = 10 * 1024 * 1024


def _schema_problems(log: dict[str, Any]) -> list[str]:
    """[upload-lib] validateSarifFileSchema: schema errors reject the upload, except `format`
    errors on uri / uri-reference, which are only logged (codeql-action issue #1703)."""
    schema = json.loads(CODEQL_ACTION_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    return [
        f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(log)
        if not (e.validator == "format" and e.validator_value in ("uri", "uri-reference"))
    ]


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and value != ""  # [support]: "The empty string is not supported"


def upload_problems(raw: bytes, checkout_uri: str = "file:///github/workspace") -> list[str]:
    """Everything that would make GitHub reject this file as uploaded by upload-sarif, which
    always sends the checkout as the source root (`checkout_uri`, [upload-lib] uploadPostProcessedFiles)."""
    problems: list[str] = []
    # upload-sarif compresses with zlib.gzipSync at zlib's default level (6) before sending.
    compressed = len(gzip.compress(raw, compresslevel=6))
    if compressed > MAX_GZIP_BYTES:
        problems.append(f"gzip-compressed size {compressed:,} > {MAX_GZIP_BYTES:,}")
    log = json.loads(raw)
    problems += _schema_problems(log)
    # [support] sarifLog object: $schema, version 2.1.0, runs[] required.
    if not _nonempty(log.get("$schema")):
        problems.append("$schema missing")
    if log.get("version") != "2.1.0":
        problems.append("version is not 2.1.0")
    runs = log.get("runs") or []
    if not runs:
        problems.append("no runs")
    if len(runs) > MAX_RUNS:
        problems.append(f"{len(runs)} runs > {MAX_RUNS}")
    checkout_scheme = urllib.parse.urlsplit(checkout_uri).scheme
    run_keys = set()
    for r, run in enumerate(runs):
        driver = (run.get("tool") or {}).get("driver") or {}
        # [upload-lib] areAllRunsUnique: runs of one tool and category in one file are rejected.
        key = json.dumps(
            [driver.get(k) for k in ("name", "fullName", "version", "semanticVersion", "guid")]
            + [(run.get("automationDetails") or {}).get("id")]
        )
        if key in run_keys:
            problems.append(f"runs[{r}]: another run has the same tool and category")
        run_keys.add(key)
        if not _nonempty(driver.get("name")):
            problems.append(f"runs[{r}].tool.driver.name missing")
        rules = driver.get("rules")
        if not isinstance(rules, list):  # [support] toolComponent: rules[] required
            problems.append(f"runs[{r}].tool.driver.rules missing")
            rules = []
        if len(rules) > MAX_RULES_PER_RUN:
            problems.append(f"runs[{r}]: {len(rules)} rules > {MAX_RULES_PER_RUN}")
        if len((run.get("tool") or {}).get("extensions") or []) > MAX_EXTENSIONS_PER_RUN:
            problems.append(f"runs[{r}]: too many tool extensions")
        for i, rule in enumerate(rules):
            where = f"runs[{r}].tool.driver.rules[{i}]"
            # [support] reportingDescriptor: id, shortDescription.text, fullDescription.text, help.text required.
            for path in ("id", "shortDescription.text", "fullDescription.text", "help.text"):
                value: Any = rule
                for part in path.split("."):
                    value = (value or {}).get(part)
                if not _nonempty(value):
                    problems.append(f"{where}.{path} missing or empty")
            if len(rule.get("name") or "") > 255:
                problems.append(f"{where}.name longer than 255 characters")
            for path in ("shortDescription", "fullDescription"):
                if len((rule.get(path) or {}).get("text") or "") > 1024:
                    problems.append(f"{where}.{path}.text longer than 1024 characters")
            properties = rule.get("properties") or {}
            if len(properties.get("tags") or []) > MAX_TAGS_PER_RULE:
                problems.append(f"{where}: more than {MAX_TAGS_PER_RULE} tags")
            if "security-severity" in properties:
                # [upload-lib]: "could not convert rules: invalid security severity value, is not a number"
                try:
                    float(properties["security-severity"])
                except (TypeError, ValueError):
                    problems.append(f"{where}: security-severity is not a number")
        results = run.get("results")
        if not isinstance(results, list):  # [support] run: results[] required
            problems.append(f"runs[{r}].results missing")
            results = []
        if len(results) > MAX_RESULTS_PER_RUN:
            problems.append(f"runs[{r}]: {len(results)} results > {MAX_RESULTS_PER_RUN}")
        for i, result in enumerate(results):
            where = f"runs[{r}].results[{i}]"
            # [support] result: message.text, locations[], partialFingerprints required.
            if not _nonempty((result.get("message") or {}).get("text")):
                problems.append(f"{where}.message.text missing or empty")
            if not (result.get("partialFingerprints") or {}).get("primaryLocationLineHash"):
                problems.append(f"{where}: no partialFingerprints.primaryLocationLineHash")
            locations = result.get("locations") or []
            if not locations:  # [upload-lib]: "locationFromSarifResult: expected at least one location"
                problems.append(f"{where}: no location")
            if len(locations) > MAX_LOCATIONS_PER_RESULT:
                problems.append(f"{where}: more than {MAX_LOCATIONS_PER_RESULT} locations")
            for j, location in enumerate(locations):
                physical = location.get("physicalLocation") or {}
                uri = (physical.get("artifactLocation") or {}).get("uri")
                if not _nonempty(uri):
                    problems.append(f"{where}.locations[{j}]: no artifactLocation.uri")
                    continue
                region = physical.get("region") or {}
                if not isinstance(region.get("startLine"), int):
                    problems.append(f"{where}.locations[{j}]: no region.startLine")
                problems += _uri_problems(uri, checkout_scheme, f"{where}.locations[{j}]")
        for n, notification in enumerate(
            note
            for inv in run.get("invocations") or []
            for note in inv.get("toolExecutionNotifications") or []
        ):
            for location in notification.get("locations") or []:
                uri = ((location.get("physicalLocation") or {}).get("artifactLocation") or {}).get("uri")
                if uri:
                    problems += _uri_problems(uri, checkout_scheme, f"runs[{r}] notification {n}")
    return problems


def _uri_problems(uri: str, checkout_scheme: str, where: str) -> list[str]:
    """[support] "Specifying the root for source files": with a source root, every absolute URI
    must use its scheme, or the upload is rejected ([upload-lib]: "SARIF URI scheme ... did not
    match the checkout URI scheme")."""
    try:
        scheme = urllib.parse.urlsplit(uri).scheme
    except ValueError:
        return [f"{where}: an invalid URI was provided as a SARIF location: {uri!r}"]
    if scheme and scheme != checkout_scheme:
        return [
            f'{where}: SARIF URI scheme "{scheme}" did not match the checkout URI scheme "{checkout_scheme}"'
        ]
    return []
