"""A recording's creation time as written inside its container (for consent/retention rules).

Reads the head the caller already has, plus at most `budget` more bytes through a RangeReader:
only box/chunk/frame headers to hop over media data, then the few bytes holding the date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from auditor.classify import ebml, isobmff
from auditor.classify.ranges import Bytes, RangeReader

_MP4_EPOCH = datetime(1904, 1, 1, tzinfo=UTC)
_MATROSKA_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
_ISO_FORMATS = frozenset({"mp4", "m4a", "mov", "3gp"})
_MATROSKA_FORMATS = frozenset({"webm", "matroska"})
_ASF_FORMATS = frozenset({"wma", "wmv", "asf"})


def embedded_created(
    fmt: str, head: bytes, reader: RangeReader | None, budget: int = 4096
) -> datetime | None:
    """The container's own creation time (UTC), or None when it has none, says 0, or is out of reach."""
    source = Bytes(bytes(head), reader, budget)
    if fmt in _ISO_FORMATS:
        return _mp4_created(source)
    if fmt in _MATROSKA_FORMATS:
        return _matroska_created(source.head)
    if fmt == "wav":
        return _wav_created(source)
    if fmt == "avi":
        return _avi_created(source)
    if fmt in _ASF_FORMATS:
        return _asf_created(source)
    if fmt in ("mp3", "aac") and source.head.startswith(b"ID3"):
        return _id3_created(source)
    return None


# --- MP4 / MOV / M4A / 3GP: moov/mvhd creation_time (seconds since 1904) --------------------------
def _mp4_created(source: Bytes) -> datetime | None:
    moov = isobmff.top_level(source, b"moov")
    return _mvhd_created(source, moov) if moov is not None else None


def _mvhd_created(source: Bytes, moov: isobmff.Box) -> datetime | None:
    pos = moov.start + moov.header
    end = moov.start + moov.size
    while pos < end:
        child = isobmff.box_at(source, pos, end)
        if child is None:
            return None
        if child.type == b"mvhd":
            body = source.get(child.start + child.header, 12)  # version+flags, creation (4 or 8 bytes)
            if body is None:
                return None
            width = 8 if body[0] == 1 else 4
            seconds = int.from_bytes(body[4 : 4 + width], "big")
            return _after_epoch(_MP4_EPOCH, seconds=seconds) if seconds else None
        pos += child.size
    return None


def _after_epoch(epoch: datetime, seconds: float) -> datetime | None:
    try:
        return epoch + timedelta(seconds=seconds)
    except OverflowError:
        return None


# --- Matroska / WebM: Segment/Info/DateUTC (ns since 2001) ----------------------------------------
def _matroska_created(head: bytes) -> datetime | None:
    parsed = ebml.parse_head(head)
    if parsed is None or not parsed.date_utc_ns:
        return None
    return _after_epoch(_MATROSKA_EPOCH, seconds=parsed.date_utc_ns / 1e9)


# --- WAV: bext OriginationDate/Time, else LIST/INFO/ICRD ------------------------------------------
_BEXT_DATE_OFFSET = 320  # Description 256 + Originator 32 + OriginatorReference 32
_MAX_LIST_READ = 2048
_DATE_TEXT = re.compile(
    r"\s*(\d{4})[-/.:_ ]?(\d{2})[-/.:_ ]?(\d{2})(?:[T ,]+(\d{2})[:._-]?(\d{2})(?:[:._-]?(\d{2}))?)?"
)


def _date_from_text(text: str) -> datetime | None:
    """A full date (optionally with time) at the start of text; year-only dates are too coarse."""
    match = _DATE_TEXT.match(text)
    if match is None:
        return None
    parts = [int(p) if p else 0 for p in match.groups()]
    try:
        return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=UTC)
    except ValueError:
        return None


def _wav_created(source: Bytes) -> datetime | None:
    riff = source.get(0, 12)
    if riff is None or riff[8:12] != b"WAVE":
        return None
    rf64_data_size: int | None = None
    icrd: datetime | None = None
    pos = 12
    while True:
        header = source.get(pos, 8)
        if header is None:
            break
        chunk_id, size = header[0:4], int.from_bytes(header[4:8], "little")
        body = pos + 8
        if chunk_id == b"ds64":
            sizes = source.get(body, 16)
            rf64_data_size = int.from_bytes(sizes[8:16], "little") if sizes else None
        elif chunk_id == b"data" and size == 0xFFFFFFFF and rf64_data_size is not None:
            size = rf64_data_size
        elif chunk_id == b"bext":
            stamp = source.get(body + _BEXT_DATE_OFFSET, 18)
            found = _bext_stamp(stamp) if stamp else None
            if found is not None:
                return found  # bext carries a time of day; prefer it over ICRD
        elif chunk_id == b"LIST" and icrd is None and size <= _MAX_LIST_READ:
            listed = source.get(body, size)
            icrd = _icrd(listed) if listed else None
        pos = body + size + (size & 1)
    return icrd


def _bext_stamp(stamp: bytes) -> datetime | None:
    """OriginationDate (10 chars) and OriginationTime (8 chars) sit side by side, no separator."""
    text = stamp.decode("latin-1")
    return _date_from_text(f"{text[:10]}T{text[10:18]}") or _date_from_text(text[:10])


def _icrd(list_body: bytes) -> datetime | None:
    if list_body[0:4] != b"INFO":
        return None
    pos = 4
    while pos + 8 <= len(list_body):
        size = int.from_bytes(list_body[pos + 4 : pos + 8], "little")
        if list_body[pos : pos + 4] == b"ICRD":
            value = list_body[pos + 8 : pos + 8 + size].split(b"\x00", 1)[0]
            return _date_from_text(value.decode("latin-1"))
        pos += 8 + size + (size & 1)
    return None


# --- AVI: LIST/INFO/ICRD, else the IDIT chunk cameras write into hdrl ------------------------------
_IDIT_TEXT = re.compile(
    r"\s*(?:[A-Za-z]{3}\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _avi_created(source: Bytes) -> datetime | None:
    riff = source.get(0, 12)
    if riff is None or riff[8:12] != b"AVI ":
        return None
    idit: datetime | None = None
    pos = 12
    while True:
        header = source.get(pos, 12)
        if header is None:
            break
        chunk_id, size = header[0:4], int.from_bytes(header[4:8], "little")
        body = pos + 8
        if chunk_id == b"LIST" and header[8:12] == b"INFO" and size <= _MAX_LIST_READ:
            listed = source.get(body, size)
            found = _icrd(listed) if listed else None
            if found is not None:
                return found
        elif chunk_id == b"LIST" and header[8:12] == b"hdrl" and idit is None:
            idit = _idit(source, body + 4, body + size)
        pos = body + size + (size & 1)
    return idit


def _idit(source: Bytes, pos: int, end: int) -> datetime | None:
    """The IDIT (digitization time) chunk among hdrl's children, as Canon, Nikon and Fuji write it:
    "MON JAN 02 10:00:00 2023" (ctime) or "2023:01:02 10:00:00"."""
    while pos + 8 <= end:
        header = source.get(pos, 8)
        if header is None:
            return None
        size = int.from_bytes(header[4:8], "little")
        if header[0:4] == b"IDIT" and 0 < size <= 64:
            text = (source.get(pos + 8, size) or b"").split(b"\x00", 1)[0].decode("latin-1")
            match = _IDIT_TEXT.match(text)
            if match is None:
                return _date_from_text(text)
            month, day, hour, minute, second, year = match.groups()
            if month.lower() not in _MONTHS:
                return None
            try:
                return datetime(int(year), _MONTHS.index(month.lower()) + 1, int(day), int(hour), int(minute),
                                int(second), tzinfo=UTC)  # fmt: skip
            except ValueError:
                return None
        pos += 8 + size + (size & 1)
    return None


# --- ASF (WMA/WMV): File Properties Object, creation date (FILETIME, 100 ns since 1601) ------------
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_FILETIME_UNIX_EPOCH = 116444736000000000  # what muxers write when they know no date


def _asf_created(source: Bytes) -> datetime | None:
    header = source.get(0, 30)  # Header Object: GUID, 64-bit size, object count, 2 reserved bytes
    if header is None:
        return None
    end = min(source.size, int.from_bytes(header[16:24], "little"))
    pos = 30
    while pos + 24 <= end:
        child = source.get(pos, 24)
        if child is None:
            return None
        size = int.from_bytes(child[16:24], "little")
        if child[0:16] == _ASF_FILE_PROPERTIES:
            # File ID (16 bytes) and File Size (8) come first, then Creation Date.
            stamp = source.get(pos + 48, 8)
            if stamp is None:
                return None
            ticks = int.from_bytes(stamp, "little")
            if ticks in (0, _FILETIME_UNIX_EPOCH):
                return None
            return _after_epoch(_FILETIME_EPOCH, seconds=ticks / 10_000_000)
        if size < 24:
            return None
        pos += size
    return None


# --- ID3v2 (MP3): v2.3 TYER+TDAT+TIME, v2.4 TDRC --------------------------------------------------
_ID3_DATE_FRAMES = frozenset({b"TDRC", b"TYER", b"TDAT", b"TIME", b"TYE", b"TDA", b"TIM"})
_ID3_V22_NAMES = {b"TYE": b"TYER", b"TDA": b"TDAT", b"TIM": b"TIME"}
_ID3_TEXT_CODECS = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}


def _syncsafe(data: bytes) -> int:
    return (data[0] << 21) | (data[1] << 14) | (data[2] << 7) | data[3]


def _id3_text(frame: bytes) -> str:
    codec = _ID3_TEXT_CODECS.get(frame[0], "latin-1") if frame else "latin-1"
    return frame[1:].decode(codec, "replace").replace("\x00", "").strip()


def _id3_created(source: Bytes) -> datetime | None:
    header = source.head[:10]
    if len(header) < 10:
        return None
    version, flags = header[3], header[5]
    end = 10 + _syncsafe(header[6:10])
    pos = 10
    if flags & 0x40:  # extended header
        extended = source.get(10, 4)
        if extended is None:
            return None
        pos += _syncsafe(extended) if version == 4 else 4 + int.from_bytes(extended, "big")
    frame_header_size = 6 if version == 2 else 10
    texts: dict[bytes, str] = {}
    while pos + frame_header_size <= end:
        frame_header = source.get(pos, frame_header_size)
        if frame_header is None or frame_header[0] == 0:  # out of reach, or padding
            break
        if version == 2:
            frame_id, size = frame_header[0:3], int.from_bytes(frame_header[3:6], "big")
        else:
            frame_id = frame_header[0:4]
            size = _syncsafe(frame_header[4:8]) if version == 4 else int.from_bytes(frame_header[4:8], "big")
        body = pos + frame_header_size
        if frame_id in _ID3_DATE_FRAMES and size <= 64:
            data = source.get(body, size)
            if data:
                texts[_ID3_V22_NAMES.get(frame_id, frame_id)] = _id3_text(data)
        pos = body + size
    return _id3_date(texts)


def _id3_date(texts: dict[bytes, str]) -> datetime | None:
    if b"TDRC" in texts:
        found = _date_from_text(texts[b"TDRC"])
        if found is not None:
            return found
    year, day_month, hour_minute = texts.get(b"TYER", ""), texts.get(b"TDAT", ""), texts.get(b"TIME", "")
    if not (year.isdigit() and len(year) == 4 and day_month.isdigit() and len(day_month) == 4):
        return None  # a year alone is too coarse to date a session
    if not (hour_minute.isdigit() and len(hour_minute) == 4):
        hour_minute = "0000"
    try:
        return datetime(
            int(year), int(day_month[2:]), int(day_month[:2]), int(hour_minute[:2]), int(hour_minute[2:]),
            tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
