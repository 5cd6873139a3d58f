"""EBML (Matroska, WebM): variable-length integers and a tolerant walk of the header elements.

The head usually holds the EBML header, the Segment's SeekHead, Info and Tracks, so DocType,
track types and DateUTC can be read without seeking. The walk stops at the first Cluster
(media data) and copes with elements cut off by the end of the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.classify.ranges import Bytes

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML = 0x1A45DFA3
_DOCTYPE = 0x4282
_SEGMENT = 0x18538067
_INFO = 0x1549A966
_DATE_UTC = 0x4461
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_VIDEO = 0xE0
_AUDIO = 0xE1
_CLUSTER = 0x1F43B675

TRACK_VIDEO = 1
TRACK_AUDIO = 2

_MASTERS = frozenset({_SEGMENT, _INFO, _TRACKS, _TRACK_ENTRY})
_LEAVES = frozenset({_TRACK_TYPE, _VIDEO, _AUDIO, _DATE_UTC})


def read_vint(buf: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length) of the variable-length integer at pos; None if malformed or cut off.

    Element IDs keep their length-marker bit; sizes drop it. An all-ones size means "unknown"
    and is returned as -1.
    """
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first & 0x80:  # one byte: by far the most common case, kept cheap
        if keep_marker:
            return first, 1
        return (-1 if first == 0xFF else first & 0x7F), 1
    if first == 0:
        return None  # longer than 8 bytes: not valid Matroska
    length = 9 - first.bit_length()
    if pos + length > len(buf):
        return None
    value = int.from_bytes(buf[pos : pos + length], "big")
    if keep_marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    if value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


@dataclass
class MatroskaHead:
    """What the head of a Matroska or WebM file says: its doctype and its kinds of track."""

    doctype: str | None = None
    track_types: list[int] = field(default_factory=list)
    saw_video_element: bool = False
    saw_audio_element: bool = False
    date_utc_ns: int | None = None  # nanoseconds since 2001-01-01T00:00:00Z
    seen_info: bool = False
    seen_tracks: bool = False
    tracks_complete: bool = False  # the whole Tracks element lay inside the head


def parse_head(head: bytes) -> MatroskaHead | None:
    """What the head tells about a Matroska/WebM file; None if it does not start with an EBML header."""
    if not head.startswith(EBML_MAGIC):
        return None
    found = MatroskaHead()
    _walk(head, 0, len(head), found, depth=0)
    return found


def _element(buf: bytes, pos: int) -> tuple[int, int, int] | None:
    """(id, body offset, body size or -1 if unknown) of the element at pos; one call per element
    because this loop dominates classification time for Matroska files."""
    element = read_vint(buf, pos, keep_marker=True)
    if element is None:
        return None
    sized = read_vint(buf, pos + element[1], keep_marker=False)
    if sized is None:
        return None
    return element[0], pos + element[1] + sized[1], sized[0]


def _walk(buf: bytes, pos: int, end: int, found: MatroskaHead, depth: int) -> bool:
    """Visit elements in buf[pos:end]; returns False to stop everything (Cluster reached, or done)."""
    limit = len(buf)
    while pos < end:
        header = _element(buf, pos)
        if header is None:
            return True
        element_id, body, size = header
        body_end = limit if size < 0 else body + size
        if element_id in _LEAVES:
            if element_id == _TRACK_TYPE and body_end <= limit:
                found.track_types.append(int.from_bytes(buf[body:body_end], "big"))
            elif element_id == _VIDEO:
                found.saw_video_element = True
            elif element_id == _AUDIO:
                found.saw_audio_element = True
            elif element_id == _DATE_UTC and size == 8 and body_end <= limit:
                found.date_utc_ns = int.from_bytes(buf[body:body_end], "big", signed=True)
        elif element_id in _MASTERS and depth < 4:
            if not _walk(buf, body, min(body_end, limit), found, depth + 1):
                return False
            found.seen_info |= element_id == _INFO
            if element_id == _TRACKS:
                found.seen_tracks = True
                found.tracks_complete = size >= 0 and body_end <= limit
            if found.seen_info and found.seen_tracks:
                return False  # all we use is known: skip the rest (tags, cues, ...)
        elif element_id == _EBML and depth == 0:
            found.doctype = _doctype(buf, body, min(body_end, limit))
        elif element_id == _CLUSTER:
            return False
        pos = body_end
    return True


def _doctype(buf: bytes, pos: int, end: int) -> str | None:
    while pos < end:
        header = _element(buf, pos)
        if header is None or header[2] < 0:
            return None
        element_id, body, size = header
        if element_id == _DOCTYPE:
            return buf[body : body + size].rstrip(b"\x00").decode("ascii", "replace")
        pos = body + size
    return None


def _element_at(source: Bytes, pos: int) -> tuple[int, int, int] | None:
    """_element() for an element header that may lie beyond the head (at most 12 bytes read)."""
    if pos + 2 <= len(source.head):
        header = _element(source.head, pos)
        if header is not None:
            return header
    data = source.upto(pos, 12)
    if data is None:
        return None
    header = _element(data, 0)
    return (header[0], pos + header[1], header[2]) if header is not None else None


def track_types(source: Bytes) -> list[int] | None:
    """Every TrackType of the Segment's Tracks, hopping element headers through source (so the
    Tracks element may run past the head); None when they could not all be read."""
    header = _element_at(source, 0)
    if header is None or header[0] != _EBML or header[2] < 0:
        return None
    segment = _element_at(source, header[1] + header[2])
    if segment is None or segment[0] != _SEGMENT:
        return None
    segment_end = source.size if segment[2] < 0 else min(source.size, segment[1] + segment[2])
    pos = segment[1]
    while pos < segment_end:
        child = _element_at(source, pos)
        if child is None or child[2] < 0 or child[0] == _CLUSTER:
            return None  # Tracks must come before the media data to be found this way
        element_id, body, size = child
        if element_id == _TRACKS:
            return _entries_track_types(source, body, body + size)
        pos = body + size
    return None


def _entries_track_types(source: Bytes, pos: int, end: int) -> list[int] | None:
    types: list[int] = []
    while pos < end:
        entry = _element_at(source, pos)
        if entry is None or entry[2] < 0:
            return None
        element_id, body, size = entry
        if element_id == _TRACK_ENTRY:
            track_type = _track_type(source, body, body + size)
            if track_type is None:
                return None
            types.append(track_type)
        pos = body + size
    return types


def _track_type(source: Bytes, pos: int, end: int) -> int | None:
    while pos < end:
        child = _element_at(source, pos)
        if child is None or child[2] < 0:
            return None
        element_id, body, size = child
        if element_id == _TRACK_TYPE:
            value = source.get(body, size) if 0 < size <= 8 else None
            return int.from_bytes(value, "big") if value is not None else None
        pos = body + size  # CodecPrivate and the like: hopped, never read
    return None
