"""recording-encryption-unknown: the tool cannot tell whether the recording is encrypted at rest."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    if artifact.encrypted is None:
        yield Hit(
            "Cannot tell whether this recording is encrypted at rest: its content is plain media and the volume's "
            "encryption could not be determined.",
            {"encryption": artifact.encryption, "volume": artifact.facts.get("volume", {})},
        )


RULE = Rule(
    id="recording-encryption-unknown",
    category="unencrypted",
    severity="medium",
    title="Encryption at rest cannot be established",
    summary="the volume's encryption cannot be established",
    description=(
        "The recording is plain media and the volume it sits on could not be identified as encrypted or not "
        "(e.g. a network or overlay filesystem). The tool never assumes encryption."
    ),
    remediation=(
        "Confirm the storage is encrypted and list it under encryption.trusted_volumes in auditor.yaml, or "
        "encrypt the file itself."
    ),
    evaluate=evaluate,
)
