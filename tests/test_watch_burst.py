"""A burst of 5,000 real recordings dropped at once: every one is judged, none is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_watch_helpers import SAMPLE, make_settings, read_events, running, wait_for

BURST = 5000


def test_a_burst_of_5000_recordings_is_judged_with_none_lost(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "inbox").mkdir(parents=True)
    settings = make_settings(tmp_path, tree, settle=0.5)
    expected = {str(tree / "inbox" / f"session-{n:05d}.amr") for n in range(BURST)}

    def judged() -> set[str]:
        return {
            e["location"] for e in read_events(settings.events_path) if e["rule"] == "recording-unencrypted"
        }

    with running(settings) as daemon:
        for location in sorted(expected):
            shutil.copyfile(SAMPLE, location)
        wait_for(lambda: judged() >= expected, timeout=60, what=f"all {BURST} recordings to be judged")
        wait_for(lambda: len(daemon.settle) == 0, what="the settle queue to drain")
    events = [e for e in read_events(settings.events_path) if e["rule"] == "recording-unencrypted"]
    assert len(events) == BURST, "a recording alerted more than once"
    assert {e["location"] for e in events} == expected
