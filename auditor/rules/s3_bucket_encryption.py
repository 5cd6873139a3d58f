"""s3-bucket-default-encryption-off: a bucket holding recordings with no default encryption."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ONLY_WITH_RECORDINGS, bucket_in_scope


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    if artifact.encrypted is not False or not bucket_in_scope(artifact, ctx):
        return  # encrypted, or unknown (a denied call is a coverage gap)
    yield Hit(
        "The bucket has no default encryption: new recordings are stored without server-side encryption unless "
        "each upload asks for it.",
        {"default_encryption": artifact.facts.get("default_encryption")},
    )


RULE = Rule(
    id="s3-bucket-default-encryption-off",
    category="unencrypted",
    severity="medium",
    title="S3 bucket without default encryption",
    summary="the bucket has no default encryption",
    description=(
        "AWS encrypts new objects with SSE-S3 by default since January 2023; S3-compatible servers and older "
        "configurations may not. A bucket without default encryption relies on every client to ask for it."
    ),
    remediation=(
        "Set default encryption (s3api put-bucket-encryption), preferably SSE-KMS with a customer-managed key, then "
        "re-encrypt existing objects in place (copy-object onto itself)."
    ),
    applies_to=frozenset({"bucket"}),
    params={"only_with_recordings": ONLY_WITH_RECORDINGS},
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
