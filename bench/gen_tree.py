"""Generate a practice-machine-like tree for the scan benchmark: many small files, ~1% real recordings.

The tree looks like a clinician's disk: home folders full of documents, text notes, photos, code
(with node_modules-style package JSON, TypeScript sources and declaration files), downloads and
caches, a few extension-less or unknown files, and about 1% recordings copied from
tests/fixtures/media (real files in every format we recognise, some renamed .dat or stripped of
their extension, a tenth with a .meta.yaml sidecar). A third of the recordings have a transcript
beside them, as Zoom, Teams, Otter and Whisper leave one: a .txt, .json, .tsv or .docx of the same
name, which only the reading policy finds. Folders nest a few levels deep with an uneven fan-out,
as real ones do.

Generation is slow at a million files, so a finished tree carries a marker file with its
parameters and is reused when asked for again with the same ones.

    python bench/gen_tree.py --entries 100000 --dir /tmp/tree
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GENERATOR_VERSION = 5
MARKER = ".bench-tree.json"  # written last: a tree without it is incomplete
DEFAULT_ENTRIES = 1_000_000
DEFAULT_RECORDING_RATIO = 0.01
FILES_PER_FOLDER = 25  # the mean; the spread is wide (lognormal), like real folders
MAX_DEPTH = 5  # below a home folder
CACHE_GROWTH = 0.3  # caches hold many files but fewer folders than documents or code do
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "media"


# Real recordings among the fixtures: every session* file (media, transcripts, encrypted
# recordings whose inner name says so) that a default scan reads by its name, and the
# password-protected zip of a session.
def _read_by_default(name: str) -> bool:
    from auditor.classify import needs_sniff

    return needs_sniff(name)


RECORDING_FIXTURES = [
    *sorted(p.name for p in FIXTURES.glob("session*") if _read_by_default(p.name)),
    "encrypted.zip",
    "recordings.zip",
]
# Transcripts as the tools leave them beside a recording: (fixture, extension). Text-like names, so
# a scan reads them only because of the recording beside them (auditor/classify/reading.py).
TRANSCRIPTS_BESIDE = [
    ("session-otter.txt", "txt"),
    ("meeting_saved_closed_caption.txt", "txt"),
    ("session-whisper.json", "json"),
    ("session-whisper.tsv", "tsv"),
    ("session-teams.docx", "docx"),
]
TRANSCRIPT_RATIO = 0.33  # of the recordings that get a transcript beside them
_ENCRYPTED_SUFFIXES = (".gpg", ".pgp", ".asc", ".age", ".enc", ".zip")

# What each kind of folder holds: (extension, weight); "" is a file without extension and
# "?" an unknown extension. Both are sniffed by the scanner, as are .dat/.bin/.tmp/.db.
THEMES: dict[str, list[tuple[str, int]]] = {
    "documents": [("pdf", 30), ("docx", 25), ("xlsx", 10), ("txt", 10), ("odt", 4), ("pptx", 4),
                  ("rtf", 3), ("csv", 5), ("md", 3), ("eml", 3), ("", 1), ("?", 1), ("tmp", 1)],
    "pictures": [("jpg", 60), ("jpeg", 5), ("png", 20), ("heic", 10), ("gif", 2), ("webp", 2), ("", 1)],
    "code": [("py", 25), ("js", 15), ("ts", 8), ("d.ts", 6), ("json", 12), ("md", 6), ("html", 5),
             ("css", 4), ("yaml", 4), ("txt", 3), ("sh", 2), ("c", 3), ("h", 3), ("pyc", 8), ("map", 2),
             ("", 2)],
    # node_modules: package manifests, scripts and type declarations, many small files
    "packages": [("json", 30), ("js", 35), ("d.ts", 15), ("ts", 3), ("md", 8), ("map", 6), ("txt", 1),
                 ("", 2)],
    "notes": [("txt", 45), ("md", 15), ("docx", 20), ("json", 5), ("rtf", 5), ("pdf", 10)],
    "downloads": [("pdf", 30), ("zip", 8), ("dmg", 3), ("exe", 3), ("jpg", 15), ("png", 8), ("docx", 10),
                  ("tar", 2), ("gz", 3), ("csv", 4), ("?", 3), ("", 2), ("bin", 2), ("part", 2)],
    "clients": [("pdf", 40), ("docx", 30), ("txt", 8), ("xlsx", 5), ("jpg", 5), ("eml", 5), ("?", 2),
                ("", 1), ("dat", 1)],
    "cache": [("", 35), ("json", 15), ("db", 5), ("tmp", 10), ("bin", 10), ("dat", 5), ("js", 10),
              ("png", 5), ("?", 5)],
}  # fmt: skip
HOME_FOLDERS = {
    "Documents": "documents",
    "Desktop": "documents",
    "Pictures": "pictures",
    "Projects": "code",
    "Downloads": "downloads",
    "Clients": "clients",
    "Notes": "notes",
    ".cache": "cache",
}
FOLDER_WORDS = {
    "documents": ["Admin", "Billing", "Letters", "Notes", "Forms", "Insurance", "Taxes", "Archive", "Old"],
    "pictures": ["Camera", "Screenshots", "Holiday", "Office", "Family", "Export", "Scans"],
    "code": ["src", "lib", "tests", "docs", "build", "node_modules", "vendor", "scripts", "assets"],
    "packages": ["{pkg}", "{pkg}", "dist", "lib", "types", "node_modules"],
    "notes": ["Supervision", "Reading", "Ideas", "Journal", "{year}"],
    "downloads": ["installers", "papers", "attachments", "misc", "from-phone"],
    "clients": ["C-{n:04d}", "intake", "sessions", "correspondence", "assessments", "{year}"],
    "cache": ["{hex}", "{hex}", "blobs", "index", "tmp", "Cache_Data"],
}
STEMS = ["report", "invoice", "letter", "notes", "summary", "draft", "scan", "form", "plan", "minutes",
         "budget", "receipt", "photo", "module", "index", "util", "config", "test", "readme", "data"]  # fmt: skip
ODD_NAMES = ["README", "LICENSE", "Makefile", "notes", "Thumbs.db", ".DS_Store", "desktop.ini~", "core"]
PACKAGE_NAMES = ["react", "lodash", "typescript", "@types", "express", "chalk", "debug", "semver", "uuid"]

# Small contents that look like the real thing to a sniffer (documents start with their magic).
_MAGIC = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "docx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06",
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    "gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
    "pyc": b"\xa7\r\r\n\x00\x00\x00\x00",
}
_MAGIC.update({"xlsx": _MAGIC["docx"], "pptx": _MAGIC["docx"], "jpeg": _MAGIC["jpg"], "heic": _MAGIC["jpg"]})
_TEXT = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. Session notes are kept elsewhere.\n"
_JSON = b'{"name": "pkg", "version": "1.0.0", "main": "index.js", "scripts": {"test": "jest"}}\n'
_NOTE = (
    b"Supervision notes, 10:30. Discussed the waiting list and the new intake form;\n"
    b"follow up with the team at 14:00 on Thursday. Read: chapter 3 before next week.\n"
)
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_YEAR_SECONDS = 365 * 24 * 3600


@dataclass
class TreeInfo:
    root: Path
    params: dict[str, object]
    files: int = 0
    dirs: int = 0
    recordings: int = 0
    sidecars: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def marker(self) -> dict[str, object]:
        return {
            "params": self.params,
            "files": self.files,
            "dirs": self.dirs,
            "recordings": self.recordings,
            "sidecars": self.sidecars,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 1),
        }


@dataclass
class _Folder:
    path: str  # relative to the root
    theme: str
    depth: int
    files: int = 0


def default_dir(entries: int, seed: int) -> Path:
    return Path(tempfile.gettempdir()) / f"auditor-bench-tree-{entries}-s{seed}"


def ensure_tree(
    directory: Path | None,
    entries: int = DEFAULT_ENTRIES,
    *,
    seed: int = 1,
    recording_ratio: float = DEFAULT_RECORDING_RATIO,
    log: bool = True,
) -> TreeInfo:
    """The tree at `directory` (default: a temp dir named by the parameters), generated unless a
    finished one with the same parameters is already there."""
    root = Path(directory) if directory else default_dir(entries, seed)
    params: dict[str, object] = {
        "generator": GENERATOR_VERSION,
        "entries": entries,
        "seed": seed,
        "recording_ratio": recording_ratio,
    }
    marker = root / MARKER
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("params") == params:
            info = TreeInfo(root, params)
            for key in ("files", "dirs", "recordings", "sidecars", "bytes", "seconds"):
                setattr(info, key, saved[key])
            if log:
                print(f"reusing {root} ({info.files:,} files, generated earlier)", file=sys.stderr)
            return info
    if root.exists() and any(root.iterdir()):
        if not marker.exists() and not (root / (MARKER + ".partial")).exists():
            raise SystemExit(f"{root} exists and is not a generated tree; refusing to overwrite it")
        shutil.rmtree(root)  # an older or unfinished generated tree
    root.mkdir(parents=True, exist_ok=True)
    (root / (MARKER + ".partial")).write_text(json.dumps(params))
    info = TreeInfo(root, params)
    started = time.perf_counter()
    _generate(info, random.Random(seed), entries, recording_ratio, log)
    info.seconds = time.perf_counter() - started
    info.files += 1  # the marker itself
    marker.write_text(json.dumps(info.marker(), indent=1))
    (root / (MARKER + ".partial")).unlink()
    if log:
        print(f"generated {root}: {info.files:,} files in {info.dirs:,} folders, "
              f"{info.recordings:,} recordings, {info.seconds:.0f} s", file=sys.stderr)  # fmt: skip
    return info


# -- layout ------------------------------------------------------------------------------------


def _layout(rng: random.Random, entries: int) -> list[_Folder]:
    """Folders with their file counts, summing to `entries` (files, not counting folders)."""
    n_folders = max(len(HOME_FOLDERS), entries // FILES_PER_FOLDER)
    users = max(1, min(12, round(math.log10(max(entries, 10)) * 2 - 4)))
    folders: list[_Folder] = []
    for u in range(users):
        for name, theme in HOME_FOLDERS.items():
            folders.append(_Folder(f"home/user{u:02d}/{name}", theme, 1))
    # Random recursive growth: early folders gather many children, late ones few, as on real disks.
    while len(folders) < n_folders:
        parent = folders[rng.randrange(len(folders))]
        if parent.depth >= MAX_DEPTH or (parent.theme == "cache" and rng.random() > CACHE_GROWTH):
            continue
        word = rng.choice(FOLDER_WORDS[parent.theme]).format(
            n=rng.randrange(1, 500),
            year=rng.randrange(2016, 2026),
            hex=f"{rng.getrandbits(16):04x}",
            pkg=rng.choice(PACKAGE_NAMES),
        )
        theme = "packages" if word == "node_modules" else parent.theme
        folders.append(_Folder(f"{parent.path}/{word}-{len(folders)}", theme, parent.depth + 1))
    weights = [rng.lognormvariate(0, 1.0) for _ in folders]
    scale = entries / sum(weights)
    for folder, weight in zip(folders, weights, strict=True):
        folder.files = int(weight * scale)
    for i in range(entries - sum(f.files for f in folders)):
        folders[i % len(folders)].files += 1
    return folders


# -- contents ----------------------------------------------------------------------------------


def _recording_pool() -> list[tuple[str, bytes]]:
    pool = [(name, (FIXTURES / name).read_bytes()) for name in RECORDING_FIXTURES]
    if not pool:
        raise SystemExit(f"no recordings found in {FIXTURES}")
    return pool


def _transcript_pool() -> list[tuple[bytes, str]]:
    return [((FIXTURES / name).read_bytes(), ext) for name, ext in TRANSCRIPTS_BESIDE]


def _blob_pool(rng: random.Random) -> list[bytes]:
    """Opaque contents for unknown and extension-less files; some larger than the scanner's head.

    Each is checked not to look like media by accident (random bytes can resemble MPEG frames),
    so the number of recordings a scan should find is exactly the number planted."""
    from auditor.classify import classify

    pool: list[bytes] = []
    while len(pool) < 64:
        size = rng.choice((96, 300, 700, 1500, 3000, 6000, 16384))
        blob = rng.randbytes(size)
        if classify(blob[:4096], "blob").kind == "other":
            pool.append(blob)
    return pool


def _recording_name(rng: random.Random, fixture: str, n: int) -> tuple[str, str | None]:
    """A realistic name for a copy of `fixture`, and the client id when the name carries one."""
    ext = fixture.partition(".")[2]
    year = rng.randrange(2017, 2026)
    day = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    client = f"C-{rng.randrange(1, 400):04d}"
    encrypted = fixture.endswith(_ENCRYPTED_SUFFIXES)
    style = rng.randrange(10)
    if not encrypted and ext and style == 0:
        ext = "dat"  # renamed by a sync tool or an export
    elif not encrypted and ext and style == 1:
        ext = ""  # extension lost
    names = [
        f"{client}_{day}_session",
        f"{client}_{day}_intake",
        f"Zoom Recording {day} {n}",
        f"voice memo {n}",
        f"{day} session {n}",
        f"rec{n:06d}",
    ]
    name = names[style % len(names)]
    return (f"{name}.{ext}" if ext else name), (client if name.startswith(client) else None)


def _contents(rng: random.Random, ext: str, blobs: list[bytes]) -> bytes:
    magic = _MAGIC.get(ext)
    if magic is not None:
        return magic + _TEXT[: rng.randrange(8, len(_TEXT))]
    if ext in ("", "?", "dat", "bin", "tmp", "db", "part"):
        return rng.choice(blobs)
    if ext == "json":
        return _JSON
    if ext == "txt":
        return _NOTE[: rng.randrange(40, len(_NOTE))]
    return _TEXT[: rng.randrange(20, len(_TEXT))]


def _ordinary_file(
    rng: random.Random, ext: str, i: int, blobs: list[bytes], odd_used: set[str]
) -> tuple[str, bytes]:
    """A document, image, code or cache file: name unique in its folder (by `i`), small contents."""
    if ext == "" and rng.random() < 0.3:
        odd = rng.choice(ODD_NAMES)
        name = odd if odd not in odd_used else f"{odd}-{i}"
        odd_used.add(odd)
        return name, rng.choice(blobs)
    stem = rng.choice(STEMS)
    real_ext = f"x{rng.randrange(100)}" if ext == "?" else ext
    name = f"{stem}-{i}.{real_ext}" if real_ext else f"{stem}-{i}"
    return name, _contents(rng, ext, blobs)


def _write(dir_fd: int, name: str, data: bytes) -> None:
    fd = os.open(name, _FLAGS, 0o644, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_new(dir_fd: int, name: str, data: bytes) -> bool:
    """_write, unless a file of that name is there already (two recordings of one stem)."""
    try:
        _write(dir_fd, name, data)
    except FileExistsError:
        return False
    return True


def _generate(info: TreeInfo, rng: random.Random, entries: int, ratio: float, log: bool) -> None:
    folders = _layout(rng, entries - 1)  # one entry is left for the marker
    recordings = _recording_pool()
    transcripts = _transcript_pool()
    blobs = _blob_pool(rng)
    theme_choices = {theme: ([ext for ext, _ in mix], [w for _, w in mix]) for theme, mix in THEMES.items()}
    now = time.time()
    root = str(info.root)
    next_log = 100_000
    # Every folder, with the home folders and the root above the generated ones.
    info.dirs = len({"/".join(f.path.split("/")[:i]) for f in folders for i in range(f.path.count("/") + 2)})
    for folder in folders:
        path = os.path.join(root, folder.path)
        os.makedirs(path, exist_ok=True)
        dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            exts, weights = theme_choices[folder.theme]
            picks = rng.choices(exts, weights, k=folder.files)
            odd_used: set[str] = set()
            for i, ext in enumerate(picks):
                if rng.random() < ratio:
                    fixture, data = recordings[rng.randrange(len(recordings))]
                    name, client = _recording_name(rng, fixture, info.files)
                    _write(dir_fd, name, data)
                    # Recorded over the past years, so retention rules have something to say.
                    when = now - rng.random() * 8 * _YEAR_SECONDS
                    os.utime(name, (when, when), dir_fd=dir_fd)
                    info.recordings += 1
                    if rng.random() < TRANSCRIPT_RATIO:
                        data, transcript_ext = rng.choice(transcripts)
                        stem = name.rsplit(".", 1)[0] if "." in name else name
                        sibling = f"{stem}.{transcript_ext}"
                        if sibling != name and _write_new(dir_fd, sibling, data):
                            info.recordings += 1
                            info.files += 1
                            info.bytes += len(data)
                    if client and rng.random() < 0.1:
                        sidecar = f"client: {client}\npurpose: treatment\n".encode()
                        _write(dir_fd, name + ".meta.yaml", sidecar)
                        info.sidecars += 1
                        info.files += 1
                        info.bytes += len(sidecar)
                else:
                    name, data = _ordinary_file(rng, ext, i, blobs, odd_used)
                    _write(dir_fd, name, data)
                info.files += 1
                info.bytes += len(data)
        finally:
            os.close(dir_fd)
        if log and info.files >= next_log:
            print(f"  {info.files:,} files...", file=sys.stderr)
            next_log += 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--entries",
        type=int,
        default=DEFAULT_ENTRIES,
        help="files in the tree (folders come on top, ~1 per 25 files)",
    )
    parser.add_argument(
        "--dir", type=Path, help="where to generate (default: a temp dir named by the parameters)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recording-ratio", type=float, default=DEFAULT_RECORDING_RATIO)
    args = parser.parse_args(argv)
    info = ensure_tree(args.dir, args.entries, seed=args.seed, recording_ratio=args.recording_ratio)
    print(json.dumps({"root": str(info.root), **info.marker()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
