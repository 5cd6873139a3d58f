#!/usr/bin/env python3
"""`make demo`: build a small sample practice with real recordings, audit it, and say where the reports are.

The practice is made of the real audio/video fixtures in tests/fixtures/media (made with ffmpeg,
espeak-ng, gpg, age and openssl), copied under names, folders and permissions that show each kind
of problem, with a consent registry and config to match. Dates are relative to today, so the demo
tells the same story whenever it runs. Nothing outside --out is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEDIA = REPO / "tests" / "fixtures" / "media"


def ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def build_practice(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)

    def put(rel: str, fixture: str, mode: int = 0o600) -> Path:
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(MEDIA / fixture, dest)
        dest.chmod(mode)
        return dest

    root.mkdir(parents=True, mode=0o700)
    # Compliant: content-encrypted, consented, confirmed, recent.
    put(f"Clinic/Recordings/C-1001_{ago(3)}_supervision.m4a.gpg", "session.m4a.gpg")
    put(f"Clinic/Recordings/C-1001_{ago(3)}_supervision.vtt.pgp", "session.vtt.pgp")
    # Unencrypted plaintext recording on an unencrypted disk.
    put(f"Clinic/Recordings/C-1002_{ago(5)}_supervision.m4a", "session.m4a")
    # Kept past the 30-day supervision limit; and the client withdrew consent since.
    put(f"Clinic/Recordings/C-1003_{ago(75)}_supervision.m4a.age", "session.m4a.age")
    # Recorded for training, but consent covers supervision only.
    put(f"Clinic/Recordings/C-1004_{ago(10)}_training.wav.age", "session.wav.age")
    # Per-session consent: the client declined recording that day.
    put(f"Clinic/Recordings/C-1005_{ago(8)}_supervision.opus.age", "session.wav.age")
    # Kept for years, but under a legal hold: listed, not flagged for retention.
    put(f"Clinic/Legal/C-1006_{ago(800)}_legal.mp4.gpg", "session.m4a.gpg")
    # A couple session: one partner never consented.
    couple = put(f"Clinic/Recordings/couple-{ago(4)}.webm.age", "session.wav.age")
    couple.with_name(couple.name + ".meta.yaml").write_text(
        f"client: C-1007\nsession_date: {ago(4)}\npurpose: supervision\nparticipants: [C-1007, C-1008]\n"
    )
    # Dragged into Dropbox, world-readable: exposed and a breach.
    dropbox = root / "Home" / "Dropbox"
    put(f"Home/Dropbox/Supervision/C-1002_{ago(2)}_supervision.mp4", "session.mp4", mode=0o644)
    for folder in (root, root / "Home", dropbox, dropbox / "Supervision"):
        folder.chmod(0o755)
    # A Zoom download nobody named: unattributed and unencrypted.
    put("Home/Downloads/zoom_0.mp4", "session-dated.mp4")
    # A recording hiding behind a neutral extension, and a fake .mp3 that is just text.
    put("Home/Documents/backup-0042.dat", "session-copy.dat")
    put("Home/Documents/ringtone.mp3", "fake.mp3")
    # Under the practice website's web root, encrypted but with its key right beside it.
    put("www/uploads/intake.wav.age", "session.wav.age", mode=0o644)
    put("www/uploads/age-identity.txt", "age-identity.txt", mode=0o644)
    for folder in (root / "www", root / "www" / "uploads"):
        folder.chmod(0o755)
    (root / "Home" / "Documents" / "notes.txt").write_text("Supervision notes: see the recording folder.\n")
    # Waiting-room music: audio, but no session; the suppression file says so (write_ignore).
    put("Home/Music/relaxation-rain.mp3", "session-bare.mp3")


def write_policy(out: Path, practice: Path) -> Path:
    (out / "consent.yaml").write_text(
        f"""version: 1
clients:
  - id: C-1001
    consents: [{{granted: {ago(200)}, purposes: [supervision], per_session: true}}]
    sessions: [{{date: {ago(3)}, recording: confirmed}}]
  - id: C-1002
    consents: [{{granted: {ago(100)}, purposes: [supervision]}}]
  - id: C-1003
    consents: [{{granted: {ago(200)}, purposes: [supervision], revoked: {ago(60)}}}]
  - id: C-1004
    consents: [{{granted: {ago(100)}, purposes: [supervision]}}]
  - id: C-1005
    consents: [{{granted: {ago(100)}, purposes: [supervision], per_session: true}}]
    sessions: [{{date: {ago(8)}, recording: declined}}]
  - id: C-1006
    consents: [{{granted: {ago(900)}, purposes: [legal]}}]
    legal_hold: {{until: {(date.today() + timedelta(days=200)).isoformat()}, reason: records subpoena (case 2025-118)}}
  - id: C-1007
    consents: [{{granted: {ago(100)}, purposes: [supervision]}}]
"""
    )
    config = out / "auditor.yaml"
    config.write_text(
        rf"""version: 1
organisation: Riverside Counselling (sample practice)
consent_registry: consent.yaml
retention:
  default_days: 90
  by_purpose: {{supervision: 30, training: 180, legal: null}}
attribution:
  patterns: ['(?P<client>C-\d+)_(?P<date>\d{{4}}-\d{{2}}-\d{{2}})_(?P<purpose>[a-z]+)']
consent:
  withdrawal_grace_days: 30
encryption:
  trusted_volumes: []
exposure:
  web_roots: [{practice / "www"}]
  broad_groups: [users, staff]
owners:
  - path: {practice / "Clinic"}
    owner: Dr. M. Rivera (clinical lead)
    due_days: 14
  - path: {practice / "Clinic" / "Legal"}
    owner: S. Okafor (records officer)
    due_days: 30
  - path: {practice / "Home"}
    owner: J. Chen (practice manager)
    due_days: 7
  - path: {practice / "www"}
    owner: Web host support (IT)
    due_days: 2
"""
    )
    return config


def write_ignore(out: Path, practice: Path) -> Path:
    """What the practice has assessed: the waiting-room music is no session recording."""
    ignore = out / "auditor-ignore.yaml"
    ignore.write_text(
        f"""version: 1
suppressions:
  - location: {practice / "Home" / "Music"}/relaxation-*.mp3
    not_a_session_recording: true
    reason: Waiting-room relaxation music, no client in it (checked by J. Chen)
    expires: {(date.today() + timedelta(days=180)).isoformat()}
"""
    )
    return ignore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/demo"))
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    practice = out / "practice"
    step(f"building the sample practice in {practice}")
    build_practice(practice)
    config = write_policy(out, practice)
    ignore = write_ignore(out, practice)
    html, js = out / "report.html", out / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "auditor",
        "scan",
        str(practice),
        "--config",
        str(config),
        "--ignore",
        str(ignore),
    ]
    cmd += ["-o", str(html), "-o", str(js), "--fail-on", "none"]
    step("scanning it")
    print(
        "$ auditor scan", practice, "--config", config, "--ignore", ignore, "-o", html, "-o", js, flush=True
    )
    code = subprocess.call(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if code != 0:
        return code
    step(f"reports written to {out}")
    print(f"Sample practice: {practice}")
    print(f"HTML report:     {html}")
    print(f"JSON result:     {js}")
    print(f"Open it:         xdg-open {html}   (or any browser; it works offline)")
    return 0


def step(what: str) -> None:
    """One line per step, in the same form as the Makefile's, so a first run is never silent."""
    print(f"demo: {what}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
