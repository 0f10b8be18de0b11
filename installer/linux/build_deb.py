"""Builds dist/switchboard_VERSION_ARCH.deb from the frozen folder dist/Switchboard (`make installer` on Linux).

Layout: the bundle in /opt/switchboard, /usr/bin/switchboard a link to it, a .desktop entry and the
hicolor icons. Depends is derived from the bundle itself: every ELF file's NEEDED sonames that the
bundle does not carry are mapped to packages through SONAME_PACKAGES (app/ui/platform_probe.py, the
same table the tray's Qt probe names packages from); a soname missing from the table stops the build
with its name, so the table and the Depends cannot drift from what the bundle loads. libc6 gets the
newest GLIBC_ symbol version any binary asks for.

    python installer/linux/build_deb.py [--bundle dist/Switchboard] [--out dist]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402
from app.ui.platform_probe import SONAME_PACKAGES  # noqa: E402

HERE = Path(__file__).resolve().parent
PACKAGE = "switchboard"
INSTALL_DIR = Path("opt/switchboard")
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
# The C library's own sonames: one package, versioned by the GLIBC_ symbols the binaries use.
LIBC_SONAMES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libanl.so.1",
        "libnsl.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "ld-linux.so.2",
    }
)
# Python's own extension modules' libraries (the Qt ones are in SONAME_PACKAGES: the probe names them).
PYTHON_SONAME_PACKAGES = {
    "libbz2.so.1.0": "libbz2-1.0",
    "libcrypto.so.3": "libssl3",
    "libssl.so.3": "libssl3",
    "libexpat.so.1": "libexpat1",
    "libffi.so.8": "libffi8",
    "libgdbm.so.6": "libgdbm6",
    "liblzma.so.5": "liblzma5",
    "libmpdec.so.3": "libmpdec3",
    "libncursesw.so.6": "libncursesw6",
    "libreadline.so.8": "libreadline8",
    "libsqlite3.so.0": "libsqlite3-0",
    "libtinfo.so.6": "libtinfo6",
    "libuuid.so.1": "libuuid1",
}
# Ubuntu 24.04 renamed these in its 64-bit time_t transition; either name satisfies the dependency.
T64_RENAMES = {name: f"{name}t64 | {name}" for name in ("libglib2.0-0", "libssl3", "libreadline8", "libpng16-16")}
_GLIBC_VERSION = re.compile(rb"GLIBC_2\.(\d+)(?:\.\d+)?\x00")


class BuildError(Exception):
    pass


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                if file.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def needed_sonames(binary: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", "-W", str(binary)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def system_needs(bundle: Path) -> dict[str, set[str]]:
    """soname -> the bundle files that need it, for every soname the bundle does not carry itself."""
    carried = {path.name for path in bundle.rglob("*")}
    needs: dict[str, set[str]] = {}
    for binary in elf_files(bundle):
        for soname in needed_sonames(binary):
            if soname not in carried:
                needs.setdefault(soname, set()).add(str(binary.relative_to(bundle)))
    return needs


def min_glibc(bundle: Path) -> str:
    minor = max(
        (int(m) for binary in elf_files(bundle) for m in _GLIBC_VERSION.findall(binary.read_bytes())), default=0
    )
    return f"2.{minor}"


def depends(bundle: Path) -> list[str]:
    table = {**SONAME_PACKAGES, **PYTHON_SONAME_PACKAGES}
    needs = system_needs(bundle)
    unknown = {name: users for name, users in needs.items() if name not in table and name not in LIBC_SONAMES}
    if unknown:
        lines = [f"  {name} (needed by {', '.join(sorted(users)[:3])})" for name, users in sorted(unknown.items())]
        raise BuildError(
            "the bundle needs system libraries with no package in SONAME_PACKAGES (app/ui/platform_probe.py) "
            "or PYTHON_SONAME_PACKAGES (installer/linux/build_deb.py):\n"
            + "\n".join(lines)
            + "\nadd each soname with its Debian package (`dpkg -S SONAME` names it) to one of the tables,"
            " or leave its user out of the bundle"
        )
    packages = sorted({table[name] for name in needs if name in table})
    return [f"libc6 (>= {min_glibc(bundle)})", *(T64_RENAMES.get(package, package) for package in packages)]


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def installed_size_kib(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*")) // 1024 + 1


def control(arch: str, depends: list[str], size_kib: int) -> str:
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {__version__}\n"
        f"Architecture: {arch}\n"
        "Maintainer: Switchboard developers <switchboard@localhost>\n"
        f"Installed-Size: {size_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        "Suggests: gnome-shell-extension-appindicator\n"  # GNOME shows tray icons only with it
        "Section: devel\n"
        "Priority: optional\n"
        "Description: local MCP gateway for all your AI clients, in the tray\n"
        " Switchboard starts and supervises your MCP servers, merges their tools under\n"
        " namespaced names and serves them to every AI client on the machine over\n"
        " Streamable HTTP and SSE with an API key, and over stdio through a bridge.\n"
        " It also runs headless: switchboard serve.\n"
    )


def stage(bundle: Path, staging: Path, arch: str) -> None:
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(bundle, staging / INSTALL_DIR, symlinks=True)
    bin_dir = staging / "usr/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / PACKAGE).symlink_to(f"/{INSTALL_DIR}/Switchboard")
    apps = staging / "usr/share/applications"
    apps.mkdir(parents=True)
    shutil.copy(HERE / "switchboard.desktop", apps / "switchboard.desktop")
    resources = ROOT / "resources"
    for size in ICON_SIZES:
        icon_dir = staging / f"usr/share/icons/hicolor/{size}x{size}/apps"
        icon_dir.mkdir(parents=True)
        shutil.copy(resources / f"app-{size}.png", icon_dir / f"{PACKAGE}.png")
    scalable = staging / "usr/share/icons/hicolor/scalable/apps"
    scalable.mkdir(parents=True)
    shutil.copy(resources / "app.svg", scalable / f"{PACKAGE}.svg")
    doc = staging / f"usr/share/doc/{PACKAGE}"
    doc.mkdir(parents=True)
    shutil.copy(HERE / "copyright", doc / "copyright")

    debian = staging / "DEBIAN"
    debian.mkdir()
    size = installed_size_kib(staging)
    (debian / "control").write_text(control(arch, depends(staging / INSTALL_DIR), size))
    for script in ("prerm", "postrm"):
        shutil.copy(HERE / script, debian / script)
        (debian / script).chmod(0o755)
    for path in staging.rglob("*"):  # dpkg-deb wants sane modes whatever the umask of the build
        if not path.is_symlink() and path.parent.name != "DEBIAN":
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)


def build(bundle: Path, out_dir: Path) -> Path:
    if not (bundle / "Switchboard").is_file():
        raise BuildError(f"no frozen app at {bundle}/Switchboard: run `make package` first")
    for tool in ("dpkg-deb", "readelf"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is not installed (Debian packages dpkg and binutils)")
    arch = architecture()
    staging = ROOT / "build" / "deb" / "root"
    stage(bundle, staging, arch)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{PACKAGE}_{__version__}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(staging), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "Switchboard")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        deb = build(args.bundle, args.out)
    except BuildError as exc:
        print(f"build_deb: {exc}", file=sys.stderr)
        return 1
    print(deb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
