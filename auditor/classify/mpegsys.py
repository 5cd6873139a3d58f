"""MPEG systems streams: program stream (.mpg, .vob) and transport stream (.ts, .mts, .m2ts).

A program stream starts with a pack header, and the next start code must follow exactly where
that header (and its stuffing) ends. A transport stream is 188-byte packets, each starting with
0x47; camcorders (AVCHD, Blu-ray) write 192-byte packets, a 4-byte arrival timestamp in front
of each. Every packet boundary in the head must hold the sync byte: a TypeScript or any other
text file never has 'G' at every 188th byte across 4 KiB.

Audio or video comes from the program stream's system header (its audio and video bounds) or
from the transport stream's program map table (each stream's type). When neither is in the
head the kind is None ("unknown"), never a guess.
"""

from __future__ import annotations

Detected = tuple[str, "str | None"]

# --- program stream ----------------------------------------------------------------------------
_PACK = b"\x00\x00\x01\xba"
_START = b"\x00\x00\x01"
_SYSTEM_HEADER = 0xBB
_END_CODE = 0xB9


def _pack_length(head: bytes, pos: int) -> int | None:
    """Length of the pack header at pos (MPEG-1 or MPEG-2, stuffing included) when its marker bits hold."""
    if len(head) < pos + 14:
        return None
    b = head[pos : pos + 14]
    if b[4] >> 6 == 0x01:  # MPEG-2: '01', SCR with markers, mux rate, two markers, stuffing length
        if b[4] & 0x04 and b[6] & 0x04 and b[8] & 0x04 and b[9] & 0x01 and b[12] & 0x03 == 0x03:
            return 14 + (b[13] & 0x07)
        return None
    # MPEG-1: '0010', SCR with markers, a marker around the mux rate
    mpeg1 = b[4] >> 4 == 0x02 and b[4] & 0x01 and b[6] & 0x01 and b[8] & 0x01 and b[9] & 0x80 and b[11] & 0x01
    return 12 if mpeg1 else None


def program_stream(head: bytes) -> Detected | None:
    """('mpeg-ps', media) when head starts with a valid pack header followed by a valid start code."""
    if not head.startswith(_PACK):
        return None
    length = _pack_length(head, 0)
    if length is None:
        return None
    pos = length
    if head[pos : pos + 3] != _START or len(head) <= pos + 3 or head[pos + 3] < _END_CODE:
        return None  # the next header must start exactly where the pack header ends
    if head[pos + 3] == _SYSTEM_HEADER and pos + 12 <= len(head):
        # rate bound (3 bytes), then audio_bound (6 bits) + 2 flags, then 3 flags + video_bound (5 bits)
        audio_bound, video_bound = head[pos + 9] >> 2, head[pos + 10] & 0x1F
        if video_bound:
            return "mpeg-ps", "video"
        if audio_bound:
            return "mpeg-ps", "audio"
    return "mpeg-ps", _program_stream_media(head, pos)


def _program_stream_media(head: bytes, pos: int) -> str | None:
    """Without a system header: the stream ids of the packets in the head (video 0xE0-EF)."""
    audio = False
    while pos + 6 <= len(head) and head[pos : pos + 3] == _START:
        stream_id = head[pos + 3]
        if stream_id == _PACK[3]:
            length = _pack_length(head, pos)
            if length is None:
                break
            pos += length
            continue
        if 0xE0 <= stream_id <= 0xEF:
            return "video"
        audio = audio or 0xC0 <= stream_id <= 0xDF
        pos += 6 + int.from_bytes(head[pos + 4 : pos + 6], "big")
    # Audio packets alone say audio only when the whole file was walked: video may come later.
    return "audio" if audio and pos >= len(head) and len(head) < 4096 else None


# --- transport stream --------------------------------------------------------------------------
_TS_SYNC = 0x47
_MIN_PACKETS = 4  # fewer than four packets is no recording
# PMT stream_type values (ISO/IEC 13818-1, ATSC A/52, Blu-ray): video, and audio.
_VIDEO_STREAM_TYPES = frozenset({0x01, 0x02, 0x10, 0x1B, 0x1F, 0x20, 0x24, 0x33, 0x42, 0xD1, 0xEA})
_AUDIO_STREAM_TYPES = frozenset({0x03, 0x04, 0x0F, 0x11, 0x1C, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                 0x87, 0xA1, 0xA2})  # fmt: skip


def transport_stream(head: bytes) -> Detected | None:
    """('mpeg-ts', media) for 188-byte packets, ('m2ts', media) for 192-byte ones."""
    if head[:1] == b"\x47":
        fmt, first, size = "mpeg-ts", 0, 188
    elif head[4:5] == b"\x47":
        fmt, first, size = "m2ts", 4, 192
    else:
        return None
    syncs = head[first::size]
    if len(syncs) < _MIN_PACKETS or syncs.count(_TS_SYNC) != len(syncs):
        return None
    for pos in range(first, len(head) - 3, size):
        # No transport error flagged, and adaptation_field_control never the reserved 00.
        if head[pos + 1] & 0x80 or not head[pos + 3] & 0x30:
            return None
    return fmt, _transport_media(head, first, size)


def _payload(packet: bytes) -> bytes | None:
    """The payload of a packet that starts a section (PUSI set), after its pointer field."""
    if not packet[1] & 0x40:
        return None
    control = (packet[3] >> 4) & 0x03
    pos = 4
    if control in (2, 3):  # adaptation field first
        pos += 1 + packet[4]
    if control == 2 or pos >= len(packet):
        return None
    pos += 1 + packet[pos]  # pointer_field
    return packet[pos:]


def _transport_media(head: bytes, first: int, size: int) -> str | None:
    """Audio or video from the program map table(s) in the head, found through the PAT."""
    packets = [head[p : p + 188] for p in range(first, len(head) - 187, size)]
    pmt_pids: set[int] = set()
    kinds: set[str] = set()
    for packet in packets:
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        section = _payload(packet)
        if section is None or len(section) < 8:
            continue
        if pid == 0 and section[0] == 0x00:  # program association table
            end = min(len(section), 3 + ((section[1] & 0x0F) << 8 | section[2]) - 4)
            for entry in range(8, end - 3, 4):
                program, map_pid = section[entry : entry + 2], (section[entry + 2] & 0x1F) << 8
                if program != b"\x00\x00":  # program 0 names the network PID, not a map
                    pmt_pids.add(map_pid | section[entry + 3])
        elif pid in pmt_pids and section[0] == 0x02:  # program map table
            kinds |= _pmt_kinds(section)
    if "video" in kinds:
        return "video"
    return "audio" if "audio" in kinds else None


def _pmt_kinds(section: bytes) -> set[str]:
    end = min(len(section), 3 + ((section[1] & 0x0F) << 8 | section[2]) - 4)  # before the CRC
    if end <= 12:
        return set()
    pos = 12 + ((section[10] & 0x0F) << 8 | section[11])  # after the program descriptors
    kinds: set[str] = set()
    while pos + 5 <= end:
        stream_type = section[pos]
        info_end = pos + 5 + ((section[pos + 3] & 0x0F) << 8 | section[pos + 4])
        if stream_type in _VIDEO_STREAM_TYPES:
            kinds.add("video")
        elif stream_type in _AUDIO_STREAM_TYPES or (
            stream_type == 0x06 and _private_audio(section[pos + 5 : min(info_end, end)])
        ):
            kinds.add("audio")
        pos = info_end
    return kinds


# Private data (stream type 6) is audio when its descriptors say so: DVB AC-3, E-AC-3, DTS, AAC
# descriptors, or a registration descriptor naming an audio codec.
_AUDIO_DESCRIPTORS = frozenset({0x6A, 0x7A, 0x7B, 0x7C})
_AUDIO_REGISTRATIONS = frozenset({b"AC-3", b"EAC3", b"DTS1", b"DTS2", b"DTS3", b"Opus", b"BSSD"})


def _private_audio(descriptors: bytes) -> bool:
    pos = 0
    while pos + 2 <= len(descriptors):
        tag, length = descriptors[pos], descriptors[pos + 1]
        if tag in _AUDIO_DESCRIPTORS:
            return True
        if tag == 0x05 and descriptors[pos + 2 : pos + 6] in _AUDIO_REGISTRATIONS:
            return True
        pos += 2 + length
    return False
