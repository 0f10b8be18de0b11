"""Running a command on a machine where some system libraries are missing, for real, without touching
the host: in a private mount namespace, an overlay over the libraries' folder with a whiteout for each
soname link and the file it points to, so the dynamic loader finds nothing, as on a fresh install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui.platform_probe import unresolved_libraries


def xcb_plugin() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def skip_unless_xcb_loads() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the xcb platform plugin exists on Linux only")
    missing = unresolved_libraries(str(xcb_plugin()))
    if missing:
        pytest.skip(f"the xcb plugin's libraries are not installed here: {', '.join(missing)}")


def library_path(soname: str) -> Path:
    out = subprocess.run(["ldd", str(xcb_plugin())], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name == soname:
            return Path(rest.split(" (")[0])
    raise AssertionError(f"ldd does not list {soname} for the xcb plugin:\n{out}")


def run_without(sonames: list[str], tmp_path: Path, argv: list[str]) -> list[str]:
    """`argv` run in a private mount namespace where `sonames` do not exist: an overlay over their
    folder with a whiteout for the soname link and the file it points to."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) (util-linux) to hide a library in a private mount namespace")
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    folders: set[Path] = set()
    whiteouts: list[str] = []
    for soname in sonames:
        link = library_path(soname)
        folders.add(link.resolve().parent)
        whiteouts += [link.name, link.resolve().name]
    assert len(folders) == 1, folders
    (folder,) = folders
    script = (
        'set -e; for name in $WHITEOUTS; do mknod "$UPPER/$name" c 0 0; done; '
        'mount -t overlay overlay -o "lowerdir=$LIBS,upperdir=$UPPER,workdir=$WORK" "$LIBS"; '
        'for name in $WHITEOUTS; do test ! -e "$LIBS/$name"; done; exec "$@"'
    )
    unshare = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--mount"]
    env = dict(
        os.environ, UPPER=str(upper), WORK=str(work), LIBS=str(folder), WHITEOUTS=" ".join(dict.fromkeys(whiteouts))
    )
    done = subprocess.run(
        [*unshare, "sh", "-c", script, "sh", *argv], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0 and not done.stdout:
        pytest.skip(f"cannot hide a library here (needs root or user namespaces and overlayfs): {done.stderr[-300:]}")
    return done.stdout.splitlines()
