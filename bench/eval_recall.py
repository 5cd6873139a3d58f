"""Recall and precision of `auditor scan` against libmagic (`file --mime-type`) on a realistic corpus.

The corpus is laid out as real apps name and write their files: Zoom's meeting folders, Teams and
OneDrive, Otter and Whisper exports, phone and Windows voice recorders, dictation machines,
camcorders (AVCHD), DVDs, GoPro, OBS, old digital cameras, caption editors, zips of recordings,
among documents, code, node_modules JSON, notes and a few hundred real files from /usr. Every
recording is one of the real fixtures (tests/fixtures/media, made with ffmpeg and espeak-ng),
under its app's natural name. A second layout holds the same files under neutral names
(`item-0001`, no extension), so that names help neither tool.

For each layout: auditor's recall (recordings found / recordings present, with the default
reading policy, no config), precision (recordings among what it reports), and how often the media
kind it reports (audio / video / transcript) is right; the same for libmagic, counting audio/*,
video/*, text/vtt and application/x-subrip as "a recording" (libmagic has no notion of a
transcript in plain text, a DOCX or JSON, nor of an archive of recordings). Encrypted recordings
are left out: neither tool can see inside them, and auditor's rule (the inner name) is not a
content check. Debian's `file` is needed (scripts/install-system-deps.sh).

    python bench/eval_recall.py                 # prints the tables
    python bench/eval_recall.py --write         # also rewrites the section in docs/formats.md
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO / "tests" / "fixtures" / "media"
DOC = REPO / "docs" / "formats.md"
SECTION = "## Recall against libmagic"
MAGIC_RECORDING_TYPES = ("audio/", "video/", "text/vtt", "application/x-subrip")

# (path as the app writes it, fixture, what it truly is: audio, video, transcript, or None)
RECORDINGS: list[tuple[str, str, str]] = [
    # Zoom: a folder per meeting, the video, the audio-only file, the saved captions
    ("Documents/Zoom/2024-03-05 10.00.00 Dr Rivera's Zoom Meeting/video1846539287.mp4", "session.mp4", "video"),
    ("Documents/Zoom/2024-03-05 10.00.00 Dr Rivera's Zoom Meeting/audio1846539287.m4a", "session.m4a", "audio"),
    ("Documents/Zoom/2024-03-05 10.00.00 Dr Rivera's Zoom Meeting/meeting_saved_closed_caption.txt",
     "meeting_saved_closed_caption.txt", "transcript"),
    ("Documents/Zoom/2024-03-12 10.00.00 Dr Rivera's Zoom Meeting/zoom_0.mp4", "session-dated.mp4", "video"),
    ("Documents/Zoom/2024-03-12 10.00.00 Dr Rivera's Zoom Meeting/GMT20240312-100000_Recording.transcript.vtt",
     "session.vtt", "transcript"),
    # Teams, through OneDrive: the recording, its transcript as DOCX and as VTT
    ("OneDrive/Recordings/Weekly session-20240305_100012-Meeting Recording.mp4", "session-dated.mp4", "video"),
    ("OneDrive/Recordings/Weekly session-20240305_100012-Meeting Recording.docx", "session-teams.docx",
     "transcript"),
    ("OneDrive/Recordings/Weekly session-20240305_100012-Meeting Recording.vtt", "session.vtt", "transcript"),
    ("Downloads/Weekly session - Transcript.docx", "session-teams-stream.docx", "transcript"),
    # Otter exports land in Downloads, named after the conversation
    ("Downloads/Sam T check-in.txt", "session-otter.txt", "transcript"),
    ("Downloads/Sam T check-in.docx", "session-otter.docx", "transcript"),
    ("Downloads/otter_ai_session_0305.txt", "session-otter.txt", "transcript"),
    # Whisper run on a recording: its outputs beside the input
    ("Projects/scribe/out/session-0305.m4a", "session.m4a", "audio"),
    ("Projects/scribe/out/session-0305.json", "session-whisper-long.json", "transcript"),
    ("Projects/scribe/out/session-0305.tsv", "session-whisper.tsv", "transcript"),
    ("Projects/scribe/out/session-0305.srt", "session.srt", "transcript"),
    ("Projects/scribe/out/session-0305.vtt", "session.vtt", "transcript"),
    ("Projects/scribe/cpp/session-0312.wav", "session.wav", "audio"),
    ("Projects/scribe/cpp/session-0312.wav.json", "session-whisper-cpp.json", "transcript"),
    # Phones and voice recorders
    ("Voice Memos/20240305 100000.m4a", "session.m4a", "audio"),
    ("Voice Memos/New Recording 3.m4a", "session.m4a", "audio"),
    ("Phone/Recordings/Recording_20240305_100000.m4a", "session-audio.mp4", "audio"),
    ("Phone/Recordings/Recording_20240312_100000.3gp", "session-audio.3gp", "audio"),
    ("Phone/Call recordings/Call@+15555550100(20240305100000).amr", "session.amr", "audio"),
    ("Documents/Sound recordings/Recording (3).m4a", "session.m4a", "audio"),
    ("Documents/Sound recordings/Recording (4).wma", "session.wma", "audio"),
    # Dictation machines and field recorders
    ("DVR/DSS_FLDA/VN_0001.WMA", "session-dated.wma", "audio"),
    ("ICRECORDER/FOLDER01/240305_0001.MP3", "session-bare.mp3", "audio"),
    ("ICRECORDER/FOLDER01/240305_0002.MP3", "session.mp3", "audio"),
    ("ZOOM0001/ZOOM0001_LR.WAV", "session-dated.wav", "audio"),
    ("Field/240305-100000.wav", "session-rf64.wav", "audio"),
    ("Field/240305-110000.w64", "session.w64", "audio"),
    # Camcorders, cameras, DVDs, screen and stream recorders
    ("AVCHD/BDMV/STREAM/00000.MTS", "session.MTS", "video"),
    ("PRIVATE/M4ROOT/CLIP/C0001.MP4", "session.mp4", "video"),
    ("DCIM/100GOPRO/GX010001.MP4", "session.mp4", "video"),
    ("DCIM/100CANON/MVI_0001.AVI", "session-dated.avi", "video"),
    ("DCIM/100CANON/MVI_0002.MOV", "session.mov", "video"),
    ("VIDEO_TS/VTS_01_1.VOB", "session.vob", "video"),
    ("Videos/Captures/Session 2024-03-05 10-00-00.mp4", "session-dated.mp4", "video"),
    ("Videos/2024-03-05 10-00-00.mkv", "session.mkv", "video"),
    ("Videos/2024-03-12 10-00-00.mkv", "session-tracks-past-head.mkv", "video"),
    ("Videos/2024-03-19 10-00-00.flv", "session.flv", "video"),
    ("Videos/2024-03-26 10-00-00.ts", "session.ts", "video"),
    ("Videos/Old/session.mpg", "session.mpg", "video"),
    ("Videos/Old/session-audio.mpg", "session-audio.mpg", "audio"),
    ("Videos/Loom/Check-in with Sam.webm", "session.webm", "video"),
    ("Music/Sessions/0305.opus", "session.opus", "audio"),
    ("Music/Sessions/0305.ogg", "session.ogg", "audio"),
    ("Music/Sessions/0305.flac", "session.flac", "audio"),
    ("Music/Sessions/0305.aiff", "session.aiff", "audio"),
    ("Music/Sessions/0305.caf", "session.caf", "audio"),
    ("Music/Sessions/0305.weba", "session-audio.webm", "audio"),
    ("Music/Sessions/0305.mka", "session-dated.mkv", "audio"),
    ("Music/Sessions/0312.mka", "session-tracks-past-head.mka", "audio"),
    ("Music/Sessions/0305.aac", "session.aac", "audio"),
    ("Broadcast/0305.ac3", "session.ac3", "audio"),
    ("Broadcast/0305.ec3", "session.eac3", "audio"),
    ("Broadcast/0305.dts", "session.dts", "audio"),
    ("Broadcast/0305.loas", "session.loas", "audio"),
    ("Broadcast/0305-radio.ts", "session-audio.ts", "audio"),
    ("Old PC/SOUNDS/SESSION.VOC", "session.voc", "audio"),
    ("Old PC/SOUNDS/SESSION.AU", "session.au", "audio"),
    ("Old PC/SOUNDS/SESSION.SPX", "session.spx", "audio"),
    # Caption editors
    ("Videos/Captions/0305.sbv", "session.sbv", "transcript"),
    ("Videos/Captions/0305.dfxp", "session.dfxp", "transcript"),
    ("Videos/Captions/0305.ttml", "session.ttml", "transcript"),
    ("Videos/Captions/0305.ass", "session.ass", "transcript"),
    # Archives of recordings
    ("Downloads/zoom_recordings_march.zip", "recordings.zip", "audio"),
    # Exports filed away alone under neutral names: the default reading policy has no reason to
    # read these (no recording beside, no transcript-like name, no client/date pattern configured)
    ("Documents/Clients/Sam T/2024-03-05.txt", "session-clock-turns.txt", "transcript"),
    ("Desktop/Session with Sam.docx", "session-otter.docx", "transcript"),
    ("Documents/Notes/0312.json", "session-whisper.json", "transcript"),
    # Copies that lost their names
    ("Downloads/attachment.dat", "session-copy.dat", "video"),
    ("Desktop/recording", "session-noext", "audio"),
]  # fmt: skip

NEGATIVES: list[tuple[str, str]] = [
    ("Documents/Letters/letter to Sam.docx", "letter.docx"),
    ("Documents/Admin/team meeting agenda.txt", "agenda.txt"),
    ("Documents/Admin/minutes.txt", "agenda.txt"),
    ("Projects/session-timer/README.md", "README-times.md"),
    ("Projects/session-timer/package.json", "config.json"),
    ("Projects/session-timer/node_modules/timer-core/package.json", "config.json"),
    ("Projects/session-timer/src/scheduler.ts", "scheduler.ts"),
    ("Projects/session-timer/logs/server.log", "server.log"),
    ("Downloads/forms.zip", "documents.zip"),
    ("Downloads/timer-src.zip", "typescript-sources.zip"),
    ("Library/Caches/com.app/data_1", "noise.bin"),
    ("Desktop/shopping.mp3", "fake.mp3"),
    ("Documents/signed.vtt.asc", "signed-only.vtt.asc"),
    ("Documents/stored.vtt.gpg", "stored-only.vtt.gpg"),
]


@dataclass
class Entry:
    relpath: str
    truth: str | None  # audio, video, transcript, or None for a non-recording
    label: str  # the natural name, to say which file a neutral name stands for


def usr_sample(count: int, seed: int) -> list[Path]:
    """Real files from this machine's /usr (documents, code, libraries, images): realistic negatives."""
    pool: list[Path] = []
    for top in ("/usr/share/doc", "/usr/share/pixmaps", "/usr/share/icons", "/usr/lib/python3", "/usr/bin",
                "/usr/share/X11", "/usr/share/mime", "/usr/share/zoneinfo"):  # fmt: skip
        root = Path(top)
        if root.is_dir():
            pool.extend(p for p in sorted(root.rglob("*"))[:5000] if p.is_file() and not p.is_symlink())
    rng = random.Random(seed)
    return rng.sample(pool, min(count, len(pool)))


def build(root: Path, neutral: bool, extra: list[Path]) -> list[Entry]:
    entries: list[Entry] = []

    def put(natural: str, source: Path, truth: str | None) -> None:
        relpath = f"data/{len(entries) // 40:02d}/item-{len(entries):04d}" if neutral else natural
        dest = root / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        entries.append(Entry(relpath, truth, natural))

    for relpath, fixture, truth in RECORDINGS:
        put(relpath, MEDIA / fixture, truth)
    for relpath, fixture in NEGATIVES:
        put(relpath, MEDIA / fixture, None)
    for i, path in enumerate(extra):
        put(f"Projects/vendor/{i:03d}-{path.name}", path, None)
    return entries


def scan(root: Path, work: Path) -> dict[str, str | None]:
    out = work / f"{root.name}.json"
    subprocess.run(
        [sys.executable, "-m", "auditor", "scan", "-q", "--fail-on", "none", "-o", str(out), str(root)],
        check=True,
        capture_output=True,
    )
    result = json.loads(out.read_text())
    return {str(Path(r["location"]).relative_to(root)): r["media"] for r in result["recordings"]}


def libmagic(root: Path, entries: list[Entry]) -> dict[str, str | None]:
    listing = "\n".join(str(root / e.relpath) for e in entries) + "\n"
    res = subprocess.run(
        ["file", "--mime-type", "-N", "-F", "\t", "-f", "-"], input=listing, capture_output=True, text=True
    )
    found: dict[str, str | None] = {}
    for line in res.stdout.splitlines():
        path, _, mime = line.partition("\t")
        mime = mime.strip()
        if mime.startswith(MAGIC_RECORDING_TYPES):
            kind = (
                "audio"
                if mime.startswith("audio/")
                else "video"
                if mime.startswith("video/")
                else "transcript"
            )
            found[str(Path(path).relative_to(root))] = kind
    return found


def figures(entries: list[Entry], found: dict[str, str | None]) -> dict[str, float | int | list[str]]:
    truth = {e.relpath: e.truth for e in entries}
    label = {e.relpath: e.label for e in entries}
    present = [e.relpath for e in entries if e.truth is not None]
    hits = [p for p in present if p in found]
    reported = list(found)
    right_kind = [p for p in hits if found[p] == truth[p]]
    media = [p for p in present if truth[p] != "transcript"]
    texts = [p for p in present if truth[p] == "transcript"]
    return {
        "present": len(present),
        "found": len(hits),
        "recall": len(hits) / len(present),
        # audio and video apart from transcripts: libmagic has no notion of most transcripts, so
        # the media alone show whether the lead holds where both tools look for the same thing
        "media_found": sum(1 for p in media if p in found),
        "media_present": len(media),
        "text_found": sum(1 for p in texts if p in found),
        "text_present": len(texts),
        "reported": len(reported),
        "precision": len(hits) / len(reported) if reported else 1.0,
        "kind_right": len(right_kind) / len(hits) if hits else 0.0,
        "false_positives": sorted(label.get(p, p) for p in reported if truth.get(p) is None),
        "missed": sorted(label[p] for p in present if p not in found),
        "wrong_kind": sorted(f"{label[p]} ({found[p]}, is {truth[p]})" for p in hits if found[p] != truth[p]),
    }


def markdown(results: dict[str, dict[str, dict[str, float | int | list[str]]]], negatives: int) -> str:
    lines = [
        SECTION,
        "",
        "`python bench/eval_recall.py` builds a corpus of the real fixtures laid out as apps name and "
        f"write them ({len(RECORDINGS)} recordings: Zoom, Teams, Otter, Whisper, phones, dictation machines, "
        f"camcorders, DVDs, OBS, caption editors, a zip of recordings) among {negatives} non-recordings "
        "(the hard-negative fixtures and real files from this machine's /usr), once under those natural "
        "names and once under neutral ones (`item-0001`), scans it with the default policy (no config), "
        "and runs `file --mime-type` on every file. libmagic is credited with a recording for audio/*, "
        "video/*, text/vtt and application/x-subrip. Kind right: among the recordings found, how often "
        "audio/video/transcript is right. Audio and video are also counted apart from transcripts, "
        "which libmagic mostly cannot know. The corpus is made of this project's own fixtures, so it "
        "holds only formats the classifier was written for: those docs/formats.md lists as not "
        "recognised (Olympus DSS/DS2 dictation, RealMedia, DV, raw MPEG video) would be auditor misses."
        "",
        "| layout | tool | recall | audio and video | transcripts | precision | kind right |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for layout, by_tool in results.items():
        for tool, f in by_tool.items():
            lines.append(
                f"| {layout} | {tool} | {f['found']}/{f['present']} = {f['recall']:.0%} | "
                f"{f['media_found']}/{f['media_present']} | {f['text_found']}/{f['text_present']} | "
                f"{f['precision']:.0%} ({len(f['false_positives'])} false) | {f['kind_right']:.0%} |"  # type: ignore[arg-type]
            )
    lines.append("")
    for layout, by_tool in results.items():
        for tool, f in by_tool.items():
            missed, wrong = f["missed"], f["wrong_kind"]
            if missed:
                lines.append(f"- {layout}, {tool} misses: " + ", ".join(f"`{m}`" for m in missed) + ".")  # type: ignore[union-attr]
            if wrong:
                lines.append(f"- {layout}, {tool} wrong kind: " + ", ".join(f"`{w}`" for w in wrong) + ".")  # type: ignore[union-attr]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help=f"rewrite {SECTION!r} in docs/formats.md")
    parser.add_argument("--usr-files", type=int, default=300)
    args = parser.parse_args(argv)
    if shutil.which("file") is None:
        print("needs Debian's `file` (scripts/install-system-deps.sh)", file=sys.stderr)
        return 2
    extra = usr_sample(args.usr_files, seed=11)
    results: dict[str, dict[str, dict[str, float | int | list[str]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for layout, neutral in (("natural names", False), ("neutral names", True)):
            root = work / ("natural" if not neutral else "neutral")
            entries = build(root, neutral, extra)
            results[layout] = {
                "auditor": figures(entries, scan(root, work)),
                "libmagic": figures(entries, libmagic(root, entries)),
            }
    text = markdown(results, len(NEGATIVES) + len(extra))
    print(text)
    if args.write:
        current = DOC.read_text(encoding="utf-8")
        start = current.find(f"\n{SECTION}\n")
        if start < 0:
            updated = current.rstrip("\n") + "\n\n" + text
        else:
            end = current.find("\n## ", start + 1)
            updated = current[: start + 1] + text + (current[end:] if end >= 0 else "")
        DOC.write_text(updated, encoding="utf-8")
    ok = all(r["auditor"]["recall"] > r["libmagic"]["recall"] for r in results.values())  # type: ignore[operator]
    ok = ok and all(r["auditor"]["media_found"] >= r["libmagic"]["media_found"] for r in results.values())  # type: ignore[operator]
    ok = ok and all(not r["auditor"]["false_positives"] for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
