"""Tool search mode on a realistic catalog: what `tools/list` costs a client in search mode vs full mode, and
how often the right tool is in a search's top 3 for a fixed set of task phrases.

    python -m bench.tool_search [--list] [--out bench/results]

The catalog is real servers behind one Switchboard on 127.0.0.1: the bundled demo, `server-everything`,
`mcp-server-time` (the app's dev dependencies), and, installed here into bench/.peers/search/ on first use
(pinned; never the app's dependencies), `@modelcontextprotocol/server-filesystem`,
`@modelcontextprotocol/server-memory` (npm) and `mcp-server-git` (PyPI, a venv of its own). The bytes are
the HTTP bodies of `tools/list` as a client receives them. The task phrases (TASKS) were written from the
servers' tool lists before the ranking was tuned, and are not changed to fit it. `--list` prints the catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers import pip_into, run_step

ROOT = Path(__file__).resolve().parent.parent
SEARCH_DIR = ROOT / "bench" / ".peers" / "search"
NPM_PREFIX = SEARCH_DIR / "npm"
GIT_VENV = SEARCH_DIR / "mcp-server-git"
NPM_PACKAGES = {
    "@modelcontextprotocol/server-everything": "2026.8.31",
    "@modelcontextprotocol/server-filesystem": "2026.8.31",
    "@modelcontextprotocol/server-memory": "2026.8.31",
}
GIT_VERSION = "2026.10.19"
INSTALL_TIMEOUT = 300.0
RUN_TIMEOUT = 120.0  # everything after the install: start, list, 30 searches
GOAL_BYTES = 0.10  # search mode's tools/list at most 10 % of the full one
GOAL_TOP3 = 0.90
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}

# (what a user would ask an agent to do, the tool that does it). Written before tuning; kept as written.
TASKS: list[tuple[str, str]] = [
    ("what time is it now in Tokyo", "time__get_current_time"),
    ("convert 3pm New York time to London time", "time__convert_time"),
    ("read the contents of a text file", "filesystem__read_text_file"),
    ("write a new file to disk", "filesystem__write_file"),
    ("make a new folder", "filesystem__create_directory"),
    ("list what is inside a directory", "filesystem__list_directory"),
    ("rename or move a file", "filesystem__move_file"),
    ("find files matching a pattern", "filesystem__search_files"),
    ("size and modification date of a file", "filesystem__get_file_info"),
    ("which directories am I allowed to access", "filesystem__list_allowed_directories"),
    ("replace some lines in an existing file", "filesystem__edit_file"),
    ("show the directory tree recursively", "filesystem__directory_tree"),
    ("remember a new person in the knowledge graph", "memory__create_entities"),
    ("link two entities with a relation", "memory__create_relations"),
    ("add a fact about an existing entity", "memory__add_observations"),
    ("forget an entity from memory", "memory__delete_entities"),
    ("search the knowledge graph for a name", "memory__search_nodes"),
    ("read the whole knowledge graph", "memory__read_graph"),
    ("show the git status of the repository", "git__git_status"),
    ("see the changes that are not staged yet", "git__git_diff_unstaged"),
    ("commit the staged changes with a message", "git__git_commit"),
    ("stage files for the next commit", "git__git_add"),
    ("show the commit history log", "git__git_log"),
    ("create a new git branch", "git__git_create_branch"),
    ("switch to another branch", "git__git_checkout"),
    ("echo a message back", "everything__echo"),
    ("add two numbers together", "demo__add"),
    ("the current date and time in UTC", "demo__current_time"),
    ("print the environment variables of the server", "everything__get-env"),
    ("get a tiny test image", "everything__get-tiny-image"),
]


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def install() -> str | None:
    """Install (or check) the extra servers; None when ready, else why not."""
    SEARCH_DIR.mkdir(parents=True, exist_ok=True)
    (SEARCH_DIR.parent / ".gitignore").write_text("*\n")
    pins = json.dumps({**NPM_PACKAGES, "mcp-server-git": GIT_VERSION}, sort_keys=True)
    stamp = SEARCH_DIR / ".bench-installed"
    with contextlib.suppress(OSError):
        if stamp.read_text() == pins:
            return None
    if shutil.which("npm") is None:
        return "npm is not on PATH"
    argv = ["npm", "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--loglevel=error"]
    failed = run_step([*argv, *(f"{name}@{v}" for name, v in NPM_PACKAGES.items())], "npm install")
    if failed:
        return failed
    failed = pip_into(GIT_VENV, f"mcp-server-git=={GIT_VERSION}")
    if failed:
        return failed
    stamp.write_text(pins)
    return None


def servers(work: Path) -> dict[str, Any]:
    node = NPM_PREFIX / "node_modules" / "@modelcontextprotocol"
    repo = work / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    files = work / "files"
    files.mkdir()
    return {
        "demo": {"command": sys.executable, "args": ["-m", "app", "demo-server"], "cwd": str(ROOT)},
        "everything": {"command": "node", "args": [str(node / "server-everything" / "dist" / "index.js")]},
        "time": {"command": str(Path(sys.executable).parent / "mcp-server-time")},
        "filesystem": {"command": "node", "args": [str(node / "server-filesystem" / "dist" / "index.js"), str(files)]},
        "memory": {"command": "node", "args": [str(node / "server-memory" / "dist" / "index.js")],
                   "env": {"MEMORY_FILE_PATH": str(work / "memory.jsonl")}},
        "git": {"command": str(GIT_VENV / "bin" / "mcp-server-git"), "args": ["--repository", str(repo)]},
    }  # fmt: skip


async def list_bytes(base: str) -> tuple[int, list[str]]:
    """The HTTP body of one tools/list on a fresh session, in bytes, and the names it lists."""
    import httpx2

    client = {"name": "bench", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{base}/mcp", json=init, headers=HEADERS)
        headers = {**HEADERS, "Mcp-Session-Id": answer.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        await http.post(f"{base}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        request = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        listed = await http.post(f"{base}/mcp", json=request, headers=headers)
    body = listed.content
    text = body.decode()
    if text.startswith(("event:", "data:")):  # an SSE answer: the JSON is on its data line
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return len(body), [t["name"] for t in json.loads(text)["result"]["tools"]]


async def measure(work: Path, show: bool) -> dict[str, Any]:
    from mcp import Client

    from app.config import save
    from app.gateway import open_access
    from app.launch import build_services

    config = work / "config.json"
    save(config, {"gateway": {"host": "127.0.0.1", "port": 0}, "mcpServers": servers(work)})
    services = build_services(config, guard=open_access)
    gateway = services.gateway
    try:
        await gateway.start()
        await gateway.wait_until_started(60)
        states = {s.name: s.state.value for s in gateway.children()}
        full_bytes, full = await list_bytes(gateway.base_url)
        if show:
            for tool in gateway.catalog.tools:
                print(f"{tool['name']}: {' '.join(str(tool.get('description') or '').split())[:110]}")
        await gateway.write_config(lambda raw: raw["gateway"].update(tool_search=True))
        search_bytes, listed = await list_bytes(gateway.base_url)
        hits, misses = 0, []
        async with Client(gateway.url, mode="legacy") as client:
            started = time.perf_counter()
            for phrase, wanted in TASKS:
                answer = await client.call_tool("switchboard__search_tools", {"query": phrase, "limit": 3})
                top = [t["name"] for t in json.loads(answer.content[0].text)["tools"]]
                if wanted in top:
                    hits += 1
                else:
                    misses.append({"task": phrase, "wanted": wanted, "top3": top})
            search_ms = (time.perf_counter() - started) * 1000 / len(TASKS)
    finally:
        await gateway.stop()
        await asyncio.to_thread(services.close)
    missing = sorted({w for _, w in TASKS} - set(full))
    return {
        "servers": states, "tools": len(full), "full_bytes": full_bytes, "search_bytes": search_bytes,
        "search_listing": listed, "bytes_ratio": search_bytes / full_bytes, "top3_hits": hits, "tasks": len(TASKS),
        "top3_rate": hits / len(TASKS), "misses": misses, "wanted_but_not_listed": missing,
        "search_ms_per_query": round(search_ms, 2),
    }  # fmt: skip


def report(result: dict[str, Any]) -> str:
    ratio, rate = result["bytes_ratio"], result["top3_rate"]
    lines = [
        f"Tool search on {result['tools']} tools from {len(result['servers'])} servers "
        + ", ".join(f"{name} ({state})" for name, state in sorted(result["servers"].items())),
        "",
        "| measure | full mode | search mode | result | goal |",
        "|---|---|---|---|---|",
        f"| tools/list bytes | {result['full_bytes']:,} | {result['search_bytes']:,} | {ratio:.1%} of full | "
        f"≤ {GOAL_BYTES:.0%} {'met' if ratio <= GOAL_BYTES else 'MISSED'} |",
        f"| right tool in the top 3 | | {result['top3_hits']}/{result['tasks']} task phrases | {rate:.0%} | "
        f"≥ {GOAL_TOP3:.0%} {'met' if rate >= GOAL_TOP3 else 'MISSED'} |",
        f"| one search | | {result['search_ms_per_query']} ms (through the gateway) | | |",
    ]
    for miss in result["misses"]:
        lines.append(f"- missed: {miss['task']!r} wanted {miss['wanted']}, got {', '.join(miss['top3']) or 'nothing'}")
    for name in result["wanted_but_not_listed"]:
        lines.append(f"- not in the catalog (a server did not start?): {name}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tool_search", description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every tool of the catalog")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    why = install()
    if why:
        print(f"tool search bench not run: {why}")
        return 0
    progress(f"servers for the tool search bench ready ({time.perf_counter() - started:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="switchboard-search-") as home:
        os.environ["SWITCHBOARD_HOME"] = str(Path(home) / "home")  # never the user's config, keys or history
        os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        result = asyncio.run(asyncio.wait_for(measure(Path(home), args.list), RUN_TIMEOUT))
    table = report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tool_search.json").write_text(json.dumps({**result, "table": table}, indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
