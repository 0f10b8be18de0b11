"""One markdown table and the same figures as JSON: every gateway figure beside the direct baseline."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench.load import Stats

MB = 1024 * 1024


@dataclass
class Row:
    scenario: str
    direct: str = ""
    switchboard: str = ""
    peers: dict[str, str] = field(default_factory=dict)  # peer program -> its cell
    vs_peer: str = ""  # Switchboard ÷ the best peer, naming it
    vs_direct: str = ""
    errors: str = ""
    goals: list[tuple[str, bool | None]] = field(default_factory=list)  # (goal, met); None: not judged
    data: dict[str, Any] = field(default_factory=dict)  # raw numbers for the JSON

    def cells(self, columns: list[str]) -> list[str]:
        goals = " · ".join(text + ("" if met is None else (" ✓" if met else " ✗")) for text, met in self.goals)
        peers = [self.peers.get(column, "") for column in columns]
        return [self.scenario, self.direct, self.switchboard, *peers, self.vs_peer, self.vs_direct, self.errors, goals]


def ms(value: float | None) -> str:
    return "-" if value is None else (f"{value:.2f}" if value < 10 else f"{value:.1f}")


def mb(value: float) -> str:
    return f"{value / MB:.1f} MB"


def ratio(gateway: float | None, direct: float | None) -> float | None:
    return gateway / direct if gateway is not None and direct else None


def times(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if abs(value) >= 0.1 else f"{value:.2g}x"  # 0.0025x, not 0.00x


def fmt_ratio(value: float | None, against: str | None) -> str:
    return f"{times(value)} ({against})" if value is not None and against else "-"


def per_second(rate: float | None) -> str:
    return "0" if not rate else (f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}")


def latency_cell(stats: Stats, cpu_of: str = "") -> str:
    rate = stats.rate
    cpu = stats.cpu_per_call
    who = f"{cpu_of} " if cpu_of else ""
    return (
        f"p50 {ms(stats.percentile(0.5))} · p99 {ms(stats.percentile(0.99))} ms · {per_second(rate)} calls/s"
        + (f" · {who}CPU {cpu:,.0f} µs/call" if cpu is not None else "")
    )


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": sys.version.split()[0],
        "mcp": importlib.metadata.version("mcp"),
        "commit": _commit(),
    }


def _commit() -> str:
    """The checkout's short commit, with `+dirty` when the tree has changes; "?" outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=root)
    except OSError:
        return "?"
    if head.returncode != 0:
        return "?"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    """The table: one column per side; peer programs carry their pinned versions in the header."""
    versions: dict[str, str] = meta.get("peers", {})
    columns = list(versions)
    header = ["scenario", "direct stdio", "Switchboard", *(f"{name} {versions[name]}" for name in columns)]
    header += ["Switchboard ÷ best peer", "Switchboard ÷ direct", "errors", "goals"]
    lines = [
        f"Switchboard bench · {meta['date']} · {meta['cpu']}, {meta['cores']} cores · Python {meta['python']}"
        f" · mcp {meta['mcp']} · commit {meta.get('commit', '?')}"
        + (f" · patches: {meta['patches']}" if meta.get("patches") else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines.extend("| " + " | ".join(c.replace("|", "\\|") for c in row.cells(columns)) + " |" for row in rows)
    return "\n".join(lines)


def write_json(directory: Path, rows: list[Row], meta: dict[str, Any], table: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = meta["date"].replace(":", "").replace("-", "")[:15]
    path = directory / f"bench-{stamp}.json"
    payload = {"meta": meta, "rows": [asdict(row) for row in rows], "markdown": table}
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    (directory / "latest.json").write_bytes(path.read_bytes())
    return path
