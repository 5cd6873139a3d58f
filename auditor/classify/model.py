"""What the classifier says about one file, from its first few KiB."""

from __future__ import annotations

from dataclasses import dataclass

# How much of a file the caller reads for classification. 4 KiB covers every signature we check
# (ID3 tags and Matroska track headers included, for typical files) while staying "a few KiB".
HEAD_BYTES: int = 4096

KINDS: tuple[str, ...] = ("media", "transcript", "encrypted", "key", "other")


@dataclass(frozen=True)
class Classification:
    kind: str  # media | transcript | encrypted | key | other
    media: str | None  # audio | video | transcript | None
    format: str | None  # wav, mp3, ..., webvtt, srt, openpgp, age, ..., pgp-private-key, ... (None for other)
    inner_name: str | None = None  # encrypted: the name of what is inside (x.m4a.gpg -> x.m4a)
    inner_media: str | None = None  # encrypted: audio | video | transcript implied by inner_name

    @property
    def is_recording(self) -> bool:
        """Media and transcripts, and encrypted files whose inner name says they hold one."""
        if self.kind in ("media", "transcript"):
            return True
        return self.kind == "encrypted" and self.inner_media is not None


OTHER = Classification(kind="other", media=None, format=None)
