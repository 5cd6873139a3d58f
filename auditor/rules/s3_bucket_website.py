"""s3-bucket-website-hosting: static website hosting on a bucket that holds recordings."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    website = artifact.facts.get("website") or {}
    if not website.get("enabled") or not artifact.facts.get("recordings"):
        return
    public = bool(artifact.exposures)
    yield Hit(
        f"Static website hosting is enabled on a bucket holding {artifact.facts['recordings']} recording(s)"
        + (
            ": its objects are public and served over plain HTTP."
            if public
            else "; one public grant would serve them over plain HTTP."
        ),
        {"website": website, "bucket_public": public, "recordings": artifact.facts["recordings"]},
    )


RULE = Rule(
    id="s3-bucket-website-hosting",
    category="exposed",
    severity="high",
    title="S3 website hosting on a bucket with recordings",
    summary="website hosting is on and the bucket holds recordings",
    description=(
        "A bucket configured as a static website is meant to publish its content, over HTTP without TLS. Recordings "
        "have no place in it."
    ),
    remediation=(
        "Move the recordings to a private bucket, or remove the website configuration (s3api delete-bucket-website) "
        "and any public grants."
    ),
    applies_to=frozenset({"bucket"}),
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
