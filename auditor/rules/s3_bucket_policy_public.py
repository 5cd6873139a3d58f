"""s3-bucket-policy-public: a bucket holding recordings whose policy is public.

Either oracle saying "public" is enough: GetBucketPolicyStatus (S3's own evaluation, where the
store offers it) or the scanner's evaluator of AWS's published definition. The finding says which
said so and where they disagree. It is the bucket's finding: when the store says public but no
statement shows how, no object is flagged, because none can be tied to a statement.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ONLY_WITH_RECORDINGS, bucket_in_scope


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    policy = artifact.facts.get("policy") or {}
    if not policy.get("public") or policy.get("restricted_by") or not bucket_in_scope(artifact, ctx):
        return  # not public, unknown (a coverage gap says why), neutralised, or out of scope
    said_by = policy.get("public_said_by") or []
    who = " and ".join(
        "S3 (GetBucketPolicyStatus)" if s == "GetBucketPolicyStatus" else "the scanner's evaluator"
        for s in said_by
    )
    statements = [s.get("sid") or f"#{s.get('statement')}" for s in policy.get("public_statements") or []]
    message = f"The bucket policy is public according to {who}"
    message += (
        f" (statement {', '.join(statements)})." if statements else "; no statement was found that shows how."
    )
    if policy.get("disagreement"):
        message += f" The two disagree: {policy['disagreement']}."
    assumed = [
        s.get("sid") or f"#{s.get('statement')}"
        for s in policy.get("public_statements") or []
        if s.get("assumed_public")
    ]
    if assumed:
        message += (
            f" Statement {', '.join(assumed)} counts as public without proof: it is too complex to compare"
            " with the Deny statements, which may close it (see the policy-too-complex coverage gap)."
        )
    yield Hit(
        message,
        {
            "said_by": said_by,
            "store_says_public": policy.get("store_says_public"),
            "evaluator_says_public": policy.get("evaluator_says_public"),
            "disagreement": policy.get("disagreement"),
            "public_statements": policy.get("public_statements") or [],
        },
    )


RULE = Rule(
    id="s3-bucket-policy-public",
    category="exposed",
    severity="high",
    title="S3 bucket policy is public",
    summary="the store or the evaluator calls the bucket policy public, and `RestrictPublicBuckets` does not neutralise it",
    description=(
        "The bucket policy lets people outside any fixed set of principals, networks or accounts in, by AWS's "
        "definition of public, as S3's GetBucketPolicyStatus or the scanner's own evaluator found, and "
        "RestrictPublicBuckets does not neutralise it."
    ),
    remediation=(
        "Remove or pin the public statements (a fixed aws:SourceVpce, aws:PrincipalOrgID or principal), then turn on "
        "Block Public Access (RestrictPublicBuckets and BlockPublicPolicy) for the bucket and the account."
    ),
    applies_to=frozenset({"bucket"}),
    params={"only_with_recordings": ONLY_WITH_RECORDINGS},
    evaluate=evaluate,
)
