"""s3-bucket-public-access-block-off: a bucket holding recordings without all four Block Public Access settings."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ONLY_WITH_RECORDINGS, bucket_in_scope


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    pab = artifact.facts.get("public_access_block") or {}
    effective = pab.get("effective")
    if effective is None or not bucket_in_scope(artifact, ctx):
        return  # unknown (a denied call is a coverage gap), or out of scope
    off = [name for name, on in effective.items() if not on]
    if off:
        yield Hit(
            f"Block Public Access is not fully on for this bucket: {', '.join(off)} off at both the account and "
            "the bucket level, so one mistaken ACL or policy can publish its recordings.",
            {"off": off, "account": pab.get("account"), "bucket": pab.get("bucket")},
        )


RULE = Rule(
    id="s3-bucket-public-access-block-off",
    category="exposed",
    severity="medium",
    title="S3 Block Public Access not fully enabled",
    summary="not all four Block Public Access settings are in force",
    description=(
        "S3 applies the most restrictive combination of the account-level and bucket-level Block Public Access "
        "settings. Unless all four (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets) are "
        "on at one of the levels, a public ACL or policy can expose the recordings."
    ),
    remediation=(
        "Enable all four Block Public Access settings on the account (s3control put-public-access-block) or the "
        "bucket (s3api put-public-access-block)."
    ),
    applies_to=frozenset({"bucket"}),
    params={"only_with_recordings": ONLY_WITH_RECORDINGS},
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
