"""s3-object-public: a recording in S3 that people outside the account can reach.

The exposures come from the S3 source: a bucket ACL granting AllUsers or AuthenticatedUsers
(which lets them list the keys), a bucket policy statement open to strangers (read, list, or
both: each exposure's evidence says which in `access`), or the object's own ACL. Block Public
Access settings that neutralise them (IgnorePublicAcls, RestrictPublicBuckets) were already applied.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ENCRYPTED_SEVERITY, exposure_hits

KINDS = ("public-acl", "public-policy", "authenticated-users-acl", "object-acl")


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from exposure_hits(artifact, ctx, KINDS)


RULE = Rule(
    id="s3-object-public",
    category="exposed",
    severity="high",
    title="Recording in S3 readable by people outside the account",
    summary="a recording in S3 is public through its ACL, the bucket's ACL or its policy (docs/s3.md)",
    description=(
        "A bucket ACL grants AllUsers or AuthenticatedUsers (they can list the keys), a bucket policy statement lets "
        "anyone read or list without a condition that pins the caller (source IP, VPC endpoint, organisation, "
        "account...), or the object's own ACL is public, and Block Public Access does not neutralise it. Server-side "
        "encryption does not help: S3 decrypts for every reader it lets in."
    ),
    remediation=(
        "Turn on Block Public Access for the bucket and the account (all four settings), remove the public grant or "
        "statement, set Object Ownership to BucketOwnerEnforced to disable ACLs, then check the server access logs or "
        "CloudTrail data events for downloads and assess a breach."
    ),
    params={"encrypted_severity": ENCRYPTED_SEVERITY},
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
