"""Audio/video containers recognised from the first bytes.

Table-driven: the first four bytes select a checker (most formats have a magic number there);
then the first byte selects one for streams that start with a sync byte or word (MPEG-TS,
AC-3, LOAS); formats whose signature sits elsewhere (M2TS's sync at offset 4, ftyp at offset 4,
MPEG audio frame sync) are tried after. Each checker returns (format, media) or None; media is
None when the file is a recording whose audio-or-video the bytes within reach do not settle.

Checkers get the head and a Bytes: a few need what lies past the head (an MP4 index written at
the end, a Matroska track list that outgrows the head) and read it through that, within budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from auditor.classify import ebml, isobmff, mpegsys, syncframes
from auditor.classify.model import HEAD_BYTES
from auditor.classify.mpeg import is_adts_at, is_mp3_at
from auditor.classify.ranges import Bytes

Detected = tuple[str, "str | None"]  # (format, media); media None: a recording of unknown kind
Checker = Callable[[bytes, Bytes], "Detected | None"]

_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_AUDIO_MEDIA = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")
_ASF_VIDEO_MEDIA = bytes.fromhex("c0ef19bc4d5bcf11a8fd00805f5c442b")
_AMR_MAGICS = (b"#!AMR\n", b"#!AMR-WB\n", b"#!AMR_MC1.0\n", b"#!AMR-WB_MC1.0\n")


def _riff(head: bytes, more: Bytes) -> Detected | None:
    # RIFF, RF64 and BW64 share the layout: magic, 32-bit size, form type.
    form = head[8:12]
    if form == b"WAVE":
        return "wav", "audio"
    if form == b"AVI " and head[12:16] == b"LIST" and head[20:24] == b"hdrl":
        return "avi", _avi_media(head)
    return None


def _avi_media(head: bytes) -> str | None:
    """Each stream header (strh) names its type: vids or auds. They sit in hdrl, at the start."""
    kinds: set[bytes] = set()
    at = head.find(b"strh", 24)
    while at != -1:
        kinds.add(head[at + 8 : at + 12])
        at = head.find(b"strh", at + 4)
    if b"vids" in kinds:
        return "video"
    return "audio" if b"auds" in kinds else None


_W64_RIFF = b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000")  # Sony Wave64: chunk ids are GUIDs
_W64_WAVE = b"wave" + bytes.fromhex("f3acd3118cd100c04f8edb8a")


def _wave64(head: bytes, more: Bytes) -> Detected | None:
    # riff GUID, 64-bit size, wave GUID
    return ("w64", "audio") if head.startswith(_W64_RIFF) and head[24:40] == _W64_WAVE else None


def _aiff(head: bytes, more: Bytes) -> Detected | None:
    return ("aiff", "audio") if head[8:12] in (b"AIFF", b"AIFC") else None


def _caf(head: bytes, more: Bytes) -> Detected | None:
    # "caff", file version 1, flags 0
    return ("caf", "audio") if head[4:8] == b"\x00\x01\x00\x00" else None


def _flac(head: bytes, more: Bytes) -> Detected | None:
    # The first metadata block must be STREAMINFO (type 0, 34 bytes long).
    if len(head) >= 8 and (head[4] & 0x7F != 0 or head[5:8] != b"\x00\x00\x22"):
        return None
    return "flac", "audio"


def _amr(head: bytes, more: Bytes) -> Detected | None:
    return ("amr", "audio") if head.startswith(_AMR_MAGICS) else None


def _flv(head: bytes, more: Bytes) -> Detected | None:
    # "FLV", version 1, flags (audio 0x04, video 0x01, the rest reserved), header size 9,
    # then the first PreviousTagSize, always 0.
    if len(head) < 13 or head[3] != 1 or head[4] & 0xFA or head[5:9] != b"\x00\x00\x00\x09":
        return None
    if head[9:13] != b"\x00\x00\x00\x00":
        return None
    flags = head[4]
    return "flv", "video" if flags & 0x01 else ("audio" if flags & 0x04 else None)


def _sun_au(head: bytes, more: Bytes) -> Detected | None:
    # ".snd" (big-endian; "dns." little-endian, as DEC wrote it): data offset >= 24, data size,
    # encoding 1..27, sample rate, channels.
    order: Literal["big", "little"] = "big" if head[:4] == b".snd" else "little"
    if len(head) < 24:
        return None
    offset, _, encoding, rate, channels = (int.from_bytes(head[i : i + 4], order) for i in range(4, 24, 4))
    if offset < 24 or not 1 <= encoding <= 27 or not 1000 <= rate <= 768000 or not 1 <= channels <= 64:
        return None
    return "au", "audio"


_VOC_MAGIC = b"Creative Voice File\x1a"


def _voc(head: bytes, more: Bytes) -> Detected | None:
    # magic, header size 0x1A, version, and its checksum: ~version + 0x1234
    if not head.startswith(_VOC_MAGIC) or len(head) < 26 or head[20:22] != b"\x1a\x00":
        return None
    version = int.from_bytes(head[22:24], "little")
    check = int.from_bytes(head[24:26], "little")
    return ("voc", "audio") if check == (~version + 0x1234) & 0xFFFF else None


def _dts(head: bytes, more: Bytes) -> Detected | None:
    return ("dts", "audio") if syncframes.is_dts(head) else None


def _dts_hd(head: bytes, more: Bytes) -> Detected | None:
    return ("dts", "audio") if head.startswith(b"DTSHDHDR") else None  # DTS-HD file with chunks


def _program_stream(head: bytes, more: Bytes) -> Detected | None:
    return mpegsys.program_stream(head)


def _asf(head: bytes, more: Bytes) -> Detected | None:
    if not head.startswith(_ASF_HEADER):
        return None
    # Stream Properties objects name each stream's type by GUID; they sit in the header object.
    if _ASF_VIDEO_MEDIA in head:
        return "wmv", "video"
    if _ASF_AUDIO_MEDIA in head:
        return "wma", "audio"
    return "asf", "video"


_OGG_CODECS: tuple[tuple[bytes, str], ...] = (
    (b"OpusHead", "opus"),
    (b"\x01vorbis", "vorbis"),
    (b"\x80theora", "theora"),
    (b"\x7fFLAC", "flac"),
    (b"Speex   ", "speex"),
    (b"OVP80", "vp8"),
    (b"\x80daala", "daala"),
)
_OGG_VIDEO_CODECS = frozenset({"theora", "vp8", "daala"})


def _ogg_first_packets(head: bytes) -> list[str]:
    """Codecs of the beginning-of-stream pages at the start of an Ogg file (one per stream)."""
    codecs: list[str] = []
    pos = 0
    while head.startswith(b"OggS", pos) and pos + 27 <= len(head):
        if not head[pos + 5] & 0x02:  # not a beginning-of-stream page: headers are over
            break
        segments = head[pos + 26]
        table = head[pos + 27 : pos + 27 + segments]
        packet = head[pos + 27 + segments : pos + 27 + segments + 8]
        codecs.extend(codec for magic, codec in _OGG_CODECS if packet.startswith(magic))
        pos += 27 + segments + sum(table)
    return codecs


def _ogg(head: bytes, more: Bytes) -> Detected | None:
    if len(head) > 4 and head[4] != 0:  # stream structure version
        return None
    codecs = _ogg_first_packets(head)
    if any(codec in _OGG_VIDEO_CODECS for codec in codecs):
        return "ogg", "video"
    if codecs == ["opus"]:
        return "ogg-opus", "audio"
    if codecs == ["vorbis"]:
        return "ogg-vorbis", "audio"
    return "ogg", "audio"  # Ogg without a visible video stream is, in practice, audio


def _matroska(head: bytes, more: Bytes) -> Detected | None:
    parsed = ebml.parse_head(head)
    if parsed is None:
        return None
    if parsed.doctype is not None and parsed.doctype not in ("webm", "matroska"):
        return None
    fmt = "webm" if parsed.doctype == "webm" else "matroska"
    if parsed.saw_video_element or ebml.TRACK_VIDEO in parsed.track_types:
        return fmt, "video"
    if parsed.tracks_complete:
        has_audio = parsed.saw_audio_element or ebml.TRACK_AUDIO in parsed.track_types
        return fmt, "audio" if has_audio else None
    # The track list runs past the head: a video track may follow. Read on, or say unknown.
    types = ebml.track_types(more) if more.reader is not None else None
    if types is None:
        return fmt, None
    if ebml.TRACK_VIDEO in types:
        return fmt, "video"
    return fmt, "audio" if ebml.TRACK_AUDIO in types else None


def _id3(head: bytes) -> Detected | None:
    # "ID3", major version 2-4, revision, flags, 4-byte syncsafe size (top bits clear)
    if len(head) < 10 or head[3] not in (2, 3, 4) or head[5] & 0x0F or any(b & 0x80 for b in head[6:10]):
        return None
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    after = 10 + size + (10 if head[5] & 0x10 else 0)
    while after < len(head) and head[after] == 0:  # some taggers pad beyond the declared size
        after += 1
    if after >= len(head) and len(head) < HEAD_BYTES:
        return None  # a small file that ends within its tag: no audio at all
    if head.startswith(b"fLaC", after):
        return "flac", "audio"
    if is_adts_at(head, after):
        return "aac", "audio"
    return "mp3", "audio"  # the audio after the tag is usually beyond the head: trust the tag


def _looks_like_utf16le_text(head: bytes) -> bool:
    # A UTF-16LE byte-order mark (FF FE) is also a valid MPEG-1 layer I frame header.
    high_bytes = head[3:64:2]
    return head.startswith(b"\xff\xfe") and high_bytes.count(0) * 4 >= len(high_bytes) * 3


def detect_frame_sync(head: bytes) -> Detected | None:
    """MP3 or ADTS AAC without a tag: the weakest signature, so callers try it last."""
    if head[:1] != b"\xff" or _looks_like_utf16le_text(head):
        return None
    if is_mp3_at(head):
        return "mp3", "audio"
    if is_adts_at(head):
        return "aac", "audio"
    return None


def _ac3(head: bytes, more: Bytes) -> Detected | None:
    fmt = syncframes.is_ac3(head)
    return (fmt, "audio") if fmt is not None else None


def _loas(head: bytes, more: Bytes) -> Detected | None:
    return ("latm", "audio") if syncframes.is_loas(head) else None


def _transport_stream(head: bytes, more: Bytes) -> Detected | None:
    return mpegsys.transport_stream(head)


_BY_MAGIC: dict[bytes, Checker] = {
    b"RIFF": _riff,
    b"RF64": _riff,
    b"BW64": _riff,
    _W64_RIFF[:4]: _wave64,
    b"FORM": _aiff,
    b"caff": _caf,
    b"fLaC": _flac,
    b"#!AM": _amr,
    b"OggS": _ogg,
    ebml.EBML_MAGIC: _matroska,
    _ASF_HEADER[:4]: _asf,
    b"FLV\x01": _flv,
    b".snd": _sun_au,
    b"dns.": _sun_au,
    _VOC_MAGIC[:4]: _voc,
    b"\x7f\xfe\x80\x01": _dts,
    b"DTSH": _dts_hd,
    b"\x00\x00\x01\xba": _program_stream,
}
# Streams whose first byte is a sync byte or the start of a sync word.
_BY_FIRST_BYTE: dict[int, Checker] = {
    0x47: _transport_stream,  # 'G', every 188 bytes
    0x0B: _ac3,  # 0x0B77
    0x56: _loas,  # 0x2B7 in 11 bits
}


def _iso_media(head: bytes, more: Bytes) -> Detected | None:
    brands = isobmff.ftyp_brands(head)
    if brands is None:
        # QuickTime files older than ftyp start straight with a movie atom.
        if head[4:8] in (b"moov", b"mdat", b"wide") and int.from_bytes(head[0:4], "big") >= 8:
            detected: Detected | None = ("mov", "video")
        else:
            return None
    else:
        detected = isobmff.brand_format(*brands)
    if detected is None or detected[0] == "m4a":
        return detected
    # The brand says little (phones write audio-only 3gp/mp42/isom files): the track handlers
    # decide, wherever moov lies. Audio only when every track was seen and none is video.
    handlers, complete = isobmff.track_handlers(more)
    if b"vide" in handlers:
        return detected[0], "video"
    if complete and b"soun" in handlers:
        return detected[0], "audio"
    return detected


def detect_media(head: bytes, more: Bytes | None = None) -> Detected | None:
    """Containers and streams with a signature (everything but bare MPEG audio: see detect_frame_sync)."""
    if more is None:
        more = Bytes(head)
    checker = _BY_MAGIC.get(head[:4])
    if checker is not None:
        found = checker(head, more)
        if found is not None:
            return found
    if head.startswith(b"ID3"):
        return _id3(head)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide"):
        return _iso_media(head, more)
    checker = _BY_FIRST_BYTE.get(head[0]) if head else None
    if checker is not None:
        found = checker(head, more)
        if found is not None:
            return found
    if head[4:5] == b"\x47":  # M2TS: a 4-byte timestamp before each transport packet
        return mpegsys.transport_stream(head)
    return None
