"""One markdown table and the same figures as JSON: every gateway figure beside the direct baseline."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
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
    direct: str
    gateway: str
    ratio: str
    errors: str = ""
    target: str = ""
    met: bool | None = None  # None: no target for this row
    data: dict[str, Any] = field(default_factory=dict)  # raw numbers for the JSON

    def cells(self) -> list[str]:
        mark = "" if self.met is None else (" ✓" if self.met else " ✗")
        return [self.scenario, self.direct, self.gateway, self.ratio, self.errors, self.target + mark]


HEADER = ["scenario", "direct stdio", "gateway", "gateway ÷ direct", "errors", "target"]


def ms(value: float | None) -> str:
    return "-" if value is None else (f"{value:.2f}" if value < 10 else f"{value:.1f}")


def mb(value: float) -> str:
    return f"{value / MB:.1f} MB"


def ratio(gateway: float | None, direct: float | None) -> float | None:
    return gateway / direct if gateway is not None and direct else None


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def latency_cell(stats: Stats, cpu_of: str = "") -> str:
    rate = stats.rate
    cpu = stats.cpu_per_call
    return (
        f"p50 {ms(stats.percentile(0.5))} · p90 {ms(stats.percentile(0.9))} · p99 {ms(stats.percentile(0.99))} ms"
        f" · {rate or 0:,.0f} calls/s" + (f" · {cpu_of} CPU {cpu:,.0f} µs/call" if cpu is not None else "")
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
    }


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        f"Switchboard bench · {meta['date']} · {meta['cpu']}, {meta['cores']} cores · Python {meta['python']}"
        f" · mcp {meta['mcp']}" + (f" · patches: {meta['patches']}" if meta.get("patches") else ""),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines.extend("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |" for row in rows)
    return "\n".join(lines)


def write_json(directory: Path, rows: list[Row], meta: dict[str, Any], table: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = meta["date"].replace(":", "").replace("-", "")[:15]
    path = directory / f"bench-{stamp}.json"
    payload = {"meta": meta, "rows": [asdict(row) for row in rows], "markdown": table}
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    (directory / "latest.json").write_bytes(path.read_bytes())
    return path
