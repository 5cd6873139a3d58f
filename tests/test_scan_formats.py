"""What a real `auditor scan` reports for every fixture, and the names-versus-content reading policy.

The inventory (`recordings[]` of the JSON result) must carry the right `media` and `format` for
every fixture, as the classifier's own tests expect them; the policy decides which text-like
files (.txt, .json, .docx, .tsv, .xml) are read at all (auditor/classify/reading.py).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from auditor.classify import HEAD_BYTES, LOOK_FURTHER_BUDGET
from auditor.config import Config
from auditor.models import Coverage
from auditor.sources.base import SourceOptions
from auditor.sources.local import LocalSource
from tests.conftest import MEDIA, place, scan_json
from tests.test_classify import EXPECTED

RECORDINGS = {name: e for name, e in EXPECTED.items() if e[0] in ("media", "transcript", "archive")}
RECORDINGS.update({name: e for name, e in EXPECTED.items() if e[0] == "encrypted" and e[1] is not None})


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One scan of a copy of every fixture, all in one folder, as the CLI writes it."""
    tmp = tmp_path_factory.mktemp("inventory")
    practice = tmp / "practice"
    shutil.copytree(MEDIA, practice)
    result = scan_json(tmp, practice, "--fail-on", "none", expect=0)
    return {Path(r["location"]).name: r for r in result["recordings"]} | {"": result}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inventory_media_and_format_for_every_fixture(inventory: dict[str, Any], name: str) -> None:
    _, media, fmt, _ = EXPECTED[name]
    if name not in RECORDINGS:
        assert name not in inventory, f"{name} is not a recording"
        return
    recording = inventory[name]
    assert (recording["media"], recording["format"]) == (media, fmt)


def test_inventory_counts_archive_members_and_reads_within_budget(inventory: dict[str, Any]) -> None:
    archive = inventory["recordings.zip"]["facts"]["archive"]
    assert archive == {
        "members_listed": 2,
        "members_declared": 2,
        "recordings": 2,
        "by_media": {"audio": 1, "transcript": 1},
        "encrypted_recordings": 0,
        "listing": "complete",
    }
    coverage = inventory[""]["coverage"]
    assert [g["reason"] for g in coverage["skipped"]] == ["consent-not-checked"]  # no registry given
    # Everything is read but what the names settle: .log and .md are never transcripts, and the
    # text files named after no recording (age-identity.txt is read for the key check, apart).
    unread = ["server.log", "README-times.md", "agenda.txt", "config.json", "letter.docx", "age-identity.txt"]
    assert coverage["candidates"] == len(EXPECTED) - len(unread)
    assert coverage["bytes_read"] <= coverage["candidates"] * (HEAD_BYTES + LOOK_FURTHER_BUDGET + 4096)


def test_an_archive_of_recordings_is_judged_by_the_same_rules(inventory: dict[str, Any]) -> None:
    """An unencrypted zip of recordings is an unencrypted recording; a zip whose recordings are
    encrypted is not."""
    rules: dict[str, set[str]] = {}
    for finding in inventory[""]["findings"]:
        rules.setdefault(Path(finding["location"]).name, set()).add(finding["rule"])
    assert "recording-unencrypted" in rules["recordings.zip"]
    assert "recording-unencrypted" in rules["session.wav"]  # the same rule as for its members
    assert "recording-unencrypted" not in rules["encrypted.zip"]
    assert inventory["encrypted.zip"]["encryption"].startswith("content:")


def test_embedded_dates_reach_the_inventory(inventory: dict[str, Any]) -> None:
    assert inventory["session-dated.avi"]["embedded_created"] == "2023-10-05T00:00:00+00:00"
    assert inventory["session-dated.wma"]["embedded_created"] == "2023-09-12T08:45:00+00:00"
    assert inventory["session-dated.avi"]["recorded_at_source"] == "container"


# --- the reading policy -------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """A scan target with a neutral name: pytest names tmp_path after the test, and these test
    names say "transcript", which the policy would take as a reason to read everything."""
    root = tmp_path / "disk"
    root.mkdir()
    return root


def _scan(root: Path, config: Config | None = None, **opts: Any) -> tuple[dict[str, Any], Coverage]:
    coverage = Coverage()
    source = LocalSource(config or Config(), SourceOptions(**opts))
    found = {str(Path(a.location).relative_to(root)): a for a in source.scan(str(root), coverage)}
    return found, coverage


def test_a_transcript_under_a_neutral_name_alone_in_a_folder_is_not_read(disk: Path) -> None:
    place(disk, "Documents/notes-0312.txt", "session-otter.txt")
    place(disk, "Documents/letter.docx", "session-teams.docx")
    found, coverage = _scan(disk)
    assert found == {} and coverage.candidates == 0  # the documented miss of the default
    found, coverage = _scan(disk, deep=True)
    assert set(found) == {"Documents/notes-0312.txt", "Documents/letter.docx"}


@pytest.mark.parametrize(
    "relpath",
    [
        "Documents/transcript.txt",  # the name says so
        "Documents/Transcripts/0312.txt",  # a folder says so
        "Zoom/meeting_saved_closed_caption.txt",
        "Documents/cc/0312.txt",
        "Documents/Otter exports/0312.docx",
        "Documents/whisper-out/0312.json",
    ],
)
def test_a_transcript_like_name_or_folder_is_read(disk: Path, relpath: str) -> None:
    fixture = {"txt": "session-otter.txt", "docx": "session-otter.docx", "json": "session-whisper.json"}
    place(disk, relpath, fixture[relpath.rsplit(".", 1)[1]])
    found, coverage = _scan(disk)
    assert list(found) == [relpath] and coverage.candidates == 1


def test_words_that_merely_contain_cc_are_no_reason(disk: Path) -> None:
    for relpath in ("accounts/success.txt", "Accents/notes.txt", "occ/notes.json"):
        place(disk, relpath, "session-otter.txt")
    assert _scan(disk)[1].candidates == 0


def test_a_client_date_pattern_is_a_reason(disk: Path) -> None:
    import re

    place(disk, "Clients/C-1042_2024-03-05.txt", "session-turns.txt")
    place(disk, "Forms/intake-form.txt", "session-turns.txt")  # no pattern, no recording beside
    config = Config()
    config.attribution.patterns = [re.compile(r"(?P<client>C-\d{4})_(?P<date>\d{4}-\d{2}-\d{2})")]
    found, coverage = _scan(disk, config)
    assert list(found) == ["Clients/C-1042_2024-03-05.txt"] and coverage.candidates == 1
    assert found["Clients/C-1042_2024-03-05.txt"].attribution.client == "C-1042"


def test_text_named_after_a_recording_found_by_content_is_read(disk: Path) -> None:
    place(disk, "2024-03-05 Session/capture0001", "session-audio.mp4")  # no extension at all
    place(disk, "2024-03-05 Session/capture0001.txt", "session-otter.txt")  # Whisper names it so
    place(disk, "2024-03-05 Session/capture0001 export.docx", "session-teams.docx")
    place(disk, "2024-03-05 Session/notes.txt", "session-otter.txt")  # named after nothing: unread
    place(disk, "2024-03-05 Session/agenda.txt", "agenda.txt")
    place(disk, "2024-03-05 Session/capture0001.meta.json", "config.json")  # a sidecar, not text
    found, coverage = _scan(disk)
    assert {k: a.format for k, a in found.items()} == {
        "2024-03-05 Session/capture0001": "mp4",
        "2024-03-05 Session/capture0001.txt": "text-transcript",
        "2024-03-05 Session/capture0001 export.docx": "docx-transcript",
    }
    assert coverage.candidates == 3  # the sidecar is read as a sidecar only, never sniffed
    assert found["2024-03-05 Session/capture0001"].media == "audio"  # moov at the end, walked


@pytest.mark.parametrize(
    ("text", "recording", "related"),
    [
        ("session-0305.json", "session-0305.m4a", True),  # Whisper
        ("session-0305.wav.json", "session-0305.wav", True),  # whisper.cpp appends .json
        ("Weekly-Meeting Recording.docx", "Weekly-Meeting Recording.mp4", True),  # Teams
        ("Recording (3) transcript.txt", "Recording (3).m4a", True),
        ("zoom_0.txt", "zoom_0.mp4", True),
        ("notes.txt", "session-0305.m4a", False),
        ("a.txt", "a.m4a", False),  # too short to say anything
        ("package.json", "intro.mp4", False),
    ],
)
def test_named_after_a_recording(text: str, recording: str, related: bool) -> None:
    from auditor.classify.reading import named_after, stem

    assert named_after(text, [stem(recording)]) is related


def test_text_named_after_a_file_named_as_video_is_read_as_the_watch_would(disk: Path) -> None:
    place(disk, "Zoom/video1234.mp4", "noise.bin")  # named as video, is not one
    place(disk, "Zoom/video1234.txt", "session-clock-turns.txt")
    found, _ = _scan(disk)
    assert list(found) == ["Zoom/video1234.txt"]
    # The watch decides on names alone, and reads the same file.
    source = LocalSource(Config(), SourceOptions())
    coverage = Coverage()
    watched = list(source.examine_files(str(disk / "Zoom"), ["video1234.txt"], coverage, text_by_policy=True))
    assert [Path(a.location).name for a in watched] == ["video1234.txt"]
    lone = disk / "Elsewhere"
    place(lone, "video1234.txt", "session-clock-turns.txt")
    assert list(source.examine_files(str(lone), ["video1234.txt"], Coverage(), text_by_policy=True)) == []


def test_typescript_is_read_once_and_declarations_never(disk: Path) -> None:
    place(disk, "lib/scheduler.ts", "scheduler.ts")  # alone: only the content can tell
    place(disk, "types/types.d.ts", "scheduler.ts")  # a declaration file is never opened
    place(disk, "types/tsconfig.json", "config.json")
    place(disk, "camera/00001.ts", "session.ts")
    found, coverage = _scan(disk)
    assert {k: (a.media, a.format) for k, a in found.items()} == {"camera/00001.ts": ("video", "mpeg-ts")}
    assert coverage.candidates == 2
    assert coverage.bytes_read == (MEDIA / "scheduler.ts").stat().st_size + HEAD_BYTES


def test_ranged_reads_are_counted_in_bytes_read(disk: Path) -> None:
    place(disk, "r/phone.m4a.mp4", "session-audio.mp4")
    found, coverage = _scan(disk)
    assert found["r/phone.m4a.mp4"].media == "audio"
    assert HEAD_BYTES < coverage.bytes_read <= HEAD_BYTES + 512  # the box walk, not the media


def _big_zip(members: int, last: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(members):
            archive.writestr(f"scans/page-{i:04d}.pdf", b"%PDF-1.7")
        archive.writestr(last, (MEDIA / "session.wav").read_bytes())
    return buffer.getvalue()


def test_an_archive_listed_in_part_is_a_gap_and_deep_lists_it_all(disk: Path) -> None:
    (disk / "Downloads").mkdir()
    (disk / "Downloads" / "scans.zip").write_bytes(_big_zip(600, "zz/session.wav"))
    found, coverage = _scan(disk)
    assert found == {}
    [gap] = coverage.gaps
    assert gap.reason == "archive-partly-listed" and "of 601 members" in gap.detail
    assert not coverage.complete
    found, coverage = _scan(disk, deep=True)
    archive = found["Downloads/scans.zip"]
    assert (archive.media, archive.format) == ("audio", "zip") and coverage.gaps == []
    assert archive.facts["archive"]["members_listed"] == 601
    assert archive.facts["archive"]["listing"] == "complete"


def test_the_result_json_names_archive_gaps(disk: Path) -> None:
    root = disk / "practice"
    root.mkdir()
    (root / "scans.zip").write_bytes(_big_zip(600, "zz/session.wav"))
    result = scan_json(disk, root, "--fail-on", "none")
    reasons = [g["reason"] for g in result["coverage"]["skipped"]]
    assert sorted(reasons) == ["archive-partly-listed", "consent-not-checked"]  # no registry given
    assert json.dumps(result["coverage"]).count("scans.zip") == 1


def test_the_watch_applies_the_same_policy_to_events(disk: Path) -> None:
    from auditor.watch.examine import Examined, Scope, examine_files

    beside = place(disk, "Zoom/2024-03-05/audio0001.txt", "session-clock-turns.txt")
    place(disk, "Zoom/2024-03-05/audio0001.m4a", "session.m4a")
    lone = place(disk, "Documents/notes.txt", "session-clock-turns.txt")
    named = place(disk, "Documents/transcript-0305.txt", "session-clock-turns.txt")
    after = place(disk, "Documents/transcript-0305 notes.txt", "session-clock-turns.txt")
    out = Examined()
    source = LocalSource(Config(), SourceOptions())
    paths = [str(beside), str(lone), str(named), str(after)]
    examine_files(source, Scope([str(disk)], []), paths, False, out)
    watched = sorted(Path(a.location).name for a in out.artifacts)
    assert watched == ["audio0001.txt", "transcript-0305 notes.txt", "transcript-0305.txt"]
    assert out.coverage.candidates == 3  # notes.txt, alone and neutrally named, is never opened
    # What the watch reads, the walk reads too (so the rescan never resolves what an event found).
    walked, _ = _scan(disk)
    assert {Path(k).name for k in walked} == {*watched, "audio0001.m4a"}


def test_every_media_fixture_is_confirmed_by_ffprobe() -> None:
    """The sweep that checks /usr (bench/sweep.py), run on the fixtures: every file the classifier
    calls media, ffprobe opens with a stream of that kind (audio only when it finds no video)."""
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "bench/sweep.py", "--root", str(MEDIA)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    confirmed = res.stdout.count("[confirmed by ffprobe]")
    assert confirmed == sum(1 for kind, *_ in EXPECTED.values() if kind == "media")


def test_ts_files_are_read_by_content_except_under_node_modules(disk: Path) -> None:
    place(disk, "app/src/index.ts", "scheduler.ts")
    place(disk, "app/src/index.js", "scheduler.ts")  # compiled output beside it: read all the same
    place(disk, "app/node_modules/x/index.ts", "session.ts")  # a package's TypeScript: not read
    place(disk, "app/node_modules/x/clip.mts", "session.MTS")
    place(disk, "Videos/OBS/2024-03-05 10-00-00.ts", "session.ts")
    # A camcorder's clips copied into a folder that holds a script, and a folder whose name only
    # contains node_modules: recordings, found by content (a rule on neighbours' names missed them).
    place(disk, "Downloads/00001.MTS", "session.MTS")
    place(disk, "Downloads/install.js", "scheduler.ts")
    place(disk, "Downloads/package.json", "config.json")
    place(disk, "backup/node_modules-old/00002.ts", "session.ts")
    found, coverage = _scan(disk)
    assert {k: a.format for k, a in found.items()} == {
        "Videos/OBS/2024-03-05 10-00-00.ts": "mpeg-ts",
        "Downloads/00001.MTS": "m2ts",
        "backup/node_modules-old/00002.ts": "mpeg-ts",
    }
    assert coverage.candidates == 4  # index.ts and the three recordings
    # --deep reads them all, whatever the folder: a transport stream under node_modules is found.
    found, coverage = _scan(disk, deep=True)
    assert {"app/node_modules/x/index.ts", "app/node_modules/x/clip.mts"} <= set(found)


def test_in_node_modules_is_a_folder_name_not_a_substring() -> None:
    from auditor.classify.reading import in_node_modules

    assert in_node_modules("/home/a/app/node_modules/x/lib")
    assert in_node_modules("/home/a/app/node_modules")
    assert not in_node_modules("/home/a/node_modules-old/x")
    assert not in_node_modules("/home/a/my_node_modules")
