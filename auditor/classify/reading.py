"""Which files a scan reads: the names-versus-content policy for text-like files.

Transcripts hide under the most common names there are (`.txt`, `.json`, `.docx`, `.tsv`,
`.xml`), and reading every such file would slow a scan of a code or document tree for little
gain. So a text-like file is read when there is a reason to expect a transcript:

1. it carries the name of a recording beside it (`session-0305.json` beside `session-0305.m4a`,
   Whisper's `x.wav.json` beside `x.wav`, Teams' `Meeting Recording.docx` beside its `.mp4`): the
   recording found by content in the same folder, or named as audio or video. The tools that
   write a transcript next to a recording name it after the recording;
2. its name or one of its folders, from the scanned target down, says transcript (`transcript`,
   `caption`, `subtitle`, `cc`, `otter`, `whisper`, `dictation`, `scribe`, Zoom's
   `closed_caption`);
3. its path matches one of the config's `attribution.patterns` (a client/date name);
4. `--deep` is given: then every file is read.

Everything else keeps the old rule: the extension alone decides (see names.NO_SNIFF_EXTENSIONS).
A `.ts`/`.mts` file is TypeScript or an MPEG transport stream, and only its content tells (one
head read): it is read wherever it lies, except under a `node_modules` folder, which a package
manager fills and no camera or stream recorder writes into. A folder of TypeScript beside
JavaScript is read all the same: a Downloads folder with a script in it may hold a camcorder's
`.MTS`, and telling them apart by neighbours missed such recordings.
What the default misses, and what it costs, is in docs/formats.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from auditor.classify.names import (
    AMBIGUOUS_MEDIA_EXTENSIONS,
    CRYPTO_SUFFIXES,
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
# The same test for ASCII text, about ten times faster (this runs for every text-like file walked):
# lower-cased, the words are plain substrings; for ASCII, IGNORECASE means exactly that.
_CC_WORD = re.compile(r"(?<![a-z0-9])cc(?![a-z0-9])")


def transcript_hint(text: str) -> bool:
    """Whether `text` (a name or a path) says transcript: TRANSCRIPT_HINT.search, made fast."""
    if not text.isascii():  # Unicode case folding ("ſ" is an "s"): the regular expression decides
        return TRANSCRIPT_HINT.search(text) is not None
    low = text.lower()
    # TRANSCRIPT_HINT's words, one test each: any() over a generator of them cost more than the tests.
    return (
        "transcri" in low
        or "caption" in low
        or "subtitle" in low
        or "otter" in low
        or "whisper" in low
        or "dictat" in low
        or "scribe" in low
        or ("cc" in low and _CC_WORD.search(low) is not None)
    )


def is_text_like(name: str) -> bool:
    """A name the policy reads only with a reason (and never a sidecar: those are read as sidecars)."""
    return extension(name) in TEXT_LIKE_EXTENSIONS and not name.endswith(SIDECAR_SUFFIXES)


class ReadingPolicy:
    """The decisions for text-like files; cheap enough to ask once per such file walked."""

    __slots__ = ("_targets", "deep", "patterns")

    def __init__(self, patterns: Sequence[re.Pattern[str]] = (), *, deep: bool = False) -> None:
        self.patterns = tuple(patterns)
        self.deep = deep
        self._targets: dict[str, bool] = {}  # target name -> transcript_hint, asked once per scan

    def by_name(self, target_name: str, relpath: str) -> bool:
        """Rules 2 and 3: the file's name or a folder from the scanned target down (the target's own
        name included: scanning `Transcripts/` reads what is in it) looks like a transcript's, or
        `relpath` (what attribution patterns are written against) matches a client/date pattern.
        Folders above the target are not looked at: they say where the scan runs, not what it finds."""
        if self._target_hint(target_name) or transcript_hint(relpath):
            return True
        return any(p.search(relpath) for p in self.patterns)

    def folder_hint(self, target_name: str, rel_prefix: str) -> bool:
        """Rule 2 for every file of one folder at once: the target's name or `rel_prefix` ("" or
        folders ending in os.sep) says transcript. No hint word holds a separator, and one is a word
        boundary, so a hint in `rel_prefix + name` lies in one or the other: asked once per folder
        instead of once per text-like file (by_name_among() asks the names). Patterns are not
        split so: one may span both."""
        return self._target_hint(target_name) or (bool(rel_prefix) and transcript_hint(rel_prefix))

    def by_name_among(self, rel_prefix: str, names: Sequence[str]) -> set[str]:
        """The names of one folder (below `rel_prefix`, its folder_hint() False) that by_name()
        reads: the name says transcript, or `rel_prefix + name` matches a client/date pattern.
        Made fast for the common folder where no name says transcript: the hint words are looked
        for once in the names joined by NUL, which no name holds. No hint word holds it either, and
        it is no letter or digit, so a word is in the joined text exactly when it is in one of the
        names (the "cc" word's boundaries included)."""
        found = {n for n in names if transcript_hint(n)} if transcript_hint("\0".join(names)) else set()
        if self.patterns:
            patterns = self.patterns
            for name in names:
                if name not in found:
                    relpath = rel_prefix + name
                    for pattern in patterns:  # a loop, not any(): this runs per text-like file
                        if pattern.search(relpath):
                            found.add(name)
                            break
        return found

    def _target_hint(self, target_name: str) -> bool:
        hint = self._targets.get(target_name)
        if hint is None:
            hint = self._targets[target_name] = transcript_hint(target_name)
        return hint

    @staticmethod
    def named_recordings(names: Iterable[str]) -> list[str]:
        """The stems of the neighbours named as audio or video (not .ts/.mts, which TypeScript
        projects are full of): rule 1 on names alone (watch events, and the walk before it sniffs)."""
        stems = []
        for name in names:
            ext = extension(name)
            if ext not in AMBIGUOUS_MEDIA_EXTENSIONS and media_for_extension(ext) in ("audio", "video"):
                stems.append(stem(name))
        return stems


_MIN_STEM = 3  # "a.txt" is named after nothing


def stem(name: str) -> str:
    """A name without its extensions, as far as they are media, transcript, text or encryption ones:
    `x.wav.json` -> `x`, `Meeting Recording.mp4` -> `meeting recording` (lower case)."""
    base = name.lower()
    while True:
        dot = base.rfind(".")
        if dot <= 0:
            return base
        ext = base[dot + 1 :]
        if not (ext in TEXT_LIKE_EXTENSIONS or ext in CRYPTO_SUFFIXES or media_for_extension(ext)):
            return base
        base = base[:dot]


def named_after(name: str, recording_stems: Sequence[str]) -> bool:
    """Rule 1: the text file's stem and a recording's stem are the same, or one begins the other
    (`session-0305 transcript.txt` and `session-0305.m4a`; `zoom_0.mp4` and `zoom_0.txt`)."""
    own = stem(name)
    if len(own) < _MIN_STEM:
        return False
    for other in recording_stems:  # a loop, not any(): this runs per text file beside recordings
        if len(other) >= _MIN_STEM and (own.startswith(other) or other.startswith(own)):
            return True
    return False


def named_after_any(names: Iterable[str], recording_stems: Sequence[str]) -> set[str]:
    """The `names` named_after() one of `recording_stems`, for a folder's text-like files at once.
    Two stems match only if one begins the other and both have at least _MIN_STEM characters, so
    they share their first _MIN_STEM: a name whose start no recording stem shares is not named
    after one, and is settled without computing its stem. (A stem is the lower-cased name less
    some extensions, so its start is the name's start lower-cased, for an ASCII start.)"""
    heads = {other[:_MIN_STEM] for other in recording_stems if len(other) >= _MIN_STEM}
    if not heads:
        return set()
    found = set()
    for name in names:
        start = name[:_MIN_STEM]
        if start.isascii() and start.lower() not in heads:
            continue
        if named_after(name, recording_stems):
            found.add(name)
    return found


_AMBIGUOUS_SUFFIXES = tuple(f".{ext}" for ext in sorted(AMBIGUOUS_MEDIA_EXTENSIONS))


def is_ambiguous_script(name: str) -> bool:
    """A .ts or .mts name: TypeScript or an MPEG transport stream."""
    return name.lower().endswith(_AMBIGUOUS_SUFFIXES)


def in_node_modules(path: str) -> bool:
    """Is the folder at `path` inside a `node_modules` folder (one of its names exactly that)?
    A .ts/.mts file there is a package's TypeScript; `node_modules-old` or `my_node_modules` are
    folders like any other."""
    return "node_modules" in path and "node_modules" in path.split(os.sep)
