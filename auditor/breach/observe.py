"""What an audit tells the breach register, and the register's clock put back on the findings.

Two callers: `record_result` for a finished result dict (`auditor scan --state`), and
`RegisterFeed` for the watch daemon, which judges one file at a time.

`record_result` runs on a finished result dict (`auditor scan --state`, the watch daemon's
rescans), after suppressions and the baseline and before redaction:

- every breach finding opens an episode or extends the live one; the finding then carries the
  register's `first_discovered` (evidence and message) and its `breach_id`;
- a live episode whose recording this audit examined and found no longer unsecured-exposed, or
  whose local file is gone, is contained. A recording the audit did not reach (another target,
  an excluded folder, an S3 object not listed) is left as it was: not seeing is not a fix;
- `result["breach_register"]` lists every breach that is not closed, contained ones included,
  with the time left on each clock.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from auditor.breach.register import BreachRegister, Sighting, iso, parse_time
from auditor.encryption import Encryption
from auditor.models import Artifact, Finding
from auditor.result import artifact_to_dict
from auditor.rules.breach import restamp

BREACH_CATEGORY = "breach"
# Facts of the recording kept with the breach: what the assessment's first factor needs.
_RECORDING_FACTS = ("media", "format", "size", "encryption", "recorded_at", "attribution_source", "target")


def record_result(register: BreachRegister, result: dict[str, Any], *, who: str | None = None) -> None:
    at = _started(result)
    actor = who or f"auditor scan ({result.get('run_by') or 'unknown'})"
    recordings = {r["location"]: r for r in result.get("recordings", [])}
    buckets = {str((b.get("facts") or {}).get("bucket")): b for b in result.get("buckets", [])}
    breaches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in result.get("findings", []):
        if finding.get("category") == BREACH_CATEGORY and finding.get("status") != "resolved":
            breaches[finding["location"]].append(finding)
    for location, findings in breaches.items():
        breach = register.seen_exposed(
            sighting(location, findings, recordings.get(location), buckets, at), at=at, who=actor
        )
        for finding in findings:
            restamp(finding, parse_time(breach.first_discovered))
            finding["evidence"]["breach_id"] = breach.id
    if any(r.get("category") == BREACH_CATEGORY for r in result.get("rules", [])):
        _contain(register, result, recordings, set(breaches), at, actor)
    result["breach_register"] = register_section(register, at)


def sighting(
    location: str,
    findings: Iterable[dict[str, Any]],
    recording: dict[str, Any] | None,
    buckets: dict[str, dict[str, Any]],
    at: datetime,
) -> Sighting:
    """The register's view of one exposed recording, from its breach findings and its facts."""
    findings = list(findings)
    exposures: list[dict[str, Any]] = []
    known: datetime | None = None
    clients: set[str] = set()
    for finding in findings:
        evidence = finding.get("evidence") or {}
        for exposure in evidence.get("exposures") or []:
            entry = {"kind": exposure.get("kind"), "detail": exposure.get("detail")}
            if entry not in exposures:
                exposures.append(entry)
        if finding.get("client"):
            clients.add(str(finding["client"]))
        try:
            seen = parse_time(str(evidence.get("discovered_at")))
        except ValueError:
            continue
        known = seen if known is None or seen < known else known
    facts: dict[str, Any] = {}
    source = "s3" if location.startswith("s3://") else "local"
    exists_since = None
    if recording is not None:
        source = recording.get("source") or source
        facts = {key: recording.get(key) for key in _RECORDING_FACTS}
        facts["name"] = location.rstrip("/").rsplit("/", 1)[-1]
        clients.update(str(c) for c in [recording.get("client"), *(recording.get("participants") or [])] if c)
        exists_since = recording.get("mtime")
    if source == "s3":
        bucket = location[len("s3://") :].split("/", 1)[0]
        facts["bucket"] = _bucket_logging(buckets.get(bucket), bucket)
    return Sighting(
        location=location,
        source=source,
        exposures=exposures,
        clients=sorted(clients),
        recording=facts,
        exists_since=exists_since,
        known_since=known if known is not None and known < at else None,
    )


def _bucket_logging(bucket: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Where the bucket's server access logs go, as the scan read it: the evidence step starts there."""
    facts = (bucket or {}).get("facts") or {}
    return {
        "name": name,
        "account": facts.get("account"),
        "region": facts.get("region"),
        "access_logging": facts.get("access_logging"),
    }


def _contain(
    register: BreachRegister,
    result: dict[str, Any],
    recordings: dict[str, dict[str, Any]],
    exposed_now: set[str],
    at: datetime,
    who: str,
) -> None:
    failed = {
        gap.get("location")
        for gap in (result.get("coverage") or {}).get("skipped", [])
        if gap.get("reason") == "rule-error"
    }
    targets = [t if "://" in t else os.path.abspath(t) for t in result.get("targets", [])]
    for location in register.live_locations():
        if location in exposed_now or location in failed:
            continue
        recording = recordings.get(location)
        if recording is not None:
            register.seen_contained(location, at=at, who=who, how=_how_contained(recording))
        elif "://" not in location and _under(location, targets) and not os.path.lexists(location):
            register.seen_contained(location, at=at, who=who, how="the file no longer exists")


def _how_contained(recording: dict[str, Any]) -> str:
    if Encryption.parse(recording.get("encryption")).of_content:
        return "examined again: its content is now encrypted"
    if not recording.get("exposures"):
        return "examined again: no longer exposed"
    kinds = ", ".join(sorted({str(e.get("kind")) for e in recording["exposures"]}))
    return f"examined again: no longer reachable by other people (left: {kinds})"


def _under(location: str, targets: Iterable[str]) -> bool:
    return any(location == t or location.startswith(t.rstrip("/") + "/") for t in targets)


def register_section(register: BreachRegister, at: datetime) -> dict[str, Any]:
    """The result's `breach_register`: every breach not closed, the clocks as of `at`."""
    listed = register.not_closed()
    return {
        "file": str(register.path),
        "schema_version": register.schema_version,
        "as_of": iso(at),
        "count": len(listed),
        "breaches": [b.to_dict(at) for b in listed],
    }


def _started(result: dict[str, Any]) -> datetime:
    try:
        return parse_time(str(result.get("started")))
    except ValueError:
        return datetime.now(UTC)


class RegisterFeed:
    """The watch daemon's side: each judged file tells the register what it is now.

    `judged()` runs between the engine's judgement and the ledger, so the alert and the ledger
    carry the register's discovery time, not the rescan's: a SIGHUP, a periodic rescan or a
    restart never moves a clock. A file that is no longer a breach (fixed, encrypted, deleted,
    moved away) contains its episode; a file no longer watched (`forget`) does not."""

    def __init__(self, register: BreachRegister, who: str = "auditor watch") -> None:
        self.register = register
        self.who = who
        self._live: set[str] = set()

    def refresh(self) -> None:
        """The live episodes, re-read once per batch (a scan may have opened some meanwhile)."""
        self._live = set(self.register.live_locations())

    def judged(
        self,
        artifact: Artifact,
        findings: list[Finding],
        failed_rules: frozenset[str],
        breach_rules: frozenset[str],
    ) -> None:
        at = datetime.now(UTC)
        breaches = [f for f in findings if f.category == BREACH_CATEGORY]
        if breaches:
            as_dicts = [f.to_dict() for f in breaches]
            found = sighting(artifact.location, as_dicts, artifact_to_dict(artifact), {}, at)
            breach = self.register.seen_exposed(found, at=at, who=self.who)
            self._live.add(artifact.location)
            discovered = parse_time(breach.first_discovered)
            for finding in breaches:
                holder: dict[str, Any] = {"evidence": finding.evidence, "message": finding.message}
                restamp(holder, discovered)
                finding.message = holder["message"]
                finding.evidence["breach_id"] = breach.id
        elif artifact.location in self._live and breach_rules and not (breach_rules & failed_rules):
            recording = {
                "encryption": artifact.encryption,
                "exposures": [{"kind": e.kind} for e in artifact.exposures],
            }
            self.gone(artifact.location, _how_contained(recording))

    def gone(self, location: str, how: str = "no longer there, or no longer a recording") -> None:
        if location in self._live:
            self.register.seen_contained(location, at=datetime.now(UTC), who=self.who, how=how)
            self._live.discard(location)
