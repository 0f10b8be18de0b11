"""One instance per user: real processes take the real OS lock in a throwaway state folder."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from app.daemon.instance import (
    RUNTIME_NAME,
    InstanceLock,
    InstanceLockError,
    RuntimeInfo,
    running_instance,
)

ROOT = Path(__file__).resolve().parents[2]

# Acquires, prints what acquire() returned (null = "we hold it"), then holds until stdin closes.
HOLDER = """
import dataclasses, json, sys
from pathlib import Path
from app.daemon.instance import InstanceLock, RuntimeInfo
lock = InstanceLock(Path(sys.argv[1]))
other = lock.acquire(RuntimeInfo.for_this_process(mode="headless", config="/cfg/config.json",
                                                  url="http://127.0.0.1:1/mcp", port=1))
print(json.dumps(None if other is None else dataclasses.asdict(other)), flush=True)
sys.stdin.readline()
if "release" in sys.argv[2:]:
    lock.release()
"""

READER = """
import dataclasses, json, sys
from pathlib import Path
from app.daemon.instance import running_instance
info = running_instance(Path(sys.argv[1]))
print(json.dumps(None if info is None else dataclasses.asdict(info)), flush=True)
"""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Holder:
    """A child process running HOLDER; `said` is what its acquire() returned."""

    def __init__(self, state: Path, *extra: str, read_answer: bool = True) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(state), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        if read_answer:
            self.read_answer()

    def read_answer(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until acquire() has returned in the child
        assert line, f"holder exited early with {self.process.wait()}"
        self.said: dict[str, Any] | None = json.loads(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def finish(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:
        holder.kill()


def runtime_file(state: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((state / RUNTIME_NAME).read_text())
    return data


def read_from_another_process(state: Path) -> dict[str, Any] | None:
    out = subprocess.run([sys.executable, "-c", READER, str(state)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] | None = json.loads(out.stdout)
    return result


def my_info(**changes: Any) -> RuntimeInfo:
    return dataclasses.replace(RuntimeInfo.for_this_process(mode="tray", config="/mine.json"), **changes)


def test_a_second_process_gets_the_first_ones_info_and_starts_nothing(state: Path, holders: list[Holder]) -> None:
    first = Holder(state)
    holders.append(first)
    assert first.said is None
    published = runtime_file(state)
    assert published["pid"] == first.pid
    assert published["process_started"] == pytest.approx(psutil.Process(first.pid).create_time(), abs=1)

    second = Holder(state)
    holders.append(second)
    assert second.said == published  # the running instance's info, not its own
    assert second.finish() == 0
    assert runtime_file(state) == published  # the second one did not touch the file

    assert running_instance(state) == RuntimeInfo.from_json((state / RUNTIME_NAME).read_text())
    assert read_from_another_process(state) == published


def test_of_several_processes_started_together_exactly_one_runs(state: Path, holders: list[Holder]) -> None:
    racers = [Holder(state, read_answer=False) for _ in range(4)]  # all started before any is read
    holders.extend(racers)
    for racer in racers:
        racer.read_answer()
    winners = [racer for racer in racers if racer.said is None]
    assert len(winners) == 1, [racer.said for racer in racers]
    for racer in racers:
        if racer is not winners[0]:
            assert racer.said is not None and racer.said["pid"] == winners[0].pid
    assert runtime_file(state)["pid"] == winners[0].pid


def test_kill_9_leaves_a_stale_file_that_is_never_trusted_and_is_replaced(state: Path, holders: list[Holder]) -> None:
    holder = Holder(state)
    holders.append(holder)
    assert running_instance(state) is not None
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(timeout=30)

    assert runtime_file(state)["pid"] == holder.pid  # the file outlived its process...
    assert running_instance(state) is None  # ...and is not believed
    assert read_from_another_process(state) is None

    lock = InstanceLock(state)
    assert lock.acquire(my_info()) is None
    try:
        assert runtime_file(state)["pid"] == os.getpid()
        assert running_instance(state) == lock.info
    finally:
        lock.release()


def test_a_killed_but_unreaped_holder_is_not_trusted(state: Path, holders: list[Holder]) -> None:
    """A zombie keeps its pid and start time; only the dropped lock tells it is gone."""
    holder = Holder(state)
    holders.append(holder)
    os.kill(holder.pid, signal.SIGKILL)  # no wait(): the child stays a zombie until the fixture reaps it
    wait_until(lambda: psutil.Process(holder.pid).status() == psutil.STATUS_ZOMBIE, "the holder to become a zombie")
    assert running_instance(state) is None


def test_a_live_pid_with_another_start_time_is_not_trusted(state: Path, holders: list[Holder]) -> None:
    """The lock is held, but runtime.json names a live process that is not the one that wrote it (a reused pid)."""
    holder = Holder(state)
    holders.append(holder)
    impostor = my_info(process_started=psutil.Process().create_time() - 1000)
    (state / RUNTIME_NAME).write_text(impostor.to_json())

    assert running_instance(state) is None
    assert read_from_another_process(state) is None
    # A starter cannot learn who holds the lock: it says so (naming the file) rather than start a second gateway.
    with pytest.raises(InstanceLockError, match=r"instance\.lock"):
        InstanceLock(state).acquire(my_info(), timeout=0.2)


def test_a_live_pid_without_the_lock_is_not_trusted_and_is_replaced(state: Path) -> None:
    """runtime.json names this very test process, start time and all, but nobody holds the lock."""
    state.mkdir()
    (state / RUNTIME_NAME).write_text(my_info(url="http://127.0.0.1:9/old").to_json())
    assert running_instance(state) is None
    assert read_from_another_process(state) is None

    lock = InstanceLock(state)
    assert lock.acquire(my_info(url="http://127.0.0.1:9/new")) is None
    try:
        assert runtime_file(state)["url"] == "http://127.0.0.1:9/new"
    finally:
        lock.release()


def test_a_runtime_file_that_does_not_parse_is_not_trusted_and_is_replaced(state: Path) -> None:
    state.mkdir()
    (state / RUNTIME_NAME).write_text('{"pid": ')
    assert running_instance(state) is None
    lock = InstanceLock(state)
    assert lock.acquire(my_info()) is None
    lock.release()


def test_release_removes_the_file_and_frees_the_lock(state: Path, holders: list[Holder]) -> None:
    lock = InstanceLock(state)
    assert lock.acquire(my_info()) is None
    mode = stat.S_IMODE((state / RUNTIME_NAME).stat().st_mode)
    assert mode == 0o600, oct(mode)

    # Checking from this same process must not drop our lock (flock belongs to the open file).
    assert running_instance(state) == lock.info
    other = Holder(state)
    holders.append(other)
    assert other.said is not None and other.said["pid"] == os.getpid()
    other.finish()

    lock.release()
    assert not (state / RUNTIME_NAME).exists()
    assert running_instance(state) is None
    lock.release()  # idempotent

    after = Holder(state)
    holders.append(after)
    assert after.said is None
    assert runtime_file(state)["pid"] == after.pid


def test_a_holder_that_releases_or_just_exits_leaves_no_file(state: Path) -> None:
    for extra in (["release"], []):  # explicit release(), then only the atexit handler
        holder = Holder(state, *extra)
        assert (state / RUNTIME_NAME).exists()
        assert holder.finish() == 0
        assert not (state / RUNTIME_NAME).exists(), extra
        assert running_instance(state) is None


def test_update_is_published_to_other_processes(state: Path) -> None:
    lock = InstanceLock(state)
    assert lock.acquire(my_info()) is None
    try:
        assert read_from_another_process(state) == dataclasses.asdict(my_info_now(lock))
        lock.update(url="http://127.0.0.1:5123/mcp", port=5123, control="http://127.0.0.1:5123/api/v1")
        seen = read_from_another_process(state)
        assert seen is not None
        assert (seen["url"], seen["port"], seen["control"]) == (
            "http://127.0.0.1:5123/mcp",
            5123,
            "http://127.0.0.1:5123/api/v1",
        )
        with pytest.raises(ValueError):
            lock.update(port="not a port")
        assert read_from_another_process(state) == seen  # a rejected update changes nothing
    finally:
        lock.release()


def my_info_now(lock: InstanceLock) -> RuntimeInfo:
    assert lock.info is not None
    return lock.info


def test_a_runtime_file_that_cannot_be_written_fails_cleanly_and_frees_the_lock(state: Path) -> None:
    (state / RUNTIME_NAME).mkdir(parents=True)  # a folder where the file goes: the write fails for real
    with pytest.raises(InstanceLockError, match=r"cannot write .*runtime\.json"):
        InstanceLock(state).acquire(my_info())
    (state / RUNTIME_NAME).rmdir()
    lock = InstanceLock(state)
    assert lock.acquire(my_info()) is None  # the failed attempt let go of the lock
    lock.release()


def test_acquire_refuses_info_for_another_process(state: Path) -> None:
    with pytest.raises(ValueError, match="pid"):
        InstanceLock(state).acquire(my_info(pid=os.getppid()))
    assert not (state / RUNTIME_NAME).exists()
