"""Raw audio streams made of frames behind a sync word: AC-3, E-AC-3, DTS and MPEG-4 LOAS/LATM.

A sync word alone is weak evidence (16 bits for AC-3), so each frame header's fields are checked
and the frames must chain: every frame in the head starts exactly where the one before it says it
ends, with the same sample rate. At least two headers must be seen, the second where the first
says it ends, so a file holding a single stray header is never taken for a stream.
"""

from __future__ import annotations

from collections.abc import Callable

# (frame length, identity) of a valid frame header at pos, or None; identity holds the fields
# that must not change from frame to frame. HEADER bytes must be available at pos.
FrameParser = Callable[[bytes, int], "tuple[int, int] | None"]

_AC3_SYNC = b"\x0b\x77"
# AC-3 bit rates (kbit/s) by frmsizecod // 2.
_AC3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640)
_AC3_RATES = (48000, 44100, 32000)
_EAC3_RATES = (48000, 44100, 32000)


def _ac3_frame(head: bytes, pos: int) -> tuple[int, int] | None:
    """AC-3 (bsid <= 10) or E-AC-3 (bsid 11..16) syncframe: its length in bytes and sample rate code."""
    if head[pos : pos + 2] != _AC3_SYNC:
        return None
    bsid = head[pos + 5] >> 3
    if bsid <= 10:
        fscod, frmsizecod = head[pos + 4] >> 6, head[pos + 4] & 0x3F
        if fscod == 3 or frmsizecod >= 2 * len(_AC3_BITRATES):
            return None
        kbps = _AC3_BITRATES[frmsizecod >> 1]
        # 1536 samples per frame: 48 kHz gives 4 bytes per kbit/s, 32 kHz 6, 44.1 kHz an odd
        # number of 16-bit words, one more in every other frame (the low bit of frmsizecod).
        if fscod == 0:
            length = kbps * 4
        elif fscod == 2:
            length = kbps * 6
        else:
            length = (kbps * 1536000 // 44100 // 16 + (frmsizecod & 1)) * 2
        return length, fscod
    if bsid <= 16:  # E-AC-3: strmtyp 2 bits, substreamid 3, frmsiz 11 (16-bit words minus one)
        if head[pos + 2] >> 6 == 3:
            return None  # reserved stream type
        words = ((head[pos + 2] & 0x07) << 8 | head[pos + 3]) + 1
        fscod = head[pos + 4] >> 6
        if fscod == 3 and (head[pos + 4] >> 4) & 0x03 == 3:
            return None  # reduced sample rate code 3 is reserved
        if words < 32:
            return None  # shorter than any real E-AC-3 frame
        return words * 2, 0x10 | fscod
    return None


_DTS_CORE_SYNC = b"\x7f\xfe\x80\x01"
_DTS_SUBSTREAM_SYNC = b"\x64\x58\x20\x25"  # DTS-HD extension substream, after each core frame
_DTS_SAMPLE_RATES = frozenset({1, 2, 3, 6, 7, 8, 11, 12, 13})  # SFREQ codes; the rest are invalid


def _dts_frame(head: bytes, pos: int) -> tuple[int, int] | None:
    """A DTS core frame (16-bit big-endian), or a DTS-HD extension substream that follows one."""
    sync = head[pos : pos + 4]
    if sync == _DTS_CORE_SYNC:
        b4, b5, b6, b7, b8 = head[pos + 4 : pos + 9]
        if not b4 & 0x80 or (b4 >> 2) & 0x1F != 31:
            return None  # FTYPE must be "normal frame" with SHORT = 31 (no short frames)
        blocks = ((b4 & 0x01) << 6 | b5 >> 2) + 1
        length = ((b5 & 0x03) << 12 | b6 << 4 | b7 >> 4) + 1
        sfreq = (b8 >> 2) & 0x0F
        if blocks < 6 or length < 96 or sfreq not in _DTS_SAMPLE_RATES:
            return None
        return length, sfreq
    if sync == _DTS_SUBSTREAM_SYNC:
        # UserDefinedBits (8), nExtSSIndex (2), bHeaderSizeType (1), then header size and frame
        # size minus one: 8 and 16 bits, or 12 and 20 bits for the long form.
        bits = int.from_bytes(head[pos + 5 : pos + 10], "big")  # 40 bits from nExtSSIndex on
        long_form = bits >> 37 & 0x01
        length = ((bits >> 5) & 0xFFFFF if long_form else (bits >> 13) & 0xFFFF) + 1
        return (length, -1) if length >= 16 else None
    return None


def _loas_frame(head: bytes, pos: int) -> tuple[int, int] | None:
    """An AudioSyncStream frame (ISO/IEC 14496-3): 11-bit sync 0x2B7, 13-bit length, AudioMuxElement."""
    if head[pos] != 0x56 or head[pos + 1] & 0xE0 != 0xE0:
        return None
    length = (head[pos + 1] & 0x1F) << 8 | head[pos + 2]
    return (3 + length, 0) if length >= 4 else None


def _chained(head: bytes, parse: FrameParser, header: int, first_ok: Callable[[bytes], bool]) -> bool:
    """Every frame in the head chains to the next with the same identity; at least two frames.

    Identity -1 (an extension substream) is not compared. The last frame may run past the head."""
    if not first_ok(head):
        return False
    pos, frames, identity = 0, 0, None
    while pos + header <= len(head):
        parsed = parse(head, pos)
        if parsed is None:
            return False
        length, ident = parsed
        if ident != -1:
            if identity is None:
                identity = ident
            elif ident != identity:
                return False
        frames += 1
        pos += length
    return frames >= 2


def is_ac3(head: bytes) -> str | None:
    """'ac3' or 'eac3' when head is a chain of (E-)AC-3 syncframes."""
    if not _chained(head, _ac3_frame, 6, lambda h: h.startswith(_AC3_SYNC)):
        return None
    return "eac3" if head[5] >> 3 > 10 else "ac3"


def is_dts(head: bytes) -> bool:
    return _chained(head, _dts_frame, 10, lambda h: h.startswith(_DTS_CORE_SYNC))


def is_loas(head: bytes) -> bool:
    # The first frame must carry the stream's configuration (useSameStreamMux = 0).
    return _chained(head, _loas_frame, 3, lambda h: len(h) > 3 and not h[3] & 0x80)
