"""Which files a scan reads: the names-versus-content policy for text-like files.

Transcripts hide under the most common names there are (`.txt`, `.json`, `.docx`, `.tsv`,
`.xml`), and reading every such file would slow a scan of a code or document tree for little
gain. So a text-like file is read when there is a reason to expect a transcript:

1. it sits in a folder that holds a recording (found by content in the same folder: Zoom,
   Teams and Otter put the transcript beside the recording, Whisper writes its outputs there);
2. its name or one of its folders, from the scanned target down, says transcript (`transcript`,
   `caption`, `subtitle`, `cc`, `otter`, `whisper`, `dictation`, `scribe`, Zoom's
   `closed_caption`);
3. its path matches one of the config's `attribution.patterns` (a client/date name);
4. `--deep` is given: then every file is read.

Everything else keeps the old rule: the extension alone decides (see names.NO_SNIFF_EXTENSIONS).
What the default misses, and what it costs, is in docs/formats.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from auditor.classify.names import (
    AMBIGUOUS_MEDIA_EXTENSIONS,
    SIDECAR_SUFFIXES,
    extension,
    media_for_extension,
)

# Text-like extensions that are skipped unless the policy says read: transcripts' natural names.
TEXT_LIKE_EXTENSIONS: frozenset[str] = frozenset({"txt", "json", "docx", "tsv", "xml"})
# A transcript's name or folder, as meeting platforms, AI scribes and people name them. "cc" only
# as a word of its own (`cc.txt`, `meeting_cc`, `CC/`), never inside one ("accent", "occ").
TRANSCRIPT_HINT = re.compile(
    r"transcri|caption|subtitle|(?<![a-z0-9])cc(?![a-z0-9])|otter|whisper|dictat|scribe",
    re.IGNORECASE,
)


def is_text_like(name: str) -> bool:
    """A name the policy reads only with a reason (and never a sidecar: those are read as sidecars)."""
    return extension(name) in TEXT_LIKE_EXTENSIONS and not name.endswith(SIDECAR_SUFFIXES)


class ReadingPolicy:
    """The decisions for text-like files; cheap enough to ask once per such file walked."""

    __slots__ = ("deep", "patterns")

    def __init__(self, patterns: Sequence[re.Pattern[str]] = (), *, deep: bool = False) -> None:
        self.patterns = tuple(patterns)
        self.deep = deep

    def by_name(self, target_name: str, relpath: str) -> bool:
        """Rules 2 and 3: the file's name or a folder from the scanned target down (the target's own
        name included: scanning `Transcripts/` reads what is in it) looks like a transcript's, or
        `relpath` (what attribution patterns are written against) matches a client/date pattern.
        Folders above the target are not looked at: they say where the scan runs, not what it finds."""
        if TRANSCRIPT_HINT.search(relpath) or TRANSCRIPT_HINT.search(target_name):
            return True
        return any(p.search(relpath) for p in self.patterns)

    @staticmethod
    def recording_by_name(names: Iterable[str]) -> bool:
        """Rule 1 on names alone (watch events, and the walk before it sniffs): a neighbour named as
        audio or video (not .ts/.mts, which TypeScript projects are full of)."""
        for name in names:
            ext = extension(name)
            if ext not in AMBIGUOUS_MEDIA_EXTENSIONS and media_for_extension(ext) in ("audio", "video"):
                return True
        return False
