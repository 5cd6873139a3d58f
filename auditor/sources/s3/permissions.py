"""Which IAM action each API call of the S3 source needs: gap messages name it, and a test
checks every call a scan makes against the read-only policy documented in docs/s3.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# "service.Operation" (as counted in coverage.api_calls) -> the IAM action(s) it needs.
# Calls on a specific object version need the *Version* variant of the object actions.
OPERATION_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "sts.GetCallerIdentity": ("sts:GetCallerIdentity",),
    "sts.AssumeRole": ("sts:AssumeRole",),
    "s3control.GetPublicAccessBlock": ("s3:GetAccountPublicAccessBlock",),
    "s3.ListBuckets": ("s3:ListAllMyBuckets",),
    "s3.HeadBucket": ("s3:ListBucket",),
    "s3.ListObjectsV2": ("s3:ListBucket",),
    "s3.ListObjectVersions": ("s3:ListBucketVersions",),
    "s3.GetBucketOwnershipControls": ("s3:GetBucketOwnershipControls",),
    "s3.GetBucketAcl": ("s3:GetBucketAcl",),
    "s3.GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "s3.GetBucketPolicy": ("s3:GetBucketPolicy",),
    "s3.GetBucketPolicyStatus": ("s3:GetBucketPolicyStatus",),
    "s3.GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "s3.GetBucketVersioning": ("s3:GetBucketVersioning",),
    "s3.GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    "s3.GetObjectLockConfiguration": ("s3:GetBucketObjectLockConfiguration",),
    "s3.GetBucketLogging": ("s3:GetBucketLogging",),
    "s3.GetBucketWebsite": ("s3:GetBucketWebsite",),
    # The ranged GET also returns the retention and legal-hold headers when these are allowed.
    "s3.GetObject": ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:GetObjectLegalHold"),
    "s3.HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3.GetObjectAcl": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "s3.GetObjectTagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    # --inventory: the bucket's inventory configuration, and reading the inventory's destination
    "s3.ListBucketInventoryConfigurations": ("s3:GetInventoryConfiguration",),
    "inventory:s3.ListObjectsV2": ("s3:ListBucket",),
    "inventory:s3.GetObject": ("s3:GetObject",),
}

# Not called by the scanner but needed by S3 itself to serve a GET of an SSE-KMS object.
SERVICE_SIDE_ACTIONS: tuple[str, ...] = ("kms:Decrypt",)

_VERSIONED = {
    "s3.GetObject": "s3:GetObjectVersion",
    "s3.HeadObject": "s3:GetObjectVersion",
    "s3.GetObjectAcl": "s3:GetObjectVersionAcl",
    "s3.GetObjectTagging": "s3:GetObjectVersionTagging",
}


def required_action(operation: str, params: Mapping[str, Any] | None = None) -> str:
    """The one IAM action a call needs, e.g. 's3:GetBucketPolicy' for 's3.GetBucketPolicy'."""
    if params and params.get("VersionId") and operation in _VERSIONED:
        return _VERSIONED[operation]
    return OPERATION_ACTIONS[operation][0]


def denied(operation: str, params: Mapping[str, Any] | None = None) -> str:
    """Gap detail for an AccessDenied: names the permission that is missing."""
    try:
        return f"{required_action(operation, params)} denied"
    except KeyError:
        return f"{operation} denied"
