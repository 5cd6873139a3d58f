"""What the classifier says about one file, from its first few KiB."""

from __future__ import annotations

from dataclasses import dataclass

# How much of a file the caller reads for classification. 4 KiB covers every signature we check
# (ID3 tags and Matroska track headers included, for typical files) while staying "a few KiB".
HEAD_BYTES: int = 4096
# What classify() may read past the head through a RangeReader, at most, per file: hops over box
# and element headers to an index at the end, a zip's central directory, a slice of a member.
LOOK_FURTHER_BUDGET: int = 8192

KINDS: tuple[str, ...] = ("media", "transcript", "encrypted", "archive", "key", "other")
# The kinds a source turns into a recording artifact (an encrypted file only if its inner name
# or its attribution says it holds a session: the source decides that).
RECORDING_KINDS: frozenset[str] = frozenset({"media", "transcript", "encrypted", "archive"})


@dataclass(frozen=True)
class ArchiveMembers:
    """What an archive's listing says about its members (names only: nothing is extracted)."""

    listed: int  # members listed
    by_media: tuple[tuple[str, int], ...]  # recordings among them by kind: (("audio", 3), ...)
    encrypted: int  # recording members stored with the archive's encryption flag
    complete: bool  # the whole listing was read (False: the head or the budget cut it short)
    declared: int | None = None  # members the archive says it has, when that was read

    @property
    def recordings(self) -> int:
        return sum(n for _, n in self.by_media)

    def facts(self) -> dict[str, object]:
        """The summary as an artifact's `facts["archive"]` (counts and kinds only, never names)."""
        return {
            "members_listed": self.listed,
            "members_declared": self.declared,
            "recordings": self.recordings,
            "by_media": dict(self.by_media),
            "encrypted_recordings": self.encrypted,
            "listing": "complete" if self.complete else "partial",
        }


@dataclass(frozen=True)
class Classification:
    """What a file's bytes (and name, where they leave it open) say it is."""

    kind: str  # media | transcript | encrypted | archive | key | other
    media: str | None  # audio | video | transcript | None (for media: a kind the bytes do not settle)
    format: str | None  # wav, mp3, ..., webvtt, srt, openpgp, age, ..., pgp-private-key, ... (None for other)
    inner_name: str | None = None  # encrypted: the name of what is inside (x.m4a.gpg -> x.m4a)
    inner_media: str | None = None  # encrypted: audio | video | transcript implied by inner_name
    archive: ArchiveMembers | None = None  # archive: its recording members

    @property
    def is_recording(self) -> bool:
        """Media, transcripts, archives holding them, and encrypted files whose inner name says they hold one."""
        if self.kind in ("media", "transcript", "archive"):
            return True
        return self.kind == "encrypted" and self.inner_media is not None


OTHER = Classification(kind="other", media=None, format=None)
