"""ISO base media files (MP4, M4A, MOV, 3GP): box headers, ftyp brands and track handlers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from auditor.classify.ranges import Bytes


class Box(NamedTuple):
    type: bytes
    start: int  # offset of the box header
    header: int  # 8, or 16 with a 64-bit size
    size: int  # whole box, header included


def parse_box_header(data: bytes, start: int, end_of_file: int) -> Box | None:
    """The box whose header begins at data[0:]; start is its offset in the file. None if invalid."""
    if len(data) < 8:
        return None
    size = int.from_bytes(data[0:4], "big")
    header = 8
    if size == 1:  # 64-bit size follows the type
        if len(data) < 16:
            return None
        size = int.from_bytes(data[8:16], "big")
        header = 16
    elif size == 0:  # box runs to the end of the file
        size = end_of_file - start
    if size < header:
        return None
    return Box(bytes(data[4:8]), start, header, size)


def iter_boxes(buf: bytes, start: int, end: int) -> Iterator[Box]:
    """Boxes between start and end whose headers lie inside buf (their bodies may not)."""
    pos = start
    while pos + 8 <= min(end, len(buf)):
        box = parse_box_header(buf[pos : pos + 16], pos, end)
        if box is None:
            return
        yield box
        pos += box.size


AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
QUICKTIME_BRANDS = frozenset({b"qt  "})
# Still images and camera raw files also use ftyp; they are not recordings.
IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"mif2",
     b"msf1", b"avif", b"avis", b"avio", b"jp2 ", b"jpx ", b"jpm ", b"crx ", b"MiHE", b"MiHB", b"MiHA"}
)  # fmt: skip


def brand_format(major: bytes, compatible: list[bytes]) -> tuple[str, str] | None:
    """(format, default media) from ftyp brands, or None for an image/raw-photo file."""
    for brand in (major, *compatible):
        if brand in AUDIO_BRANDS:
            return "m4a", "audio"
        if brand in QUICKTIME_BRANDS:
            return "mov", "video"
        if brand.startswith(b"3g"):
            return "3gp", "video"
        if brand in IMAGE_BRANDS:
            return None
    # isom, iso2-9, mp41, mp42, avc1, dash, MSNV, XAVC ... and unknown brands: an ISO media file
    # with an ftyp that is none of the above is, in practice, an MP4 movie.
    return "mp4", "video"


def ftyp_brands(head: bytes) -> tuple[bytes, list[bytes]] | None:
    """Major and compatible brands when head starts with a plausible ftyp box."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    if size < 12 or size > 4096 or size % 4:
        return None
    major = head[8:12]
    if not all(0x20 <= c < 0x7F for c in major):
        return None
    end = min(size, len(head))
    compatible = [head[i : i + 4] for i in range(16, end - 3, 4)]
    return major, compatible


_TRACK_PATH = (b"moov", b"trak", b"mdia")  # moov/trak/mdia/hdlr names each track's media


def box_at(source: Bytes, offset: int, end: int) -> Box | None:
    """The box whose header starts at offset (before end), read through source; None if unreadable."""
    header = source.get(offset, 8)
    if header is None:
        return None
    if header[0:4] == b"\x00\x00\x00\x01":  # 64-bit size: need the full 16-byte header
        header = source.get(offset, 16)
        if header is None:
            return None
    box = parse_box_header(header, offset, end)
    return box if box is not None and offset + box.size <= end else None


def top_level(source: Bytes, box_type: bytes) -> Box | None:
    """The first top-level box of that type, found by hopping box headers (never reading bodies).

    No iteration cap is needed: every step moves forward by at least 8 bytes, and each step
    outside the head costs budget, so the walk ends within len(head)/8 + budget/8 steps."""
    pos = 0
    while True:
        box = box_at(source, pos, source.size)
        if box is None:
            return None
        if box.type == box_type:
            return box
        pos += box.size


def track_handlers(source: Bytes) -> tuple[set[bytes], bool]:
    """Handler types (b'vide', b'soun', ...) of the movie's tracks, and whether every track was seen.

    Reads moov/trak/mdia/hdlr wherever moov lies: in the head for "faststart" files, after the
    media data for files written the way phones and voice recorders write them."""
    moov = top_level(source, b"moov")
    if moov is None:
        return set(), False
    found: set[bytes] = set()
    complete = _collect_handlers(source, moov, 1, found)
    return found, complete


def _collect_handlers(source: Bytes, parent: Box, depth: int, found: set[bytes]) -> bool:
    """Visit parent's children down to hdlr; False when some child could not be read (budget, damage)."""
    pos = parent.start + parent.header
    end = parent.start + parent.size
    while pos + 8 <= end:
        box = box_at(source, pos, end)
        if box is None:
            return False
        if depth == len(_TRACK_PATH) and box.type == b"hdlr":
            # full box: version+flags (4), pre_defined (4), handler_type (4)
            handler = source.get(box.start + box.header + 8, 4)
            if handler is None:
                return False
            found.add(handler)
            return True  # one handler per track
        if depth < len(_TRACK_PATH) and box.type == _TRACK_PATH[depth]:
            if not _collect_handlers(source, box, depth + 1, found):
                return False
            if depth > 1:
                return True  # this track's mdia (or its trak's) is done; only moov holds several
        pos += box.size
    return depth != len(_TRACK_PATH)  # an mdia without hdlr leaves that track unknown
