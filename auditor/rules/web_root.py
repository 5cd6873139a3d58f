"""recording-in-shared-location: recording under a web root or network share."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ENCRYPTED_SEVERITY, exposure_hits

KINDS = (
    "web-root",
    "network-share",
)


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from exposure_hits(artifact, ctx, KINDS)


RULE = Rule(
    id="recording-in-shared-location",
    category="exposed",
    severity="high",
    title="Recording under a web root or network share",
    summary="under a configured web root or network share, or a Samba/NFS export",
    description="The file sits under a web server's document root or a network share, where others can fetch it.",
    remediation="Move the recording out of the web root or share immediately, check the server's access logs for downloads, and assess a breach.",
    params={"encrypted_severity": ENCRYPTED_SEVERITY},
    evaluate=evaluate,
    sources=frozenset({"local"}),
)
