"""recording-unencrypted: a recording whose content is readable without a key."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from auditor.encryption import Encryption
from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext

# What each `encryption.s3_minimum` accepts.
_S3_ACCEPTS: dict[str, Callable[[Encryption], bool]] = {
    "sse-s3": lambda e: e.of_content or e.by_server,
    "sse-kms": lambda e: e.of_content or e.with_kms,
    "client-side": lambda e: e.of_content,
}


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    if artifact.at_rest == "server-side":
        if artifact.encrypted is None:
            return  # not known to be below the minimum: recording-encryption-unknown reports it
        minimum = ctx.config.encryption.s3_minimum
        if not _S3_ACCEPTS[minimum](artifact.encryption_kind):
            yield Hit(
                f"Recording is stored with encryption '{artifact.encryption}', below the required {minimum}.",
                {"encryption": artifact.encryption, "required": minimum},
            )
        return
    if artifact.encrypted is False:
        if artifact.at_rest == "volume":
            volume = artifact.facts.get("volume", {})
            yield Hit(
                "Recording is stored unencrypted: its content is not encrypted and its volume is not encrypted.",
                {"encryption": artifact.encryption, "volume": volume, "format": artifact.format},
            )
        else:  # a source that says nothing about its store: judged on the artifact alone
            yield Hit(
                "Recording is stored unencrypted: its content is not encrypted and its store does not "
                "encrypt it at rest.",
                {"encryption": artifact.encryption, "format": artifact.format},
            )


RULE = Rule(
    id="recording-unencrypted",
    category="unencrypted",
    severity="high",
    title="Recording stored without encryption at rest",
    summary="content not encrypted and volume not encrypted (S3: SSE below `encryption.s3_minimum`)",
    description=(
        "The recording's content is not encrypted (OpenPGP, age, OpenSSL, encrypted ZIP) and it does not sit on an "
        "encrypted volume (LUKS/dm-crypt, fscrypt, eCryptfs, gocryptfs, cryfs, FileVault, BitLocker) or a trusted "
        "volume named in the config. In S3, its server-side encryption is below encryption.s3_minimum."
    ),
    remediation=(
        "Encrypt the recording (e.g. `age -r RECIPIENT -o file.m4a.age file.m4a` or `gpg -e`), keep the key apart from "
        "it, then securely delete the plaintext; or move it to an encrypted volume. If an equivalent safeguard is "
        "documented (HIPAA 164.306(d)(3)), record it as a suppression with its reason."
    ),
    evaluate=evaluate,
)
