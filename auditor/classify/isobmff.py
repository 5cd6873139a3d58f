"""ISO base media files (MP4, M4A, MOV, 3GP): box headers, ftyp brands and track handlers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


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


_CONTAINERS = frozenset({b"moov", b"trak", b"mdia"})


def handler_types(head: bytes) -> set[bytes]:
    """Track handler types (b'vide', b'soun', ...) of the tracks whose hdlr lies inside head."""
    found: set[bytes] = set()
    _collect_handlers(head, 0, len(head), found, depth=0)
    return found


def _collect_handlers(head: bytes, start: int, end: int, found: set[bytes], depth: int) -> None:
    for box in iter_boxes(head, start, end):
        body = box.start + box.header
        if box.type == b"hdlr" and depth == 3:  # moov/trak/mdia/hdlr
            # full box: version+flags (4), pre_defined (4), handler_type (4)
            handler = head[body + 8 : body + 12]
            if len(handler) == 4:
                found.add(handler)
        elif box.type in _CONTAINERS and depth < 3:
            _collect_handlers(head, body, min(box.start + box.size, len(head)), found, depth + 1)
