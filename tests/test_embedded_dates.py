"""Creation times inside containers, read within a byte budget."""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.classify import HEAD_BYTES, classify, embedded_created

FIXTURES = Path(__file__).parent / "fixtures"
MEDIA = FIXTURES / "media"


def dates_set_by_fixture_script() -> dict[str, str]:
    """The dates make_fixtures.sh wrote, read from the script so the two cannot drift apart."""
    script = (FIXTURES / "make_fixtures.sh").read_text()
    return dict(re.findall(r'^(\w+_(?:DATE|TIME))="([^"]+)"', script, flags=re.MULTILINE))


SET = dates_set_by_fixture_script()


class CountingReader:
    """A RangeReader over bytes that records every read, like a real file or S3 ranged GET."""

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


def created(data: bytes, budget: int = 4096) -> tuple[datetime | None, CountingReader]:
    head = data[:HEAD_BYTES]
    fmt = classify(head, "x").format
    assert fmt is not None
    reader = CountingReader(data)
    return embedded_created(fmt, head, reader, budget=budget), reader


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_mp4_creation_time_after_mdat_is_found_by_hopping_box_headers() -> None:
    data = (MEDIA / "session-dated.mp4").read_bytes()
    assert data.index(b"moov") > HEAD_BYTES  # the fixture really keeps moov out of the head
    found, reader = created(data)
    assert found == iso(SET["MP4_DATE"])
    assert found is not None and found.tzinfo is not None
    assert 0 < reader.bytes_read <= 64  # headers and the start of mvhd only, never the media


def test_mp4_date_is_unreachable_without_a_reader() -> None:
    head = (MEDIA / "session-dated.mp4").read_bytes()[:HEAD_BYTES]
    assert embedded_created("mp4", head, None) is None


def test_matroska_date_utc() -> None:
    found, reader = created((MEDIA / "session-dated.mkv").read_bytes())
    assert found == iso(SET["MKV_DATE"])
    assert reader.reads == []  # the Info element is in the head


def test_wav_bext_origination_date_and_time() -> None:
    found, _ = created((MEDIA / "session-dated.wav").read_bytes())
    assert found == datetime.fromisoformat(f"{SET['WAV_DATE']}T{SET['WAV_TIME']}").replace(tzinfo=UTC)


def test_avi_info_icrd() -> None:
    found, reader = created((MEDIA / "session-dated.avi").read_bytes())
    assert found == datetime.fromisoformat(SET["AVI_DATE"]).replace(tzinfo=UTC)
    assert 0 < reader.bytes_read <= 4096  # the INFO list sits after hdrl, past the head


def test_avi_camera_idit_when_there_is_no_icrd() -> None:
    original = (MEDIA / "session.avi").read_bytes()
    hdrl_at = original.index(b"LIST") + 8
    idit = _chunk(b"IDIT", b"MON MAR 04 17:30:05 2024\n\x00")
    hdrl_size = struct.unpack_from("<I", original, hdrl_at - 4)[0]
    patched = bytearray(original[: hdrl_at + 4] + idit + original[hdrl_at + 4 :])
    struct.pack_into("<I", patched, hdrl_at - 4, hdrl_size + len(idit))
    struct.pack_into("<I", patched, 4, len(patched) - 8)
    found, _ = created(bytes(patched))
    assert found == datetime(2024, 3, 4, 17, 30, 5, tzinfo=UTC)
    assert created(original)[0] is None


def test_asf_file_properties_creation_date() -> None:
    found, reader = created((MEDIA / "session-dated.wma").read_bytes())
    assert found == iso(SET["WMA_DATE"])
    assert reader.reads == []  # the header object is in the head


def test_asf_without_a_date_says_none_not_1970() -> None:
    data = (MEDIA / "session.wma").read_bytes()
    assert b"\x00\x80\x3e\xd5\xde\xb1\x9d\x01" in data  # ffmpeg writes the Unix epoch as FILETIME
    assert created(data)[0] is None


@pytest.mark.parametrize("name", ["session.mp3", "session-id3v24.mp3"])  # ID3v2.3 TYER+TDAT, v2.4 TDRC
def test_id3_dates(name: str) -> None:
    found, _ = created((MEDIA / name).read_bytes())
    assert found == datetime.fromisoformat(SET["MP3_DATE"]).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "session.wav",
        "session-rf64.wav",
        "session.mkv",
        "session-bare.mp3",
        "session.m4a",
        "session.flac",
        "session.avi",
        "session.wmv",
        "session-audio.mp4",
    ],
)
def test_undated_fixtures_give_none(name: str) -> None:
    found, reader = created((MEDIA / name).read_bytes())
    assert found is None
    assert reader.bytes_read <= 4096


def _zero_mvhd_creation(data: bytes) -> bytes:
    patched = bytearray(data)
    mvhd = patched.index(b"mvhd")
    assert patched[mvhd + 4] == 0  # version 0: 32-bit creation time after version+flags
    patched[mvhd + 8 : mvhd + 12] = bytes(4)
    return bytes(patched)


def test_mp4_creation_time_zero_means_unknown() -> None:
    data = (MEDIA / "session-dated.mp4").read_bytes()
    assert created(data)[0] is not None
    found, reader = created(_zero_mvhd_creation(data))
    assert found is None
    assert reader.reads  # the mvhd was reached and read, and its 0 was taken as "unknown"


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _movie(mvhd_body: bytes, padding_boxes: int = 0, mdat_size: int = 20000) -> bytes:
    ftyp = _box(b"ftyp", b"isom" + bytes(4) + b"isom")
    padding = _box(b"free", bytes(24)) * padding_boxes
    mdat = _box(b"mdat", bytes(mdat_size))
    return ftyp + mdat + padding + _box(b"moov", _box(b"mvhd", mvhd_body))


def test_mvhd_version_1_with_64_bit_times() -> None:
    when = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    seconds = int((when - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())
    found, _ = created(_movie(b"\x01\x00\x00\x00" + struct.pack(">QQ", seconds, seconds) + bytes(80)))
    assert found == when


def test_mdat_with_64_bit_size_is_hopped() -> None:
    when = datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC)
    seconds = int((when - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())
    mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 9000) + bytes(9000)
    moov = _box(b"moov", _box(b"mvhd", struct.pack(">IIIII", 0, seconds, seconds, 1000, 0) + bytes(80)))
    data = _box(b"ftyp", b"mp42" + bytes(4) + b"mp42") + mdat + moov
    assert created(data)[0] == when


@pytest.mark.parametrize("budget", [0, 8, 15, 16, 27, 40, 100, 4096])
def test_budget_is_never_exceeded(budget: int) -> None:
    when = datetime(2021, 6, 7, 8, 9, 10, tzinfo=UTC)
    seconds = int((when - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())
    data = _movie(struct.pack(">IIIII", 0, seconds, seconds, 1000, 0) + bytes(80), padding_boxes=300)
    found, reader = created(data, budget=budget)
    assert reader.bytes_read <= budget
    assert found in (None, when)


def test_many_boxes_before_moov_run_out_of_budget_instead_of_reading_on() -> None:
    seconds = 3_000_000_000
    # 600 boxes after the head: hopping them takes 600 header reads of 8 bytes, more than the budget.
    data = _movie(struct.pack(">IIIII", 0, seconds, seconds, 1000, 0) + bytes(80), padding_boxes=600)
    found, reader = created(data, budget=4096)
    assert found is None and reader.bytes_read <= 4096
    assert created(data, budget=100_000)[0] is not None  # the same walk succeeds with room to read


def _riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def _wav_with_info_after_data(icrd: bytes) -> bytes:
    """The fixture's own fmt and audio, with a LIST/INFO chunk after the data, as some editors write."""
    original = (MEDIA / "session.wav").read_bytes()
    fmt_at, data_at = original.index(b"fmt "), original.index(b"data")
    fmt_chunk = original[fmt_at : fmt_at + 8 + 16]
    data_size = struct.unpack_from("<I", original, data_at + 4)[0]
    data_chunk = original[data_at : data_at + 8 + data_size]
    info = _chunk(b"LIST", b"INFO" + _chunk(b"INAM", b"session\x00") + _chunk(b"ICRD", icrd))
    return _riff(fmt_chunk, data_chunk, info)


def test_wav_info_icrd_after_the_data_chunk() -> None:
    found, reader = created(_wav_with_info_after_data(b"2022-11-03\x00"))
    assert found == datetime(2022, 11, 3, tzinfo=UTC)
    assert 0 < reader.bytes_read <= 200


def test_wav_icrd_with_only_a_year_is_too_coarse() -> None:
    assert created(_wav_with_info_after_data(b"2022\x00"))[0] is None


def test_id3v23_year_without_day_is_too_coarse() -> None:
    frame = b"TYER" + struct.pack(">IH", 5, 0) + b"\x002023"
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, len(frame)]) + frame
    head = tag + (MEDIA / "session-bare.mp3").read_bytes()[: HEAD_BYTES - len(tag)]
    assert classify(head, "x").format == "mp3"
    assert embedded_created("mp3", head, None) is None


def test_formats_without_embedded_dates_give_none() -> None:
    head = (MEDIA / "session.ogg").read_bytes()[:HEAD_BYTES]
    assert embedded_created("ogg-vorbis", head, CountingReader(head)) is None
