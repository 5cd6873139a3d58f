"""One object: is it a recording, and what are its facts? At most two calls for a recording.

Only objects whose name leaves it open are read, with ONE ranged GET of the first HEAD_BYTES
bytes, then classified by the same classifier as local files. That GET's response already
carries what a HeadObject would (server-side encryption, user metadata, Object Lock and legal
hold), so no HEAD follows it. The second call, when it is needed, is the object ACL (only when
ACLs are enabled and not ignored by Block Public Access) or, for a recording that neither its
metadata nor the key patterns attribute and that the GET says has tags, its tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from auditor.attribution import attribute, from_metadata, from_patterns
from auditor.classify import HEAD_BYTES, Classification, classify, embedded_created
from auditor.classify.names import basename, extension, media_for_extension, strip_crypto_suffixes
from auditor.models import Artifact, Attribution, Exposure, Gap
from auditor.sources.s3 import lifecycle
from auditor.sources.s3.acl import AclUnreadable, public_grants
from auditor.sources.s3.errors import (
    CALL_ERRORS,
    call_problem,
    error_code,
    error_message,
    is_access_denied,
    run_problem,
)
from auditor.sources.s3.inventory_rows import SSE_BY_STATUS, InventoryEntry, InventoryFacts
from auditor.sources.s3.listing import ObjectEntry
from auditor.sources.s3.permissions import denied

if TYPE_CHECKING:  # pragma: no cover - typing only
    from auditor.sources.s3.source import BucketScan

_ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})  # content unreadable until restored
_OBJECT_ACL_READING = frozenset({"READ", "WRITE_ACP", "FULL_CONTROL"})


@dataclass
class Examined:
    """What examining one object produced; applied to coverage by the caller (one thread)."""

    entry: ObjectEntry
    artifact: Artifact | None = None
    classification: Classification | None = None
    bytes_read: int = 0
    sniffed: bool = False
    gaps: list[Gap] = field(default_factory=list)


def sse_encryption(sse: str | None) -> str:
    """The artifact's encryption string for an S3 server-side encryption algorithm."""
    return f"sse:{sse}" if sse else "none"


def examine(scan: BucketScan, entry: ObjectEntry) -> Examined:
    result = Examined(entry)
    location = entry.location(scan.facts.name)
    if entry.storage_class in _ARCHIVED:
        # A GET would fail until the object is restored; HeadObject still tells encryption and metadata.
        result.gaps.append(
            Gap(
                location,
                "archived",
                f"{entry.storage_class}: content not read; restore the object to examine it",
            )
        )
        if _media_by_name(entry) is not None:
            head = _head_object(scan, entry, result, location)
            reason = f"archived ({entry.storage_class})"
            result.artifact = _by_name(scan, entry, result, reason=reason, response=head)
        return result
    known = _inventory(entry)
    if known is not None and known.encryption == "SSE-C":
        # A GET without the customer's key is refused (400): the inventory already says why.
        _sse_c(scan, entry, result, location)
        return result
    try:
        response, first_bytes = get_head(scan, entry)
    except ClientError as exc:
        if run_problem(exc):
            raise
        _get_failed(scan, entry, result, exc, location)
        return result
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "s3.GetObject")
        result.gaps.append(Gap(location, problem.reason, f"{problem.detail}: content not read"))
        return result
    result.sniffed = True
    result.bytes_read = len(first_bytes)
    cls = classify(first_bytes, basename(entry.key))
    result.classification = cls
    if cls.kind not in ("media", "transcript", "encrypted"):
        return result
    result.artifact = _recording(scan, entry, result, cls, first_bytes, response)
    return result


def object_params(entry: ObjectEntry, scan: BucketScan) -> dict[str, Any]:
    """Bucket, key, and the version when the listing was by version: what every per-object call names."""
    params: dict[str, Any] = {"Bucket": scan.facts.name, "Key": entry.key}
    if entry.version_id:
        params["VersionId"] = entry.version_id
    return params


def get_head(scan: BucketScan, entry: ObjectEntry) -> tuple[dict[str, Any], bytes]:
    """One ranged GET of the object's first HEAD_BYTES (that version, when listed by version)."""
    response = scan.s3.get_object(**object_params(entry, scan), Range=f"bytes=0-{HEAD_BYTES - 1}")
    try:
        head = response["Body"].read(HEAD_BYTES)
    finally:
        response["Body"].close()
    return response, head


def _get_failed(
    scan: BucketScan, entry: ObjectEntry, result: Examined, exc: ClientError, location: str
) -> None:
    code = error_code(exc)
    if code in ("NoSuchKey", "NoSuchVersion", "404"):
        result.gaps.append(Gap(location, "vanished", "deleted while the scan ran"))
    elif code == "InvalidObjectState":
        result.gaps.append(
            Gap(location, "archived", "archived storage tier: restore the object to examine it")
        )
        result.artifact = _by_name(scan, entry, result, reason="archived")
    elif is_access_denied(exc):
        # Often kms:Decrypt on an SSE-KMS object: HeadObject needs no key and still tells SSE and metadata.
        head = _head_object(scan, entry, result, location)
        if head is not None and str(head.get("ServerSideEncryption", "")).startswith("aws:kms"):
            result.gaps.append(Gap(location, "access-denied", "kms:Decrypt denied: content not read"))
            result.artifact = _by_name(scan, entry, result, reason="kms:Decrypt denied", response=head)
        elif head is not None:
            result.gaps.append(
                Gap(location, "access-denied", denied("s3.GetObject", {"VersionId": entry.version_id}))
            )
            result.artifact = _by_name(scan, entry, result, reason="s3:GetObject denied", response=head)
    elif code in ("InvalidRequest", "400") and "customer" in error_message(exc).lower():
        _sse_c(scan, entry, result, location)
    else:
        problem = call_problem(exc, "s3.GetObject", {"VersionId": entry.version_id})
        result.gaps.append(Gap(location, problem.reason, f"{problem.detail}: content not read"))


def _sse_c(scan: BucketScan, entry: ObjectEntry, result: Examined, location: str) -> None:
    result.gaps.append(
        Gap(location, "sse-c", "encrypted with a customer-provided key (SSE-C): content not read")
    )
    artifact = _by_name(scan, entry, result, reason="SSE-C")
    if artifact is not None:
        artifact.encryption, artifact.encrypted = "sse:customer", True
    result.artifact = artifact


def _inventory(entry: ObjectEntry) -> InventoryFacts | None:
    return entry.inventory if isinstance(entry, InventoryEntry) else None


def _with_inventory(entry: ObjectEntry, response: dict[str, Any]) -> dict[str, Any]:
    """A GET or HEAD answer, with what the inventory row says where the answer is silent (the
    Object Lock headers come only with s3:GetObjectRetention and s3:GetObjectLegalHold)."""
    known = _inventory(entry)
    if known is None:
        return response
    merged = known.response()
    merged.update({k: v for k, v in response.items() if v is not None})
    return merged


def _head_object(
    scan: BucketScan, entry: ObjectEntry, result: Examined, location: str
) -> dict[str, Any] | None:
    params = object_params(entry, scan)
    try:
        response: dict[str, Any] = scan.s3.head_object(**params)
        return response
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "s3.HeadObject", params)
        detail = denied("s3.GetObject", params) if problem.reason == "access-denied" else problem.detail
        result.gaps.append(Gap(location, problem.reason, detail))
    return None


def _by_name(
    scan: BucketScan,
    entry: ObjectEntry,
    result: Examined,
    *,
    reason: str,
    response: dict[str, Any] | None = None,
) -> Artifact | None:
    """A recording judged by its name alone, when its content cannot be read: better listed with
    the reason than silently missed. Only names with a media or transcript extension qualify."""
    media = _media_by_name(entry)
    if media is None:
        return None
    artifact = _base_artifact(scan, entry, media=media, fmt=None)
    artifact.facts["content_unread"] = reason
    if response is not None:
        _apply_response(scan, entry, artifact, result, response, None)
    else:
        artifact.attribution = attribute(entry.key, scan.config.attribution.patterns)
        artifact.attribution.tried = ["patterns"]  # the object's metadata could not be read
        artifact.encrypted, artifact.encryption = None, "unknown"
        known = _inventory(entry)
        if known is not None and known.encryption in SSE_BY_STATUS and known.encryption != "SSE-C":
            sse = SSE_BY_STATUS[known.encryption]
            artifact.encrypted, artifact.encryption = bool(sse), sse_encryption(sse)
    _add_exposures(scan, entry, artifact, result)
    return artifact


def _media_by_name(entry: ObjectEntry) -> str | None:
    return media_for_extension(extension(strip_crypto_suffixes(basename(entry.key))))


def _base_artifact(scan: BucketScan, entry: ObjectEntry, *, media: str | None, fmt: str | None) -> Artifact:
    facts = scan.facts
    artifact = Artifact(
        kind="recording",
        location=entry.location(facts.name),
        source="s3",
        target=scan.target,
        relpath=entry.key,
        size=entry.size,
        mtime=entry.last_modified,
        mtime_source="last-modified",
        at_rest="server-side",
        media=media,
        format=fmt,
    )
    artifact.facts.update(
        {
            "bucket": facts.name,
            "key": entry.key,
            "account": facts.account.account_id,
            "region": facts.region,
            "etag": entry.etag,
            "storage_class": entry.storage_class,
            "bucket_versioning": facts.versioning,
        }
    )
    if facts.versioned:
        artifact.facts.update(
            {
                "noncurrent": entry.noncurrent,
                "version_id": entry.version_id,
                "noncurrent_since": entry.noncurrent_since.isoformat() if entry.noncurrent_since else None,
                "delete_marker": entry.deleted,
            }
        )
    by_key = from_patterns(entry.key, scan.config.attribution.patterns)
    if by_key is not None and (by_key.client or by_key.session_date):
        # The key alone names the client or the session: anyone who can list it reads PHI.
        artifact.facts["key_attribution"] = {
            "client": by_key.client is not None,
            "session_date": by_key.session_date is not None,
        }
    if facts.lifecycle_rules is not None:
        artifact.facts["lifecycle_expiry"] = lifecycle.expiry(
            facts.lifecycle_rules, entry.key, noncurrent=entry.noncurrent
        )
    return artifact


def _recording(
    scan: BucketScan,
    entry: ObjectEntry,
    result: Examined,
    cls: Classification,
    head: bytes,
    response: dict[str, Any],
) -> Artifact | None:
    media = cls.inner_media if cls.kind == "encrypted" else cls.media
    artifact = _base_artifact(scan, entry, media=media, fmt=cls.format)
    _apply_response(scan, entry, artifact, result, response, cls)
    # An encrypted blob is a recording when its inner name says so or attribution ties it to a session.
    if cls.kind == "encrypted" and cls.inner_media is None and not artifact.attribution.client:
        return None
    _add_exposures(scan, entry, artifact, result)
    if cls.kind == "encrypted":
        artifact.facts["inner_name"] = cls.inner_name
    else:
        try:
            artifact.embedded_created = embedded_created(cls.format or "", head, None, 0)
        except (ValueError, IndexError, OverflowError):  # a corrupt header is not a reason to stop
            artifact.embedded_created = None
    return artifact


def _apply_response(
    scan: BucketScan,
    entry: ObjectEntry,
    artifact: Artifact,
    result: Examined,
    response: dict[str, Any],
    cls: Classification | None,
) -> None:
    """Encryption, Object Lock and attribution from a GET or HEAD response (and the inventory row)."""
    response = _with_inventory(entry, response)
    sse = response.get("ServerSideEncryption")
    artifact.facts["sse"] = {
        "algorithm": sse,
        "kms_key_id": response.get("SSEKMSKeyId"),
        "bucket_key_enabled": response.get("BucketKeyEnabled"),
    }
    if cls is not None and cls.kind == "encrypted":
        artifact.encrypted, artifact.encryption = True, f"content:{cls.format}"
    else:
        artifact.encrypted, artifact.encryption = bool(sse), sse_encryption(sse)
    lock_mode = response.get("ObjectLockMode")
    hold = response.get("ObjectLockLegalHoldStatus")
    if lock_mode or hold:
        until = response.get("ObjectLockRetainUntilDate")
        artifact.facts["object_lock"] = {
            "mode": lock_mode,
            "retain_until": until.isoformat() if isinstance(until, datetime) else until,
            "legal_hold": hold == "ON",
        }
    tag_count = int(response.get("TagCount") or 0)
    artifact.attribution = _attribution(
        scan, entry, artifact, result, response.get("Metadata") or {}, tag_count
    )


def _add_exposures(scan: BucketScan, entry: ObjectEntry, artifact: Artifact, result: Examined) -> None:
    """The bucket's ACL and policy exposures, plus the object's own ACL where ACLs can matter."""
    exposures = scan.bucket_exposures(entry)
    if scan.facts.object_acls_matter:
        known = _inventory(entry)
        if known is not None and known.acl_grants is not None:
            exposure = _acl_exposure(known.acl_grants, artifact.location, result)
        else:
            exposure = _object_acl(scan, entry, artifact.location, result)
        if exposure is not None:
            exposures.append(exposure)
    artifact.exposures = exposures


def _attribution(
    scan: BucketScan,
    entry: ObjectEntry,
    artifact: Artifact,
    result: Examined,
    metadata: dict[str, str],
    tag_count: int,
) -> Attribution:
    patterns = scan.config.attribution.patterns
    meta = from_metadata(metadata)
    by_key = from_patterns(entry.key, patterns)
    if tag_count and not (meta and meta.client) and not (by_key and by_key.client):
        # Neither metadata nor the key says whose it is, and the GET said the object has tags
        # (x-amz-tagging-count): they are the last place to look.
        tags = _tags(scan, entry, artifact.location, result)
        if tags:
            tagged = from_metadata(tags)
            if tagged is not None:
                tagged.source = "tags"
                meta = tagged
    attribution = attribute(entry.key, patterns, metadata=meta)
    attribution.tried = ["metadata", *(["tags"] if tag_count else []), "patterns"]
    return attribution


def _tags(scan: BucketScan, entry: ObjectEntry, location: str, result: Examined) -> dict[str, str] | None:
    params = object_params(entry, scan)
    try:
        tag_set = scan.s3.get_object_tagging(**params).get("TagSet", [])
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "s3.GetObjectTagging", params)
        result.gaps.append(
            Gap(location, problem.reason, f"{problem.detail}: attribution by tags not checked")
        )
        return None
    return {str(t["Key"]): str(t.get("Value") or "") for t in tag_set if isinstance(t, dict) and t.get("Key")}


def _object_acl(scan: BucketScan, entry: ObjectEntry, location: str, result: Examined) -> Exposure | None:
    params = object_params(entry, scan)
    try:
        answer = scan.s3.get_object_acl(**params).get("Grants") or []
    except CALL_ERRORS as exc:
        if run_problem(exc):
            raise
        problem = call_problem(exc, "s3.GetObjectAcl", params)
        result.gaps.append(Gap(location, problem.reason, f"{problem.detail}: object ACL not checked"))
        return None
    return _acl_exposure(answer, location, result, source="s3.GetObjectAcl")


def _acl_exposure(
    answer: Sequence[dict[str, Any]],
    location: str,
    result: Examined,
    source: str = "inventory ObjectAccessControlList",
) -> Exposure | None:
    """The exposure an object ACL's grants make (from GetObjectAcl, or the inventory's copy of it)."""
    try:
        grants = public_grants(answer)
    except AclUnreadable as exc:
        result.gaps.append(Gap(location, "unparseable", f"{source}: {exc}: object ACL not checked"))
        return None
    reading = [g for g in grants if g.permission in _OBJECT_ACL_READING]
    if not reading:
        return None
    return Exposure(
        "object-acl",
        "object ACL grants " + "; ".join(g.describe("object") for g in reading),
        {"acl": "object", "grants": [g.to_dict() for g in reading], "access": ["read"]},
    )
