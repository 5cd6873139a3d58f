"""The data that flows through the pipeline: source -> classify -> rules -> findings -> outputs.

Everything here is plain data. Sources fill in *facts* about an artifact; rules only read
those facts and judge them. Keeping judgement out of sources is what lets one rule (say,
"unencrypted") serve local disks and S3 alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from auditor.encryption import Encryption
from auditor.shard import Shard

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}

# Categories of the four core problems; rules may add others (e.g. "breach", "hygiene").
CATEGORIES: tuple[str, ...] = ("unencrypted", "over-retained", "exposed", "unconsented")


def severity_at_least(severity: str, threshold: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]


@dataclass(frozen=True)
class Exposure:
    """One way an artifact can be reached by people who should not reach it."""

    kind: str  # world-readable | group-readable | sync-folder | web-root | network-share | public-acl | public-policy | ...
    detail: str  # human-readable: which group, which sync client, which grant or statement
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Attribution:
    """Which client and session a recording belongs to, and where we learnt it."""

    client: str | None = None
    session_date: date | None = None
    purpose: str | None = None
    participants: list[str] = field(default_factory=list)
    consent_id: str | None = None
    source: str | None = None  # sidecar | metadata | pattern | None
    # Where the source looked for a client, in order (e.g. sidecar, patterns): what an
    # unattributed recording's finding says was tried. Set by the source.
    tried: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LegalHoldFact:
    """A legal hold the consent registry records for the recording's client (or a participant),
    as it stands on the audit day. Set by the engine, not by sources."""

    client: str
    until: date | None  # None: until lifted
    reason: str | None
    in_force: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "until": self.until.isoformat() if self.until else None,
            "reason": self.reason,
            "in_force": self.in_force,
        }


@dataclass
class Artifact:
    """A thing a rule looks at: a recording (file or object) or a container (an S3 bucket).

    `kind` is "recording" for media, transcripts and encrypted recordings, "bucket" for
    bucket-level hygiene. Rules declare which kinds they apply to.
    """

    kind: str
    location: str  # absolute path as reached under the target, or s3://bucket/key
    source: str  # local | s3 | a plugin's name for itself
    target: str  # the scan target this was reached under
    # The names below the target, "/"-separated (the object key in S3): attribution patterns
    # search it, and `--redact` replaces each of its components. `location` must contain it:
    # what comes before it stays readable, what it names is hidden.
    relpath: str = ""
    size: int | None = None
    mtime: datetime | None = None  # UTC
    mtime_source: str = "mtime"  # what the store calls `mtime`: "last-modified" in S3
    # What protects it at rest when its content is not encrypted: "volume" (the disk's volume
    # encryption), "server-side" (an object store's, judged against encryption.s3_minimum), or
    # None when the source does not say.
    at_rest: str | None = None
    media: str | None = None  # audio | video | transcript (None when only the crypto wrapper is known)
    format: str | None = None  # wav, mp3, mp4, webvtt, openpgp+m4a, ...
    encrypted: bool | None = None  # None = we cannot tell; never claim True without evidence
    encryption: str = "unknown"  # how: content:openpgp, volume:luks, sse:aws:kms, none, unknown
    exposures: list[Exposure] = field(default_factory=list)
    attribution: Attribution = field(default_factory=Attribution)
    recorded_at: datetime | None = None
    recorded_at_source: str | None = None  # attribution | container | mtime | last-modified
    embedded_created: datetime | None = None  # creation time inside the container, if any
    legal_hold: LegalHoldFact | None = None  # from the consent registry (the engine sets it)
    facts: dict[str, Any] = field(default_factory=dict)  # source-specific extra facts (auditor/facts.py)

    @property
    def encryption_kind(self) -> Encryption:
        return Encryption.parse(self.encryption)

    @property
    def content_encrypted(self) -> bool:
        return self.encryption_kind.of_content

    @property
    def client(self) -> str | None:
        return self.attribution.client


def make_fingerprint(rule: str, location: str, discriminator: str = "") -> str:
    """Stable across runs: depends only on what is wrong and where, never on dates or counts."""
    digest = hashlib.sha256(f"{rule}\0{location}\0{discriminator}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


@dataclass
class Finding:
    """One rule's verdict on one recording or bucket: what is wrong, where, how severe, and why."""

    rule: str
    category: str
    severity: str
    location: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    controls: list[str] = field(default_factory=list)
    remediation: str = ""
    fingerprint: str = ""
    client: str | None = None
    # A finding's `status` (--baseline) and `suppressed` entry exist only in the result dict:
    # they are set by publish() on the JSON contract, after the scan (auditor/baseline.py,
    # auditor/suppress.py), never on this object.

    def to_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict: this runs once per finding (100,000s),
        # and asdict's recursive deep copy was the largest cost of building a result.
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "location": self.location,
            "message": self.message,
            "evidence": dict(self.evidence),  # later stages (baseline) may set keys on it
            "controls": list(self.controls),
            "remediation": self.remediation,
            "fingerprint": self.fingerprint,
            "client": self.client,
        }


@dataclass(frozen=True)
class Gap:
    """A place the audit could not examine. Gaps are never dropped: an audit with holes says so."""

    location: str
    reason: str  # permission-denied | vanished | special-file | symlink-loop | excluded | rule-error | api-error | ...
    detail: str = ""


# Places left out by the user's choice (links not followed, --one-file-system) or that cannot hold
# a stored recording (FIFOs, sockets, devices, pseudo filesystems): listed in the coverage, but
# they do not make the audit incomplete. Every other gap reason does.
INTENTIONAL_SKIPS: frozenset[str] = frozenset(
    {"symlink-not-followed", "special-file", "pseudo-filesystem", "other-filesystem"}
)


@dataclass
class Coverage:
    """What a scan saw and could not see: counts, and every gap with its reason."""

    files_seen: int = 0
    dirs_seen: int = 0
    candidates: int = 0  # files whose head was read
    recordings: int = 0
    bytes_read: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    excluded: int = 0  # places skipped on purpose by --exclude (counted, not gaps)
    # --shard I/N: this scan's shard, and how many units (auditor.shard) it took and left to the others
    shard: Shard | None = None
    shard_units: int = 0
    shard_other_units: int = 0
    # S3 Inventory: one entry per bucket scanned with --inventory (its snapshot date, or why none was used)
    inventories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(g.reason in INTENTIONAL_SKIPS for g in self.gaps)

    def merge(self, other: Coverage) -> None:
        """Add another part of the same scan (e.g. from a worker process)."""
        self.files_seen += other.files_seen
        self.dirs_seen += other.dirs_seen
        self.candidates += other.candidates
        self.recordings += other.recordings
        self.bytes_read += other.bytes_read
        self.excluded += other.excluded
        self.shard_units += other.shard_units
        self.shard_other_units += other.shard_other_units
        for operation, count in other.api_calls.items():
            self.api_calls[operation] = self.api_calls.get(operation, 0) + count
        self.gaps.extend(other.gaps)
        self.inventories.extend(other.inventories)

    def to_dict(self) -> dict[str, Any]:
        shard = (
            {}
            if self.shard is None
            else {"shard": self.shard.to_dict(self.shard_units, self.shard_other_units)}
        )
        inventories = {"inventories": list(self.inventories)} if self.inventories else {}
        return {
            "complete": self.complete,
            "files_seen": self.files_seen,
            "dirs_seen": self.dirs_seen,
            "candidates": self.candidates,
            "recordings": self.recordings,
            "bytes_read": self.bytes_read,
            "excluded": self.excluded,
            "api_calls": dict(sorted(self.api_calls.items())),
            "skipped": [{"location": g.location, "reason": g.reason, "detail": g.detail} for g in self.gaps],
            **shard,
            **inventories,
        }
