"""s3-bucket-tls-not-enforced: a bucket holding recordings whose policy does not refuse plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ONLY_WITH_RECORDINGS, bucket_in_scope


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    policy = artifact.facts.get("policy")
    # tls_only None: the policy was too complex to tell (a coverage gap), so it is not judged.
    if policy is None or policy.get("tls_only") is not False or not bucket_in_scope(artifact, ctx):
        return
    yield Hit(
        "The bucket policy does not deny requests made without TLS (no Deny with aws:SecureTransport false), so "
        "recordings can travel unencrypted.",
        {"policy_present": policy.get("present")},
    )


RULE = Rule(
    id="s3-bucket-tls-not-enforced",
    category="hygiene",
    severity="medium",
    title="S3 bucket does not enforce TLS",
    summary="no `Deny` on `aws:SecureTransport = false` covering every object",
    description=(
        "Without a Deny statement on aws:SecureTransport = false covering every object, clients may read and write "
        "recordings over plain HTTP."
    ),
    remediation=(
        'Add a statement: {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::BUCKET", '
        '"arn:aws:s3:::BUCKET/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.'
    ),
    applies_to=frozenset({"bucket"}),
    params={"only_with_recordings": ONLY_WITH_RECORDINGS},
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
