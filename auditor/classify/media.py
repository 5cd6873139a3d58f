"""Audio/video containers recognised from the first bytes.

Table-driven: the first four bytes select a checker (most formats have a magic number there);
formats whose signature sits elsewhere (ftyp at offset 4, MPEG frame sync) are tried after.
Each checker returns (format, media) or None.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.classify import ebml, isobmff
from auditor.classify.mpeg import is_adts_at, is_mp3_at

Detected = tuple[str, str]  # (format, media)
Checker = Callable[[bytes], "Detected | None"]

_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_AUDIO_MEDIA = bytes.fromhex("409e69f84d5bcf11a8fd00805f5c442b")
_ASF_VIDEO_MEDIA = bytes.fromhex("c0ef19bc4d5bcf11a8fd00805f5c442b")
_AMR_MAGICS = (b"#!AMR\n", b"#!AMR-WB\n", b"#!AMR_MC1.0\n", b"#!AMR-WB_MC1.0\n")


def _riff(head: bytes) -> Detected | None:
    # RIFF, RF64 and BW64 share the layout: magic, 32-bit size, form type.
    return ("wav", "audio") if head[8:12] == b"WAVE" else None


def _aiff(head: bytes) -> Detected | None:
    return ("aiff", "audio") if head[8:12] in (b"AIFF", b"AIFC") else None


def _caf(head: bytes) -> Detected | None:
    # "caff", file version 1, flags 0
    return ("caf", "audio") if head[4:8] == b"\x00\x01\x00\x00" else None


def _flac(head: bytes) -> Detected | None:
    # The first metadata block must be STREAMINFO (type 0, 34 bytes long).
    if len(head) >= 8 and (head[4] & 0x7F != 0 or head[5:8] != b"\x00\x00\x22"):
        return None
    return "flac", "audio"


def _amr(head: bytes) -> Detected | None:
    return ("amr", "audio") if head.startswith(_AMR_MAGICS) else None


def _asf(head: bytes) -> Detected | None:
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


def _ogg(head: bytes) -> Detected | None:
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


def _matroska(head: bytes) -> Detected | None:
    parsed = ebml.parse_head(head)
    if parsed is None:
        return None
    if parsed.doctype is not None and parsed.doctype not in ("webm", "matroska"):
        return None
    fmt = "webm" if parsed.doctype == "webm" else "matroska"
    has_video = parsed.saw_video_element or ebml.TRACK_VIDEO in parsed.track_types
    has_audio = parsed.saw_audio_element or ebml.TRACK_AUDIO in parsed.track_types
    # Only say audio when tracks were seen and none is video; unseen tracks could be anything.
    return fmt, "audio" if has_audio and not has_video else "video"


def _id3(head: bytes) -> Detected | None:
    # "ID3", major version 2-4, revision, flags, 4-byte syncsafe size (top bits clear)
    if len(head) >= 10 and (head[3] not in (2, 3, 4) or head[5] & 0x0F or any(b & 0x80 for b in head[6:10])):
        return None
    if len(head) < 10:
        return "mp3", "audio"
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    after = 10 + size + (10 if head[5] & 0x10 else 0)
    while after < len(head) and head[after] == 0:  # some taggers pad beyond the declared size
        after += 1
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


_BY_MAGIC: dict[bytes, Checker] = {
    b"RIFF": _riff,
    b"RF64": _riff,
    b"BW64": _riff,
    b"FORM": _aiff,
    b"caff": _caf,
    b"fLaC": _flac,
    b"#!AM": _amr,
    b"OggS": _ogg,
    ebml.EBML_MAGIC: _matroska,
    _ASF_HEADER[:4]: _asf,
}


def _iso_media(head: bytes) -> Detected | None:
    brands = isobmff.ftyp_brands(head)
    if brands is None:
        # QuickTime files older than ftyp start straight with a movie atom.
        if head[4:8] in (b"moov", b"mdat", b"wide") and int.from_bytes(head[0:4], "big") >= 8:
            return "mov", "video"
        return None
    detected = isobmff.brand_format(*brands)
    if detected is None or detected[0] == "m4a":
        return detected
    handlers = isobmff.handler_types(head)  # only when moov is at the front ("faststart")
    if b"vide" in handlers:
        return detected[0], "video"
    if b"soun" in handlers:
        return detected[0], "audio"
    return detected


def detect_media(head: bytes) -> Detected | None:
    """Containers with a magic number (everything but bare MPEG frames: see detect_frame_sync)."""
    checker = _BY_MAGIC.get(head[:4])
    if checker is not None:
        found = checker(head)
        if found is not None:
            return found
    if head.startswith(b"ID3"):
        return _id3(head)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide"):
        return _iso_media(head)
    return None
