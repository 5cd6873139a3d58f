"""recording-in-sync-folder: recording inside a cloud-sync folder."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.models import Artifact
from auditor.rules.base import Hit, Rule, RuleContext
from auditor.rules.helpers import ENCRYPTED_SEVERITY, exposure_hits

KINDS = ("sync-folder",)


def evaluate(artifact: Artifact, ctx: RuleContext) -> Iterator[Hit]:
    yield from exposure_hits(artifact, ctx, KINDS)


RULE = Rule(
    id="recording-in-sync-folder",
    category="exposed",
    severity="high",
    title="Recording inside a cloud-sync folder",
    summary="inside a Dropbox, OneDrive, Google Drive, iCloud Drive or Box folder (from the clients' settings or default folder names)",
    description="The file sits in a folder that a cloud-sync client (Dropbox, OneDrive, Google Drive, iCloud Drive, Box) uploads: the recording leaves the machine silently.",
    remediation="Move the recording out of the sync folder to encrypted local storage, and check the sync service's version history and trash, which keep copies.",
    params={"encrypted_severity": ENCRYPTED_SEVERITY},
    evaluate=evaluate,
    sources=frozenset({"local"}),
)
