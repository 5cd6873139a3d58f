"""False-positive sweep: classify every regular file under a folder (default /usr) and check each
one called a recording against a real counterpart.

Every file is read as `--deep` would (4 KiB head, ranged reads within the classifier's budget),
whatever its name. A file called media must be one that ffprobe opens with a stream of that kind
(audio only when ffprobe sees no video stream); an archive must list a member that is one of
those; a transcript is listed for review. The exit status is 1 when a media file is not confirmed,
so the sweep fails the way a test does. `--markdown` prints the table that docs/formats.md shows.

    python bench/sweep.py                     # /usr on this machine
    python bench/sweep.py --root tests/fixtures/media --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass

from auditor.classify import HEAD_BYTES, LOOK_FURTHER_BUDGET, classify
from auditor.sources.reader import FdRangeReader, open_readonly


@dataclass
class Found:
    path: str
    kind: str
    media: str | None
    format: str | None
    verdict: str = ""  # "confirmed", "NOT A RECORDING: ...", "review"


def walk(root: str) -> list[str]:
    paths: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        paths.extend(os.path.join(folder, f) for f in files)
    return paths


def classify_file(path: str) -> Found | None:
    try:
        fd, st = open_readonly(path)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(st.st_mode):
            return None
        reader = FdRangeReader(fd, st.st_size)
        head = os.read(fd, HEAD_BYTES)
        cls = classify(head, os.path.basename(path), reader, LOOK_FURTHER_BUDGET)
    except OSError:
        return None
    finally:
        os.close(fd)
    if cls.is_recording:
        return Found(path, cls.kind, cls.media, cls.format)
    return None


def ffprobe_kinds(path: str) -> set[str] | None:
    """The stream kinds ffprobe finds (audio, video, subtitle, ...), None when it cannot open the file."""
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if res.returncode != 0:
        return None
    streams = json.loads(res.stdout or "{}").get("streams", [])
    return {s.get("codec_type", "") for s in streams}


def judge(found: Found) -> None:
    if found.kind == "media":
        kinds = ffprobe_kinds(found.path)
        if kinds is None or not kinds & {"audio", "video"}:
            found.verdict = f"NOT A RECORDING: ffprobe finds {sorted(kinds) if kinds else 'nothing'}"
        elif found.media == "audio" and "video" in kinds:
            found.verdict = "NOT A RECORDING OF THAT KIND: ffprobe finds video too"
        elif found.media == "video" and "video" not in kinds:
            found.verdict = "NOT A RECORDING OF THAT KIND: ffprobe finds no video"
        else:
            found.verdict = "confirmed by ffprobe"
    elif found.kind == "archive":
        try:
            with zipfile.ZipFile(found.path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            found.verdict = f"NOT A RECORDING: {exc}"
            return
        found.verdict = f"review: {len(names)} members, e.g. {names[:3]}"
    else:
        found.verdict = "review"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default="/usr")
    parser.add_argument("--markdown", action="store_true", help="print the table for docs/formats.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = walk(args.root)
    found = [f for f in map(classify_file, paths) if f is not None]
    seconds = time.perf_counter() - started
    for f in found:
        judge(f)
    bad = [f for f in found if f.verdict.startswith("NOT")]
    kinds = Counter((f.kind, f.format) for f in found)
    print(
        f"{len(paths):,} files under {args.root} classified in {seconds:.1f} s; {len(found)} called recordings"
    )
    for f in found:
        print(f"  {f.kind:10} {f.media or '-':10} {f.format or '-':16} {f.path}  [{f.verdict}]")
    if args.markdown:
        print()
        print("| file | called | checked |")
        print("|---|---|---|")
        for f in found:
            print(f"| `{f.path}` | {f.kind}, {f.media or 'unknown'}, `{f.format}` | {f.verdict} |")
        print()
        print(", ".join(f"{n} {k} `{fmt}`" for (k, fmt), n in sorted(kinds.items())))
    if bad:
        print(f"{len(bad)} file(s) called a recording that are not one", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
