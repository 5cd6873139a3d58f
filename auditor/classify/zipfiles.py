"""Zip files: archives of recordings, password-protected ones, and DOCX transcripts.

A zip lists its members in the central directory at the end of the file. With a RangeReader,
one small ranged read of the tail finds it (the end-of-central-directory record, Zip64 too),
and the listing is read within the budget; without one, only the local headers that the head
holds are seen. Nothing is extracted: member names decide, except for a DOCX, where the start
of word/document.xml is inflated from a bounded slice and searched for transcript turns.

- some recording members stored without encryption: an archive of recordings (kind "archive");
- every recording member encrypted: "zip-encrypted", its inner name the first such member;
- Office/OpenDocument packages are documents; a DOCX whose text has speaker turns is a transcript.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass

from auditor.classify.crypto import encrypted_classification
from auditor.classify.model import ArchiveMembers, Classification
from auditor.classify.names import (
    AMBIGUOUS_MEDIA_EXTENSIONS,
    extension,
    media_for_extension,
    strip_crypto_suffixes,
)
from auditor.classify.ranges import Bytes
from auditor.classify.transcripts import has_speaker_turns

LOCAL_HEADER = b"PK\x03\x04"
_CENTRAL_HEADER = b"PK\x01\x02"
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_TAIL_BYTES = 2048  # the end record (and, for a small zip, the whole directory) in one read
_DOCUMENT_SLICE = 4096  # compressed bytes of word/document.xml inflated at most
_INFLATED_MAX = 64 * 1024
_ENCRYPTED_FLAG = 0x0001
_UTF8_FLAG = 0x0800
_PACKAGE_MARKERS = ("[Content_Types].xml", "mimetype", "META-INF/MANIFEST.MF", "AndroidManifest.xml")


@dataclass(frozen=True)
class Member:
    """One entry of a zip's central directory: its name, flags, method and sizes."""

    name: str
    flags: int
    method: int
    compressed: int
    local_offset: int  # -1 when listed from a local header in the head
    data_offset: int = -1  # known for members listed from their local header


def _decode_name(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & _UTF8_FLAG else "cp437", "replace")


def local_members(head: bytes) -> list[Member]:
    """Members whose local headers lie in head, hopping from one to the next (stops at a member
    whose sizes follow its data, since then the next header cannot be found)."""
    members: list[Member] = []
    pos = 0
    while head.startswith(LOCAL_HEADER, pos) and pos + 30 <= len(head):
        flags = int.from_bytes(head[pos + 6 : pos + 8], "little")
        method = int.from_bytes(head[pos + 8 : pos + 10], "little")
        compressed = int.from_bytes(head[pos + 18 : pos + 22], "little")
        name_len = int.from_bytes(head[pos + 26 : pos + 28], "little")
        extra_len = int.from_bytes(head[pos + 28 : pos + 30], "little")
        raw_name = head[pos + 30 : pos + 30 + name_len]
        if len(raw_name) < name_len:
            break
        data = pos + 30 + name_len + extra_len
        members.append(Member(_decode_name(raw_name, flags), flags, method, compressed, -1, data))
        if flags & 0x0008:  # sizes follow the data: cannot hop to the next header
            break
        pos = data + compressed
    return members


def _directory_location(more: Bytes) -> tuple[int, int, int, bytes, int] | None:
    """(entries, directory size, directory offset, tail, tail offset) from the end record."""
    tail_at = max(0, more.size - _TAIL_BYTES)
    tail = more.upto(tail_at, _TAIL_BYTES)
    if tail is None:
        return None
    end = tail.rfind(_END_RECORD)
    if end < 0 or end + 22 > len(tail):
        return None  # a comment longer than the tail read, or not a zip after all
    record = tail[end : end + 22]
    entries = int.from_bytes(record[10:12], "little")
    size = int.from_bytes(record[12:16], "little")
    offset = int.from_bytes(record[16:20], "little")
    if 0xFFFF in (entries,) or 0xFFFFFFFF in (size, offset):  # Zip64: the real values are elsewhere
        locator = tail[end - 20 : end] if end >= 20 else b""
        if not locator.startswith(_ZIP64_LOCATOR):
            return None
        record64 = more.get(int.from_bytes(locator[8:16], "little"), 56)
        if record64 is None or not record64.startswith(_ZIP64_END_RECORD):
            return None
        entries = int.from_bytes(record64[32:40], "little")
        size = int.from_bytes(record64[40:48], "little")
        offset = int.from_bytes(record64[48:56], "little")
    return entries, size, offset, tail, tail_at


def central_members(more: Bytes, keep_for_document: int = 0) -> tuple[list[Member], int] | None:
    """The members the central directory lists (as many as the budget lets us read) and how many
    it declares; None without a directory in reach. `keep_for_document` bytes of budget are left
    for reading a member."""
    located = _directory_location(more)
    if located is None:
        return None
    entries, size, offset, tail, tail_at = located
    if offset + size > more.size:
        return None
    if offset >= tail_at:
        directory = tail[offset - tail_at : offset - tail_at + size]
    else:
        room = max(0, more.budget - keep_for_document)
        directory = more.upto(offset, min(size, room)) or b""
    members: list[Member] = []
    pos = 0
    while len(members) < entries and pos + 46 <= len(directory):
        if directory[pos : pos + 4] != _CENTRAL_HEADER:
            return None
        flags = int.from_bytes(directory[pos + 8 : pos + 10], "little")
        method = int.from_bytes(directory[pos + 10 : pos + 12], "little")
        compressed = int.from_bytes(directory[pos + 20 : pos + 24], "little")
        name_len = int.from_bytes(directory[pos + 28 : pos + 30], "little")
        extra_len = int.from_bytes(directory[pos + 30 : pos + 32], "little")
        comment_len = int.from_bytes(directory[pos + 32 : pos + 34], "little")
        local = int.from_bytes(directory[pos + 42 : pos + 46], "little")
        raw_name = directory[pos + 46 : pos + 46 + name_len]
        if len(raw_name) < name_len:
            break
        members.append(Member(_decode_name(raw_name, flags), flags, method, compressed, local))
        pos += 46 + name_len + extra_len + comment_len
    return members, entries


def _member_media(name: str) -> str | None:
    inner = strip_crypto_suffixes(name)
    ext = extension(inner)
    return None if ext in AMBIGUOUS_MEDIA_EXTENSIONS else media_for_extension(ext)


# --- DOCX ------------------------------------------------------------------------------------------
_PARAGRAPH_END = re.compile(rb"</w:p>")
_RUN_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|<w:(tab|br|cr)\b[^>]*/>")


def _document_lines(more: Bytes, member: Member) -> list[str] | None:
    """The first paragraphs of word/document.xml, one line each, from a bounded slice."""
    if member.method not in (0, 8) or member.flags & _ENCRYPTED_FLAG:
        return None
    data_at = member.data_offset
    if data_at < 0:  # listed by the central directory: its local header says where the data starts
        header = more.get(member.local_offset, 30)
        if header is None or not header.startswith(LOCAL_HEADER):
            return None
        names = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        data_at = member.local_offset + 30 + names
    length = min(member.compressed or _DOCUMENT_SLICE, _DOCUMENT_SLICE)
    if data_at + length > len(more.head):  # past the head: as much as the budget allows
        length = min(length, max(more.budget, len(more.head) - data_at))
    data = more.upto(data_at, length)
    if not data:
        return None
    if member.method == 8:
        try:
            xml = zlib.decompressobj(-15).decompress(data, _INFLATED_MAX)
        except zlib.error:
            return None
    else:
        xml = data[:_INFLATED_MAX]
    import html  # here: only a .docx's text needs it, and start-up stays light

    paragraphs = _PARAGRAPH_END.split(xml)[:-1]  # the last one may be cut
    lines: list[str] = []
    for paragraph in paragraphs:
        parts = []
        for text, tag in _RUN_TEXT.findall(paragraph):
            parts.append(text.decode("utf-8", "replace") if not tag else ("\t" if tag == b"tab" else "\n"))
        lines.extend(html.unescape("".join(parts)).split("\n"))
    return lines


def _docx(more: Bytes, members: list[Member]) -> Classification | None:
    document = next((m for m in members if m.name == "word/document.xml"), None)
    if document is None:
        return None
    lines = _document_lines(more, document)
    if lines is None or not has_speaker_turns(lines):
        return None
    return Classification(kind="transcript", media="transcript", format="docx-transcript")


# --- classification -----------------------------------------------------------------------------
_MEDIA_ORDER = ("video", "audio", "transcript")  # what an archive "is", by its weightiest member


def classify_zip(head: bytes, name: str, more: Bytes) -> Classification | None:
    """A zip's classification by its members (see the module docstring), or None for a zip of
    documents, code or pictures (and for anything that is not a zip). A zip of no recordings
    whose listing could not be read in full is kind "other" with its partial `archive` summary,
    so that the caller can say what was left unseen."""
    if not head.startswith(LOCAL_HEADER):
        return None
    listing = central_members(more, keep_for_document=_DOCUMENT_SLICE + 64) if more.reader else None
    if listing is None:
        members = local_members(head)
        declared = len(members) if more.whole_file_in_head else None
    else:
        members, declared = listing
    names = {m.name for m in members}
    if any(marker in names for marker in _PACKAGE_MARKERS):
        return _docx(more, members) if "word/document.xml" in names else None
    recordings = [(m, media) for m in members if (media := _member_media(m.name)) is not None]
    counts = Counter(media for _, media in recordings)
    locked = [m for m, _ in recordings if m.flags & _ENCRYPTED_FLAG]
    summary = ArchiveMembers(
        listed=len(members),
        by_media=tuple((media, counts[media]) for media in _MEDIA_ORDER if counts[media]),
        encrypted=len(locked),
        complete=declared is not None and len(members) >= declared,
        declared=declared,
    )
    if not recordings:
        encrypted = next((m for m in members if m.flags & _ENCRYPTED_FLAG), None)
        if encrypted is not None:
            return encrypted_classification("zip-encrypted", name, inner=encrypted.name)
        return None if summary.complete else Classification("other", None, "zip", archive=summary)
    if len(locked) == len(recordings):
        return encrypted_classification("zip-encrypted", name, inner=locked[0].name)
    main = next(media for media in _MEDIA_ORDER if counts[media])
    return Classification(kind="archive", media=main, format="zip", archive=summary)
