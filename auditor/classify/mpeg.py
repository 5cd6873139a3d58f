"""Headerless MPEG audio streams: MP3 (MPEG-1/2/2.5 layer I-III frames) and AAC in ADTS frames.

These have no magic number, only a 12-bit frame sync, so one frame header is weak evidence
(random bytes hit it about once in 4,000). We require the next frame to start exactly where the
first one says it ends, with the same version/layer/sample rate; a file too short to hold a
second frame is not a stream.
"""

from __future__ import annotations

from collections.abc import Callable

# A frame parser returns (frame length, identity) or None; identity holds the fields that must not
# change from one frame to the next.
FrameParser = Callable[[bytes, int], "tuple[int, tuple[int, int]] | None"]

# Bitrates in kbit/s by (MPEG-1?, layer) and 4-bit index; index 0 (free format) and 15 are rejected.
_BITRATES: dict[tuple[bool, int], tuple[int, ...]] = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by 2-bit version id (0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1) and 2-bit index.
_SAMPLE_RATES: dict[int, tuple[int, int, int]] = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}
_ADTS_SAMPLE_RATE_INDEXES = 13  # 0..12 are defined; the rest are reserved/escape


def _mp3_frame(head: bytes, pos: int) -> tuple[int, tuple[int, int]] | None:
    """(frame length, identity bits) of a valid MPEG audio frame header at pos, else None."""
    if pos + 4 > len(head):
        return None
    b1, b2, b3 = head[pos + 1], head[pos + 2], head[pos + 3]
    if head[pos] != 0xFF or b1 & 0xE0 != 0xE0:
        return None
    version = (b1 >> 3) & 0x03
    layer_bits = (b1 >> 1) & 0x03
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 0x03
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3 or b3 & 0x03 == 2:
        return None  # reserved version/layer/rate/emphasis, or free-format bitrate
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (b2 >> 1) & 0x01
    if layer == 1:
        length = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and not mpeg1:
        length = 72 * bitrate // rate + padding
    else:
        length = 144 * bitrate // rate + padding
    return length, (b1 & 0xFE, rate_index)  # version + layer (not the CRC bit), sample rate


def _adts_frame(head: bytes, pos: int) -> tuple[int, tuple[int, int]] | None:
    if pos + 7 > len(head):
        return None
    b1, b2 = head[pos + 1], head[pos + 2]
    if head[pos] != 0xFF or b1 & 0xF6 != 0xF0:  # 12-bit sync, layer must be 00
        return None
    rate_index = (b2 >> 2) & 0x0F
    channel_config = ((b2 & 0x01) << 2) | (head[pos + 3] >> 6)
    if rate_index >= _ADTS_SAMPLE_RATE_INDEXES or channel_config == 0:
        return None  # reserved rate, or channels defined in-band (never written by recorders)
    length = ((head[pos + 3] & 0x03) << 11) | (head[pos + 4] << 3) | (head[pos + 5] >> 5)
    header_size = 7 if b1 & 0x01 else 9
    channels = 8 if channel_config == 7 else channel_config
    blocks = (head[pos + 6] & 0x03) + 1
    # AAC allows at most 6144 bits (768 bytes) per channel per raw data block; the bound keeps a
    # random 13-bit length from pointing past the head, where the second frame could not be checked.
    if not header_size < length <= header_size + 768 * channels * blocks:
        return None
    return length, (b1 & 0xF8, b2 & 0xFC)  # version, profile + sample rate


def _stream_at(head: bytes, pos: int, parse: FrameParser) -> bool:
    first = parse(head, pos)
    if first is None:
        return False
    length, identity = first
    following = pos + length
    if following + 4 > len(head):
        # One header is weak evidence (random bytes hit one in about 4,000 tries), and one frame
        # is some 26 ms of sound, no session: a file that ends before a second frame is no stream.
        return False
    second = parse(head, following)
    return second is not None and second[1] == identity


def is_mp3_at(head: bytes, pos: int = 0) -> bool:
    return _stream_at(head, pos, _mp3_frame)


def is_adts_at(head: bytes, pos: int = 0) -> bool:
    return _stream_at(head, pos, _adts_frame)
