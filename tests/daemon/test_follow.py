"""`logs`: the last lines, and following a log across rotation, written by the real RotatingFileHandler
the gateway uses, and by the real `switchboard logs -f` process."""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.daemon.follow import LogFollower, last_lines
from tests.daemon.processes import popen, switchboard, wait_until


class Writer:
    """A logger writing to `path` through a RotatingFileHandler, as app/logs.py and the child logs do."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=3, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger = logging.Logger(f"test-writer-{path}")
        self.logger.addHandler(self.handler)

    def line(self, text: str) -> None:
        self.logger.warning("%s", text)

    def close(self) -> None:
        self.handler.close()


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    made = Writer(tmp_path / "switchboard.log", max_bytes=200)
    yield made
    made.close()


def collect(follower: LogFollower, seen: list[str], count: int) -> None:
    wait_until(lambda: seen.extend(follower.poll()) or len(seen) >= count, f"{count} lines")


def test_last_lines_and_lines_written_after_following_started(tmp_path: Path, writer: Writer) -> None:
    path = tmp_path / "switchboard.log"
    for i in range(3):
        writer.line(f"old {i}")
    assert last_lines(path, 2) == ["old 1", "old 2"]
    assert last_lines(path, 0) == [] and last_lines(tmp_path / "none.log", 5) == []
    follower = LogFollower(path)
    assert follower.poll() == []  # what was there before is not "new"
    writer.line("new 0")
    seen: list[str] = []
    collect(follower, seen, 1)
    assert seen == ["new 0"]


def test_following_across_rotations_loses_no_line_and_repeats_none(tmp_path: Path, writer: Writer) -> None:
    path = tmp_path / "switchboard.log"
    writer.line("before")
    follower = LogFollower(path)
    seen: list[str] = []
    sent = []
    first_file = os.stat(path).st_ino
    # ~30 bytes a line, 200 bytes a file (6 lines). First a poll every 3 lines (one rotation at most between
    # two polls), then 15 lines at once: LOG.2 is the file it was reading, LOG.1 one it never saw.
    for i in range(40):
        sent.append(f"line {i:03d} " + "x" * 16)
        writer.line(sent[-1])
        if i < 25 and i % 3 == 0:
            seen.extend(follower.poll())
    collect(follower, seen, len(sent))
    assert os.stat(path).st_ino != first_file and (tmp_path / "switchboard.log.3").exists(), "it did rotate"
    assert seen == sent


def test_a_log_truncated_in_place_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "child-demo.log"
    path.write_text("one\ntwo\n")
    follower = LogFollower(path)
    path.write_text("three\n")  # `> LOG`, or copytruncate
    seen: list[str] = []
    collect(follower, seen, 1)
    assert seen == ["three"]


def test_a_log_that_does_not_exist_yet_is_followed_once_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    follower = LogFollower(path)
    assert follower.poll() == []
    path.write_text("first\nsecond")  # the second line is not complete yet
    seen: list[str] = []
    collect(follower, seen, 1)
    with path.open("a") as more:
        more.write(" half\n")
    collect(follower, seen, 2)
    assert seen == ["first", "second half"]


def test_logs_f_prints_lines_written_after_it_started_across_rotation(isolated_home: Path) -> None:
    logs = isolated_home / "logs"
    logs.mkdir(parents=True)
    writer = Writer(logs / "switchboard.log", max_bytes=300)
    writer.line("already there")
    proc = popen("logs", "-f", "-n", "1", home=isolated_home)
    out: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: out.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: out == ["already there"], "the last line")
        sent = [f"after {i:02d} " + "y" * 20 for i in range(30)]
        for line in sent:
            writer.line(line)
        wait_until(lambda: len(out) >= 1 + len(sent), "the lines written after it started")
        assert (logs / "switchboard.log.1").exists(), "it did rotate"
        assert out == ["already there", *sent]
    finally:
        writer.close()
        proc.terminate()
        proc.wait(30)


def test_logs_of_one_server_and_the_sentences_when_there_is_none(isolated_home: Path) -> None:
    logs = isolated_home / "logs"
    logs.mkdir(parents=True)
    (logs / "child-my_server.log").write_text("a\nb\nc\n")
    shown = switchboard("logs", "--server", "my server", "-n", "2", home=isolated_home)  # named as the gateway does
    assert (shown.returncode, shown.stdout) == (0, "b\nc\n")
    missing = switchboard("logs", "--server", "nope", home=isolated_home)
    assert missing.returncode == 1
    where = logs / "child-nope.log"
    assert missing.stderr.strip() == f"switchboard: there is no log for the server 'nope' at {where}. " \
                                     "Servers with a log: my_server."
    assert switchboard("logs", home=isolated_home).stderr.startswith("switchboard: there is no log yet at")
