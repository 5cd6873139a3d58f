"""s3-bucket-access-logging-off: a bucket holding recordings with no server access logging."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ONLY_WITH_RECORDINGS, bucket_in_scope


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    logging = artifact.facts.get("access_logging")
    if logging is None or logging.get("enabled") or not bucket_in_scope(artifact, ctx):
        return
    yield Hit(
        "Server access logging is off: nobody can tell afterwards who read or deleted these recordings.",
        {"access_logging": logging},
    )


RULE = Rule(
    id="s3-bucket-access-logging-off",
    category="hygiene",
    severity="low",
    title="S3 server access logging disabled",
    summary="server access logging is off",
    description=(
        "Audit controls require a record of access to PHI. Without server access logs (or CloudTrail data events, "
        "which this tool does not check), a breach cannot be scoped."
    ),
    remediation=(
        "Enable server access logging to a separate, locked-down bucket (s3api put-bucket-logging), or enable "
        "CloudTrail data events for the bucket and suppress this finding with that reason."
    ),
    applies_to=frozenset({"bucket"}),
    params={"only_with_recordings": ONLY_WITH_RECORDINGS},
    evaluate=evaluate,
    sources=frozenset({"s3"}),
)
