"""Content-based classification against real files made by tests/fixtures/make_fixtures.sh."""

from __future__ import annotations

import io
import os
import random
import struct
import zipfile
from pathlib import Path

import pytest

from auditor.classify import HEAD_BYTES, LOOK_FURTHER_BUDGET, Classification, classify, needs_sniff
from auditor.classify.model import KINDS

MEDIA = Path(__file__).parent / "fixtures" / "media"

# fixture -> (kind, media, format, inner_name), classified with a reader over the whole file (as
# the local scan does); inner_media equals media for encrypted files.
EXPECTED: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "session.wav": ("media", "audio", "wav", None),
    "session-dated.wav": ("media", "audio", "wav", None),
    "session-rf64.wav": ("media", "audio", "wav", None),
    "session.w64": ("media", "audio", "w64", None),
    "session.mp3": ("media", "audio", "mp3", None),
    "session-id3v24.mp3": ("media", "audio", "mp3", None),
    "session-bare.mp3": ("media", "audio", "mp3", None),
    "session.m4a": ("media", "audio", "m4a", None),
    "session-audio.mp4": ("media", "audio", "mp4", None),  # moov at the end: read past the head
    "session-audio.3gp": ("media", "audio", "3gp", None),
    "session.aac": ("media", "audio", "aac", None),
    "session.loas": ("media", "audio", "latm", None),
    "session.ac3": ("media", "audio", "ac3", None),
    "session.eac3": ("media", "audio", "eac3", None),
    "session.dts": ("media", "audio", "dts", None),
    "session.au": ("media", "audio", "au", None),
    "session.voc": ("media", "audio", "voc", None),
    "session.ogg": ("media", "audio", "ogg-vorbis", None),
    "session.opus": ("media", "audio", "ogg-opus", None),
    "session.spx": ("media", "audio", "ogg", None),
    "session-audio.webm": ("media", "audio", "webm", None),
    "session-dated.mkv": ("media", "audio", "matroska", None),
    "session-tracks-past-head.mka": ("media", "audio", "matroska", None),
    "session.flac": ("media", "audio", "flac", None),
    "session.amr": ("media", "audio", "amr", None),
    "session.aiff": ("media", "audio", "aiff", None),
    "session.caf": ("media", "audio", "caf", None),
    "session.wma": ("media", "audio", "wma", None),
    "session-dated.wma": ("media", "audio", "wma", None),
    "session-audio.mpg": ("media", "audio", "mpeg-ps", None),
    "session-audio.ts": ("media", "audio", "mpeg-ts", None),
    "session.mp4": ("media", "video", "mp4", None),
    "session-dated.mp4": ("media", "video", "mp4", None),
    "session.mov": ("media", "video", "mov", None),
    "session.3gp": ("media", "video", "3gp", None),
    "session.webm": ("media", "video", "webm", None),
    "session.mkv": ("media", "video", "matroska", None),
    "session-tracks-past-head.mkv": ("media", "video", "matroska", None),
    "session.wmv": ("media", "video", "wmv", None),
    "session.avi": ("media", "video", "avi", None),
    "session-dated.avi": ("media", "video", "avi", None),
    "session.flv": ("media", "video", "flv", None),
    "session.mpg": ("media", "video", "mpeg-ps", None),
    "session.vob": ("media", "video", "mpeg-ps", None),
    "session.ts": ("media", "video", "mpeg-ts", None),
    "session.MTS": ("media", "video", "m2ts", None),
    "session.vtt": ("transcript", "transcript", "webvtt", None),
    "session.srt": ("transcript", "transcript", "srt", None),
    "session.ttml": ("transcript", "transcript", "ttml", None),
    "session.dfxp": ("transcript", "transcript", "ttml", None),
    "session.sbv": ("transcript", "transcript", "sbv", None),
    "session.ass": ("transcript", "transcript", "ass", None),
    "session-whisper.json": ("transcript", "transcript", "whisper-json", None),
    "session-whisper-long.json": ("transcript", "transcript", "whisper-json", None),  # segments past the head
    "session-whisper-cpp.json": ("transcript", "transcript", "whisper-json", None),
    "session-whisper.tsv": ("transcript", "transcript", "whisper-tsv", None),
    "session-otter.txt": ("transcript", "transcript", "text-transcript", None),
    "meeting_saved_closed_caption.txt": ("transcript", "transcript", "text-transcript", None),
    "session-turns.txt": ("transcript", "transcript", "text-transcript", None),
    "session-clock-turns.txt": ("transcript", "transcript", "text-transcript", None),
    "session-otter.docx": ("transcript", "transcript", "docx-transcript", None),
    "session-teams.docx": ("transcript", "transcript", "docx-transcript", None),
    "session-teams-stream.docx": ("transcript", "transcript", "docx-transcript", None),
    "recordings.zip": ("archive", "audio", "zip", None),
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
    # hard negatives
    "fake.mp3": ("other", None, None, None),
    "noise.bin": ("other", None, None, None),
    "signed-only.vtt.asc": ("other", None, None, None),
    "stored-only.vtt.gpg": ("other", None, None, None),
    "scheduler.ts": ("other", None, None, None),  # TypeScript under the transport stream's extension
    "config.json": ("other", None, None, None),  # has "segments" with start/end, and "text"
    "agenda.txt": ("other", None, None, None),  # times, names, even "Name  9:15" lines
    "README-times.md": ("other", None, None, None),  # "10:00:01 Build: ..." lines
    "server.log": ("other", None, None, None),  # "[10:01:00] INFO: ..." lines
    "letter.docx": ("other", None, None, None),  # appointment times in a letter
    "documents.zip": ("other", None, None, None),
    "typescript-sources.zip": ("other", None, None, None),  # .ts members are not taken for video
}
# What a classification from the head alone (no reader, as an S3 object's first GET) says instead.
HEAD_ONLY: dict[str, tuple[str, str | None, str | None]] = {
    "session-audio.mp4": ("media", "video", "mp4"),  # the brand's default: moov is out of reach
    "session-audio.3gp": ("media", "video", "3gp"),
    "session-tracks-past-head.mkv": ("media", None, "matroska"),  # unknown, never a guess of audio
    "session-tracks-past-head.mka": ("media", None, "matroska"),
    "session-whisper-long.json": ("other", None, None),
    "documents.zip": ("other", None, "zip"),  # a listing from the head alone is partial: said so
}


class FileReader:
    """A RangeReader over a fixture that records every read, like the scan's reader."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self.data[offset : offset + length]

    @property
    def bytes_read(self) -> int:
        return sum(length for _, length in self.reads)


def head_of(name: str, size: int = HEAD_BYTES) -> bytes:
    with open(MEDIA / name, "rb") as handle:
        return handle.read(size)


def classify_file(name: str, budget: int = LOOK_FURTHER_BUDGET) -> tuple[Classification, FileReader]:
    data = (MEDIA / name).read_bytes()
    reader = FileReader(data)
    return classify(data[:HEAD_BYTES], name, reader, budget), reader


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in MEDIA.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_classified_by_content(name: str) -> None:
    kind, media, fmt, inner = EXPECTED[name]
    got, reader = classify_file(name)
    assert (got.kind, got.media, got.format, got.inner_name) == (kind, media, fmt, inner)
    assert reader.bytes_read <= LOOK_FURTHER_BUDGET
    assert got.inner_media == (media if kind == "encrypted" else None)
    assert got.is_recording == (
        kind in ("media", "transcript", "archive") or (kind == "encrypted" and media is not None)
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_from_the_head_alone(name: str) -> None:
    """Without a reader (an S3 object's one ranged GET) the answer differs only where documented."""
    kind, media, fmt, _ = EXPECTED[name]
    got = classify(head_of(name), name)
    assert (got.kind, got.media, got.format) == HEAD_ONLY.get(name, (kind, media, fmt))


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e[0] == "other"))
def test_negatives_are_not_recordings(name: str) -> None:
    assert not classify(head_of(name), name).is_recording
    assert not classify_file(name)[0].is_recording


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


def _zip_bytes(password_flag: bool, *, zip64: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
        archive.writestr("notes.txt", b"hello")
        archive.writestr("audio/session.m4a", head_of("session.m4a"))
        if zip64:  # the end record then points to a Zip64 end record, as for archives over 4 GiB
            archive.writestr(
                zipfile.ZipInfo("audio/long.wav"), os.urandom(9000), compress_type=zipfile.ZIP_STORED
            )
    data = bytearray(buffer.getvalue())
    if zip64:
        end = data.rindex(b"PK\x05\x06")
        struct.pack_into("<HHII", data, end + 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        directory = data.index(b"PK\x01\x02")
        record = struct.pack(
            "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 3, 3, end - directory, directory
        )
        locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1)
        data[end:end] = record + locator
    if password_flag:  # mark the second entry encrypted, in its local and central headers, as zip -P would
        for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            second = data.index(signature, data.index(signature) + 4)
            flags = struct.unpack_from("<H", data, second + flags_at)[0]
            struct.pack_into("<H", data, second + flags_at, flags | 1)
    return bytes(data)


def _classify_bytes(
    data: bytes, name: str, budget: int = LOOK_FURTHER_BUDGET
) -> tuple[Classification, FileReader]:
    reader = FileReader(data)
    return classify(data[:HEAD_BYTES], name, reader, budget), reader


def test_unencrypted_zip_of_recordings_is_an_archive_and_an_encrypted_one_is_not() -> None:
    got = classify(_zip_bytes(password_flag=False), "x.zip")
    assert (got.kind, got.media, got.format) == ("archive", "audio", "zip")
    assert got.archive is not None and got.archive.by_media == (("audio", 1),)
    got = classify(_zip_bytes(password_flag=True), "x.zip")
    assert (got.kind, got.inner_name, got.inner_media) == ("encrypted", "audio/session.m4a", "audio")


def test_archive_members_come_from_the_central_directory() -> None:
    got, reader = classify_file("recordings.zip")
    assert got.archive is not None
    assert (got.archive.listed, got.archive.recordings, got.archive.complete) == (2, 2, True)
    assert got.archive.by_media == (("audio", 1), ("transcript", 1))
    assert reader.reads and reader.reads[0][0] > 0  # one ranged read of the tail
    # From the head alone only the first local header is seen (its data runs past the head).
    head_only = classify(head_of("recordings.zip"), "recordings.zip")
    assert head_only.archive is not None and not head_only.archive.complete


def test_zip64_end_record_is_followed() -> None:
    data = _zip_bytes(password_flag=False, zip64=True)
    assert data.rindex(b"PK\x06\x06") > HEAD_BYTES
    got, _ = _classify_bytes(data, "big.zip")
    assert got.kind == "archive" and got.archive is not None
    assert (got.archive.listed, got.archive.by_media, got.archive.complete) == (3, (("audio", 2),), True)


def test_large_directory_is_listed_within_the_budget_and_said_to_be_partial() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(400):
            archive.writestr(f"scans/page-{i:04d}.pdf", b"%PDF-1.7")
        archive.writestr("audio/zz-session.m4a", b"late member")
    data = buffer.getvalue()
    got, reader = _classify_bytes(data, "scans.zip")
    assert got.kind == "other"  # the recording lies past what the budget lets us list...
    assert got.archive is not None and not got.archive.complete  # ...and the listing says so
    assert got.archive.declared == 401 and 0 < got.archive.listed < 401
    assert reader.bytes_read <= LOOK_FURTHER_BUDGET
    got, _ = _classify_bytes(data, "scans.zip", budget=64 * 1024)
    assert got.kind == "archive" and got.archive is not None and got.archive.complete


def test_zip_with_only_an_encrypted_document_is_encrypted_but_no_recording() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tax-return.pdf", b"%PDF-1.7")
    data = bytearray(buffer.getvalue())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        struct.pack_into("<H", data, at + flags_at, struct.unpack_from("<H", data, at + flags_at)[0] | 1)
    got, _ = _classify_bytes(bytes(data), "x.zip")
    assert (got.kind, got.inner_name, got.is_recording) == ("encrypted", "tax-return.pdf", False)


def test_docx_transcript_reads_the_directory_and_a_bounded_slice_of_the_document() -> None:
    data = bytearray((MEDIA / "session-teams.docx").read_bytes())
    got, reader = _classify_bytes(bytes(data), "x.docx")
    assert got.format == "docx-transcript" and reader.bytes_read <= LOOK_FURTHER_BUDGET
    # The same document with its turns' times removed is a document, not a transcript.
    plain = _docx_with_paragraphs(
        ["Weekly session", "Dr. Rivera", "Good morning.", "Sam Taylor", "Better."] * 5
    )
    assert _classify_bytes(plain, "x.docx")[0].kind == "other"


def _docx_with_paragraphs(paragraphs: list[str]) -> bytes:
    import docx  # python-docx: only to make the test's input

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_whose_document_lies_past_the_head_is_read_through_the_directory() -> None:
    import docx

    document = docx.Document()
    for i in range(12):
        who = ("Dr. Rivera", "Sam Taylor")[i % 2]
        document.add_paragraph(f"{who}   0:{i * 5:02d}")
        document.add_paragraph("Some words said in the session, long enough to be a real turn. " * 2)
    raw = io.BytesIO()
    document.save(raw)
    # Repack with a large first member so that word/document.xml starts well past the head.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        target.writestr("[Content_Types].xml", source.read("[Content_Types].xml"))
        target.writestr(zipfile.ZipInfo("word/media/padding.bin"), os.urandom(9000))
        for info in source.infolist():
            if info.filename != "[Content_Types].xml":
                target.writestr(info, source.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").header_offset > HEAD_BYTES
    got, reader = _classify_bytes(data, "x.docx")
    assert got.format == "docx-transcript"
    assert 0 < reader.bytes_read <= LOOK_FURTHER_BUDGET
    assert classify(data[:HEAD_BYTES], "x.docx").kind == "other"  # unreachable from the head alone


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
        assert got.kind in KINDS


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_damaged_files_do_not_crash(name: str) -> None:
    """Every detector, fed its own format with bytes flipped, cut or spliced: an answer, never an error."""
    data = (MEDIA / name).read_bytes()
    rng = random.Random(name)
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(1, len(damaged) + 1)]
        got, reader = _classify_bytes(bytes(damaged), name)
        assert got.kind in KINDS
        assert reader.bytes_read <= LOOK_FURTHER_BUDGET


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
        ("00001.ts", True),  # TypeScript or a transport stream: the content decides
        ("src/index.TS", True),
        ("node_modules/@types/node/fs.d.ts", False),  # a declaration file is always TypeScript
        ("types.D.TS", False),
    ],
)
def test_needs_sniff(name: str, expected: bool) -> None:
    assert needs_sniff(name) is expected


def test_needs_sniff_table_is_an_immutable_set() -> None:
    from auditor.classify.names import NO_SNIFF_EXTENSIONS

    assert isinstance(NO_SNIFF_EXTENSIONS, frozenset)
    assert not NO_SNIFF_EXTENSIONS & {"zip", "gpg", "pgp", "asc", "age", "enc", "dat", "bin", "tmp", "raw"}


def _patched(name: str, at: int, value: int) -> bytes:
    data = bytearray((MEDIA / name).read_bytes())
    data[at] = value
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "at", "value"),
    [
        ("session.ts", 188 * 7, 0x48),  # one packet boundary without its sync byte
        ("session.MTS", 4 + 192 * 5, 0x00),
        ("session.mpg", 14, 0x02),  # the pack header is not followed by a start code
        ("session.vob", 4, 0x40),  # MPEG-2 pack header with a marker bit cleared
        ("session.ac3", 256, 0x00),  # the second syncframe is not where the first one ends
        ("session.eac3", 256, 0x00),
        ("session.dts", 428, 0x00),  # 428-byte core frames at this rate
        ("session.loas", 379, 0x00),  # the first AudioMuxElement is 376 bytes long
        ("session.flv", 8, 0x0A),  # header size 10
        ("session.avi", 20, 0x00),  # RIFF AVI whose first list is not hdrl
        ("session.w64", 24, 0x00),  # the wave GUID is wrong
        ("session.au", 15, 0x00),  # encoding 0
        ("session.voc", 24, 0x00),  # version checksum wrong
    ],
)
def test_one_broken_field_and_the_detector_says_no(name: str, at: int, value: int) -> None:
    assert classify_file(name)[0].kind == "media"
    data = _patched(name, at, value)
    assert data != (MEDIA / name).read_bytes()
    assert _classify_bytes(data, name)[0].kind == "other"


def test_ac3_frame_alone_is_not_a_stream() -> None:
    first_frame = head_of("session.ac3", 256)  # 64 kbit/s at 48 kHz: 256-byte frames
    assert classify(first_frame + head_of("session.ac3", 512)[256:262], "x").format == "ac3"
    assert classify(first_frame, "x").kind == "other"


def test_text_starting_with_a_sync_byte_is_not_a_stream() -> None:
    for text in (b"G" * 4096, b"GET / HTTP/1.1\r\n" * 300, b"V\xe0 " * 1000, b"\x0bw" + bytes(4094)):
        assert classify(text, "x.ts").kind == "other"


def test_moov_at_the_end_costs_a_few_small_reads() -> None:
    got, reader = classify_file("session-audio.mp4")
    assert got.media == "audio"
    assert 0 < reader.bytes_read <= 256 and all(length <= 16 for _, length in reader.reads)
    got, _ = classify_file("session-audio.mp4", budget=8)  # too little to reach the handlers
    assert (got.format, got.media) == ("mp4", "video")  # the brand's default, as from the head alone


def test_matroska_track_list_past_the_head_is_unknown_until_read() -> None:
    data = (MEDIA / "session-tracks-past-head.mkv").read_bytes()
    assert data.index(b"V_VP8") > HEAD_BYTES  # the video track really lies past the head
    assert classify(data[:HEAD_BYTES], "x.mkv").media is None
    got, reader = classify_file("session-tracks-past-head.mkv")
    assert got.media == "video" and 0 < reader.bytes_read <= 512
    assert classify_file("session-tracks-past-head.mkv", budget=16)[0].media is None


def test_whisper_json_whose_segments_start_past_the_head_is_confirmed_by_its_end() -> None:
    data = (MEDIA / "session-whisper-long.json").read_bytes()
    assert data.index(b'"segments"') > HEAD_BYTES
    got, reader = classify_file("session-whisper-long.json")
    assert got.format == "whisper-json" and reader.reads == [(len(data) - 2048, 2048)]
    # A JSON document that merely starts with "text" is not a transcript, whatever its end.
    other = b'{"text": "' + b"x" * 5000 + b'", "items": [1, 2, 3]}'
    assert _classify_bytes(other, "notes.json")[0].kind == "other"


TURNS = [("Dr. Rivera", "0:00", "Hello, how are you?"), ("Sam Taylor", "0:04", "Fine, thanks."),
         ("Dr. Rivera", "0:09", "What brings you here?"), ("Sam Taylor", "0:15", "Work, mostly."),
         ("Dr. Rivera", "0:21", "Tell me more."), ("Sam Taylor", "0:30", "It is a lot.")]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"{who}  {t}\n{words}\n\n" for who, t, words in TURNS),  # Otter
        "".join(f"{who}  {t}\r\n{words}\r\n\r\n" for who, t, words in TURNS),  # Otter, Windows line ends
        "".join(f"[{who}] 10:0{i}:1{i}\n{words}\n\n" for i, (who, _, words) in enumerate(TURNS)),  # Zoom cc
        "".join(f"[0{t}] {who}: {words}\n" for who, t, words in TURNS),  # [00:04] Name: words
        "".join(f"00:0{t} {who}: {words}\n" for who, t, words in TURNS),  # 00:00:04 Name: words
        "".join(f"00:0{t}\t{who}\t{words}\n" for who, t, words in TURNS),  # tab-separated
        "".join(f"{who} (0{t}): {words}\n" for who, t, words in TURNS),  # Name (00:04): words
        "Interview\nRecorded 5 March\n\n" + "".join(f"{who}  {t}\n{words}\n\n" for who, t, words in TURNS),
        "".join(f"SPEAKER_0{i % 2}  0:{i * 7:02d}\n{words}\n\n" for i, (_, _, words) in enumerate(TURNS)),
        "".join(
            f"Dr. Rivera  0:{i * 9:02d}\nDictation, part {i}.\n\n" for i in range(7)
        ),  # one voice, many turns
        "".join(f"山田 太郎  0:{i * 9:02d}\nこんにちは。\n\n" for i in range(4)).replace(
            "山田 太郎  0:09", "佐藤  0:09"
        ),
    ],
)
def test_plain_text_transcripts(text: str) -> None:
    assert classify(text.encode(), "transcript.txt").format == "text-transcript"
    assert classify(text.encode("utf-16"), "transcript.txt").format == "text-transcript"


@pytest.mark.parametrize(
    "text",
    [
        # agendas and timetables: times and names, but no conversation
        "Agenda\n9:00 Welcome\n9:15 Budget (Alice)\n9:45 Updates: Bob\n10:30 Close\n",
        "Welcome  9:00\nBudget review  9:15\nUpdates  9:45\nClose  10:30\n",
        "Alice  9:00\nBob  9:15\nAlice  9:45\nBob  10:30\n",
        "[09:00] Welcome: coffee\n[09:30] Talk: Alice\n[10:00] Talk: Bob\n",  # every "speaker" once
        # the same shapes in logs, changelogs, chats and lyrics
        "".join(f"[10:00:0{i}] INFO: started worker {i}\n" for i in range(9)),
        "".join(f"10:00:0{i} WARNING: disk {i}\n" for i in range(9)),
        "10:00:01 Build: one\n10:00:02 Build: two\n10:00:03 Build: three\n",  # one voice, three lines
        "".join(f"10:0{i}:00 From  Jane Doe : message {i}\n" for i in range(9)),  # a Zoom chat
        "".join(f"[00:{i:02d}.50]La la la line {i}\n" for i in range(20)),  # LRC lyrics
        # the turns must be a good part of the text, and times must not go back
        "Notes\n"
        + "Plain sentence without any times at all.\n" * 40
        + "".join(f"[0{t}] {who}: {words}\n" for who, t, words in TURNS[:3]),
        "".join(f"[0{t}] {who}: {words}\n" for who, t, words in reversed(TURNS)),
        "date,time,speaker,words\n"
        + "".join(f"2024-03-05,00:0{t},{who},{words}\n" for who, t, words in TURNS),
    ],
)
def test_text_with_times_that_is_not_a_transcript(text: str) -> None:
    assert classify(text.encode(), "notes.txt").kind == "other"


def test_random_heads_are_never_recordings() -> None:
    """The zero-false-positive check: 200,000 random 4 KiB heads, none called anything."""
    rng = random.Random(20240305)
    hits = []
    for i in range(200_000):
        head = rng.randbytes(HEAD_BYTES)
        got = classify(head, "blob")
        if got.kind != "other":
            hits.append((i, got))
    assert hits == []


def test_small_random_files_are_never_recordings() -> None:
    """Files smaller than the head are whole in it: one MPEG/ADTS frame header or one OpenPGP
    session key with nothing after it is no recording (random bytes hit a frame header about once
    in 4,000)."""
    rng = random.Random(20240312)
    hits = []
    for size in (16, 100, 600, 2000):
        for i in range(30_000):
            head = rng.randbytes(size)
            got = classify(head, "blob")
            if got.kind != "other":
                hits.append((size, i, got.format))
    assert hits == []


def test_one_mpeg_frame_alone_is_no_stream() -> None:
    data = (MEDIA / "session-bare.mp3").read_bytes()
    frame = 72 * 16000 // 8000 + ((data[2] >> 1) & 1)  # MPEG-2.5 layer III, 16 kbit/s, 8 kHz
    assert classify(data[: 2 * frame + 4], "x").format == "mp3"  # two frames and the third's sync
    assert classify(data[:frame], "x").kind == "other"  # 26 ms of sound, and nothing after it
    assert classify(data[:40], "x").kind == "other"  # a header whose frame the file cannot hold


def test_an_id3_tag_without_audio_is_no_recording() -> None:
    tagged = (MEDIA / "session-id3v24.mp3").read_bytes()
    size = (tagged[6] << 21) | (tagged[7] << 14) | (tagged[8] << 7) | tagged[9]
    assert classify(tagged, "x").format == "mp3"
    assert classify(tagged[: 10 + size], "x").kind == "other"  # the tag, and the file ends
    assert classify(b"ID3 notes\n", "x").kind == "other"
    assert classify(b"ID3", "x").kind == "other"


def _gpg(home: Path, *args: str, data: bytes | None = None) -> bytes:
    import subprocess

    res = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback", *args],
        input=data,
        capture_output=True,
        check=True,
    )
    return res.stdout


def test_openpgp_message_to_many_recipients_and_a_session_key_alone(tmp_path: Path) -> None:
    """Real gpg: a message encrypted to ten recipients (more session keys than the check reads in
    a row) is encrypted; its first session key packet alone, as a small file, is not."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    recipients = [f"staff{i}@riverside.example" for i in range(10)]
    for uid in recipients:
        _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never")
    plain = (MEDIA / "session.m4a").read_bytes()
    args = [arg for uid in recipients for arg in ("-r", uid)]
    message = _gpg(home, "--trust-model", "always", "--encrypt", *args, data=plain)
    got = classify(message[:HEAD_BYTES], "session.m4a.gpg")
    assert (got.kind, got.format, got.inner_media) == ("encrypted", "openpgp", "audio")
    assert message[0] & 0xBC == 0x84  # an old-format packet of tag 1 (PKESK), RFC 4880 4.2
    width = 1 << (message[0] & 0x03)
    first_length = 1 + width + int.from_bytes(message[1 : 1 + width], "big")
    assert classify(message[:first_length], "session.m4a.gpg").kind == "other"
    assert classify(message[: first_length + 1], "session.m4a.gpg").kind == "other"
