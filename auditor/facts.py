"""The known `Artifact.facts` of the built-in sources, as TypedDicts (docs/extending.md quotes them).

Facts are what a source knows beyond the artifact's typed fields; rules that know a fact read it,
and every output shows them under `facts`. A plugin source adds its own (with names of its own:
a rule written for S3's `sse` must not misread another store's). Every key may be absent, and a
value of None means the source could not read it. A test scans real trees and a real S3 server
and checks that no other key appears.
"""

from __future__ import annotations

from typing import Any, TypedDict


class VolumeFact(TypedDict):
    encrypted: bool | None  # None: the volume's encryption could not be established
    method: str | None  # luks, fscrypt, ecryptfs, gocryptfs, cryfs, filevault, bitlocker, trusted ...
    detail: str


class ArchiveFact(TypedDict):
    """An archive (zip) holding recordings: counts and kinds from its listing, never names."""

    members_listed: int
    members_declared: int | None
    recordings: int
    by_media: dict[str, int]  # {"audio": 3, "video": 1}
    encrypted_recordings: int  # stored with the archive's encryption flag
    listing: str  # complete | partial


class LocalFileFacts(TypedDict, total=False):
    """A recording on a local disk (`source: local`)."""

    mode: str  # permission bits, octal: "0644"
    uid: int
    gid: int
    volume: VolumeFact
    inner_name: str | None  # an encrypted file: the name of what it holds (x.m4a.gpg -> x.m4a)
    keys_beside: list[str]  # key material found in the same folder as an encrypted recording
    archive: ArchiveFact


class KeyAttributionFact(TypedDict):
    client: bool  # the key's path names a client (attribution patterns)
    session_date: bool


class SseFact(TypedDict):
    algorithm: str | None  # AES256, aws:kms, aws:kms:dsse
    kms_key_id: str | None
    bucket_key_enabled: bool | None


class ObjectLockFact(TypedDict):
    mode: str | None  # GOVERNANCE | COMPLIANCE
    retain_until: str | None
    legal_hold: bool  # S3 Object Lock's legal hold (not the consent registry's: Artifact.legal_hold)


class S3ObjectFacts(TypedDict, total=False):
    """A recording in S3 (`source: s3`)."""

    bucket: str
    key: str
    account: str | None
    region: str | None
    etag: str | None
    storage_class: str | None
    bucket_versioning: str | None
    noncurrent: bool
    version_id: str | None
    noncurrent_since: str | None
    delete_marker: bool
    key_attribution: KeyAttributionFact
    lifecycle_expiry: dict[str, Any] | None  # {"rule", "days"} or {"rule", "date"}
    inner_name: str | None
    sse: SseFact
    object_lock: ObjectLockFact
    content_unread: str  # why the content could not be read (archived, denied ...): judged by name
    keys_beside: list[str]
    archive: ArchiveFact


class S3BucketFacts(TypedDict, total=False):
    """An S3 bucket (`kind: bucket`); docs/s3.md explains each part."""

    bucket: str
    account: str | None
    region: str | None
    prefix: str
    objects_seen: int | None
    recordings: int | None
    delete_markers: int
    public_access_block: dict[str, Any]
    object_ownership: str | None
    acl: dict[str, Any] | None
    policy: dict[str, Any] | None
    default_encryption: dict[str, Any] | None
    versioning: str | None
    mfa_delete: str | None
    lifecycle: list[dict[str, Any]] | None
    lifecycle_expiry: dict[str, Any]
    object_lock: dict[str, Any] | None
    access_logging: dict[str, Any] | None
    website: dict[str, Any] | None
    unknown: list[str]  # the facts that could not be read (each is also a coverage gap)


KNOWN_FACTS: dict[tuple[str, str], type] = {
    ("local", "recording"): LocalFileFacts,
    ("s3", "recording"): S3ObjectFacts,
    ("s3", "bucket"): S3BucketFacts,
}
