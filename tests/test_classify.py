"""Content-based classification against real files made by tests/fixtures/make_fixtures.sh."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from auditor.classify import HEAD_BYTES, Classification, classify, needs_sniff

MEDIA = Path(__file__).parent / "fixtures" / "media"

# fixture -> (kind, media, format, inner_name); inner_media equals media for encrypted files.
EXPECTED: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "session.wav": ("media", "audio", "wav", None),
    "session-dated.wav": ("media", "audio", "wav", None),
    "session-rf64.wav": ("media", "audio", "wav", None),
    "session.mp3": ("media", "audio", "mp3", None),
    "session-id3v24.mp3": ("media", "audio", "mp3", None),
    "session-bare.mp3": ("media", "audio", "mp3", None),
    "session.m4a": ("media", "audio", "m4a", None),
    "session.aac": ("media", "audio", "aac", None),
    "session.ogg": ("media", "audio", "ogg-vorbis", None),
    "session.opus": ("media", "audio", "ogg-opus", None),
    "session-audio.webm": ("media", "audio", "webm", None),
    "session-dated.mkv": ("media", "audio", "matroska", None),
    "session.flac": ("media", "audio", "flac", None),
    "session.amr": ("media", "audio", "amr", None),
    "session.aiff": ("media", "audio", "aiff", None),
    "session.caf": ("media", "audio", "caf", None),
    "session.wma": ("media", "audio", "wma", None),
    "session.mp4": ("media", "video", "mp4", None),
    "session-dated.mp4": ("media", "video", "mp4", None),
    "session.mov": ("media", "video", "mov", None),
    "session.3gp": ("media", "video", "3gp", None),
    "session.webm": ("media", "video", "webm", None),
    "session.mkv": ("media", "video", "matroska", None),
    "session.wmv": ("media", "video", "wmv", None),
    "session.vtt": ("transcript", "transcript", "webvtt", None),
    "session.srt": ("transcript", "transcript", "srt", None),
    "session.m4a.gpg": ("encrypted", "audio", "openpgp", "session.m4a"),
    "session.vtt.pgp": ("encrypted", "transcript", "openpgp", "session.vtt"),
    "session.wav.asc": ("encrypted", "audio", "openpgp-armored", "session.wav"),
    "session.wav.age": ("encrypted", "audio", "age", "session.wav"),
    "session.m4a.age": ("encrypted", "audio", "age-armored", "session.m4a"),
    "session.m4a.enc": ("encrypted", "audio", "openssl-salted", "session.m4a"),
    "encrypted.zip": ("encrypted", "audio", "zip-encrypted", "session.m4a"),
    "age-identity.txt": ("key", None, "age-identity", None),
    "pem-private-key.pem": ("key", None, "pem-private-key", None),
    "pgp-private-key.asc": ("key", None, "pgp-private-key", None),
    # disguised recordings: the content decides
    "session-copy.dat": ("media", "video", "mp4", None),
    "session-noext": ("media", "audio", "ogg-vorbis", None),
    # negatives
    "fake.mp3": ("other", None, None, None),
    "noise.bin": ("other", None, None, None),
    "signed-only.vtt.asc": ("other", None, None, None),
    "stored-only.vtt.gpg": ("other", None, None, None),
}


def head_of(name: str, size: int = HEAD_BYTES) -> bytes:
    with open(MEDIA / name, "rb") as handle:
        return handle.read(size)


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in MEDIA.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_classified_by_content(name: str) -> None:
    kind, media, fmt, inner = EXPECTED[name]
    got = classify(head_of(name), name)
    assert (got.kind, got.media, got.format, got.inner_name) == (kind, media, fmt, inner)
    assert got.inner_media == (media if kind == "encrypted" else None)
    assert got.is_recording == (
        kind in ("media", "transcript") or (kind == "encrypted" and media is not None)
    )


@pytest.mark.parametrize("name", ["fake.mp3", "noise.bin", "signed-only.vtt.asc", "stored-only.vtt.gpg"])
def test_negatives_are_not_recordings(name: str) -> None:
    assert not classify(head_of(name), name).is_recording


@pytest.mark.parametrize("original", ["session.wav", "session.mp4", "session.opus", "session.vtt"])
@pytest.mark.parametrize("disguise", ["archive.dat", "noextension", "notes.txt", "x.tmp"])
def test_names_never_decide_what_content_is(original: str, disguise: str) -> None:
    assert classify(head_of(original), disguise) == classify(head_of(original), original)
    assert classify(head_of(original), disguise).is_recording


def test_a_media_name_does_not_make_text_a_recording() -> None:
    text = b"Meeting notes, nothing to hear here.\n" * 20
    for name in ("call.mp3", "call.m4a", "call.wav", "call.vtt", "call.m4a.gpg", "call.wav.age"):
        assert classify(text, name).kind == "other"


def test_inner_name_comes_from_the_name_minus_crypto_suffixes() -> None:
    head = head_of("session.wav.age")
    got = classify(head, "s3-prefix/clients/ab/2024-01-02 session.mp4.age")
    assert (got.inner_name, got.inner_media, got.media) == ("2024-01-02 session.mp4", "video", "video")
    assert classify(head, "backup.wav.gpg.age").inner_name == "backup.wav"


def test_encrypted_file_whose_inner_name_is_not_media_is_not_a_recording() -> None:
    got = classify(head_of("session.m4a.gpg"), "tax-return.pdf.gpg")
    assert got.kind == "encrypted" and got.format == "openpgp"
    assert got.inner_media is None and not got.is_recording


def _zip_bytes(password_flag: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", b"hello")
        archive.writestr("audio/session.m4a", head_of("session.m4a"))
    data = bytearray(buffer.getvalue())
    if password_flag:  # mark the second entry encrypted, as zip -P would
        second = data.index(b"PK\x03\x04", 4)
        struct.pack_into("<H", data, second + 6, struct.unpack_from("<H", data, second + 6)[0] | 1)
    return bytes(data)


def test_zip_is_encrypted_only_when_an_entry_says_so() -> None:
    assert classify(_zip_bytes(password_flag=False), "x.zip").kind == "other"
    got = classify(_zip_bytes(password_flag=True), "x.zip")
    assert (got.kind, got.inner_name, got.inner_media) == ("encrypted", "audio/session.m4a", "audio")


def test_mp3_frame_sync_needs_a_second_frame() -> None:
    head = bytearray(head_of("session-bare.mp3"))
    assert classify(bytes(head), "x").format == "mp3"
    # The first frame header stays valid; the frame it points to no longer starts with a sync word.
    frame_length = 72 * 16000 // 8000 + ((head[2] >> 1) & 1)  # MPEG-2.5 layer III, 16 kbit/s, 8 kHz
    assert head[frame_length] == 0xFF  # the fixture's second frame is where the first one says
    head[frame_length] = 0x00
    assert classify(bytes(head), "x").kind == "other"


def test_id3_tag_in_front_of_adts_is_aac() -> None:
    tagged = b"ID3\x04\x00\x00\x00\x00\x00\x00" + head_of("session.aac", HEAD_BYTES - 10)
    assert classify(tagged, "x.aac").format == "aac"


def test_heif_image_with_ftyp_is_not_media() -> None:
    heic = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"heic", 0, b"mif1", b"heic") + bytes(200)
    assert classify(heic, "photo.heic").kind == "other"


def test_mp4_audio_only_track_is_audio_when_moov_is_in_the_head() -> None:
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(body), kind) + body

    hdlr = box(b"hdlr", bytes(8) + b"soun" + bytes(12))
    moov = box(b"moov", box(b"trak", box(b"mdia", hdlr)))
    head = box(b"ftyp", b"mp42" + bytes(4) + b"isom") + moov
    assert (classify(head, "x").format, classify(head, "x").media) == ("mp4", "audio")
    video = head.replace(b"soun", b"vide")
    assert classify(video, "x").media == "video"


def test_key_markers_inside_code_or_binaries_are_not_keys() -> None:
    code = b'PEM_START = b"-----BEGIN PRIVATE KEY-----"\nSECRET = "AGE-SECRET-KEY-1 goes here"\n'
    assert classify(code, "ssh_helpers").kind == "other"
    binary = b"\x00\x01magic\x00-----BEGIN RSA PRIVATE KEY-----\x00more"
    assert classify(binary, "magic.mgc").kind == "other"


def test_pgp_private_key_found_after_leading_text() -> None:
    head = b"Exported for backup\n\n" + head_of("pgp-private-key.asc")
    assert classify(head, "backup").format == "pgp-private-key"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\xef\xbb\xbfWEBVTT - session\n\n", "webvtt"),
        (b"WEBVTT", "webvtt"),
        (b"\xef\xbb\xbf1\n00:00:01.000 --> 00:00:03.500\nHello\n", "srt"),
        ("1\r\n00:00:01,000 --> 00:00:03,500\r\nHi\r\n".encode("utf-16"), "srt"),
    ],
)
def test_transcript_variants(head: bytes, fmt: str) -> None:
    assert classify(head, "t").format == fmt


@pytest.mark.parametrize(
    "head",
    [
        "Notes\r\nnothing to hear\r\n".encode("utf-16"),  # its BOM is also an MPEG-1 layer I header
        b"WEBVTTX\n",
        b"1\nnot a timing line\n",
        b"12:00:00,000 --> 12:00:01,000\n",
        b"2023\n",
    ],
)
def test_text_that_only_resembles_a_transcript(head: bytes) -> None:
    assert classify(head, "t.srt").kind == "other"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_truncated_heads_do_not_crash(name: str) -> None:
    full = head_of(name)
    for length in (*range(0, 33), 64, 100, 513):
        got = classify(full[:length], name)
        assert isinstance(got, Classification)
        assert got.kind in ("media", "transcript", "encrypted", "key", "other")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", False),
        ("Notes.TXT", False),
        ("letter.docx", False),
        ("script.py", False),
        ("photo.JPG", False),
        ("index.html", False),
        ("data.json", False),
        ("backup.tar.gz", False),
        ("archive.zip", True),  # password-protected zips of recordings matter
        ("session.m4a", True),
        ("session.WAV", True),
        ("session.vtt", True),
        ("session.m4a.gpg", True),
        ("session.wav.asc", True),
        ("session.wav.age", True),
        ("session.m4a.enc", True),
        ("capture.dat", True),
        ("capture.bin", True),
        ("capture.tmp", True),
        ("capture.raw", True),
        ("capture.xyz123", True),
        ("capture", True),
        (".hidden", True),
        ("dir.pdf/recording", True),  # only the last component's extension counts
        ("id_ed25519.key", True),
        ("s3-prefix/2024/session.docx", False),
    ],
)
def test_needs_sniff(name: str, expected: bool) -> None:
    assert needs_sniff(name) is expected


def test_needs_sniff_table_is_an_immutable_set() -> None:
    from auditor.classify.names import NO_SNIFF_EXTENSIONS

    assert isinstance(NO_SNIFF_EXTENSIONS, frozenset)
    assert not NO_SNIFF_EXTENSIONS & {"zip", "gpg", "pgp", "asc", "age", "enc", "dat", "bin", "tmp", "raw"}
