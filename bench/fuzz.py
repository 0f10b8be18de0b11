"""Throw bad input at a real `switchboard serve` and count what came back.

    python -m bench.fuzz [--requests 5000] [--kills 100] [--seed 1]

Every route gets malformed requests (bad JSON, bad ids, wrong types, oversized bodies, missing or wrong
keys, forged Host/Origin, unknown sessions); misbehaving children of each kind are called; a child is
killed with a call in flight, again and again. Printed: requests tried, answered properly (a 2xx-4xx with
a body that says what is wrong), 5xx, hung (no answer in 10 s), tracebacks in the log, RSS before and after.
127.0.0.1 only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import psutil

from bench.gateway import GatewayProcess, show_key

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "tests" / "servers"
KILL_SERVERS = 10  # kills go round these: one child killed 100 times in a row would spend most of it in backoff
ROUTES = ["/mcp", "/sse", "/messages/", "/servers/toy/mcp", "/servers/nope/mcp", "/health", "/api/v1/calls",
          "/api/v1/events", "/metrics", "/nope", "/mcp/extra", "/api/v1/admin/shutdown-typo"]
METHODS = ["initialize", "tools/list", "tools/call", "resources/read", "prompts/get", "ping", "nope/nope",
           "notifications/initialized", "completion/complete", "logging/setLevel", "resources/subscribe"]


def bodies(rng: random.Random) -> bytes:
    kind = rng.randrange(12)
    method = rng.choice(METHODS)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind == 1:
        return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method})[: rng.randrange(1, 40)].encode()
    if kind == 2:
        bad_id = rng.choice([1.5, True, None, [1], {"a": 1}, 1e308, -0.0, "x" * 1000])
        return json.dumps({"jsonrpc": "2.0", "id": bad_id, "method": method}).encode()
    if kind == 3:
        return json.dumps({"jsonrpc": "1.0", "id": 2, "method": method}).encode()
    if kind == 4:
        params = rng.choice([[], "x", 5, None])
        return json.dumps({"jsonrpc": "2.0", "id": 3, "method": method, "params": params}).encode()
    if kind == 5:
        return json.dumps([{"jsonrpc": "2.0", "id": i, "method": method} for i in range(3)]).encode()
    if kind == 6:
        return json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                           "params": {"name": rng.choice(["toy__echo", "nope", "", "x" * 300]),
                                      "arguments": rng.choice([{}, [], "x", {"text": "é" * 50}])}}).encode()
    if kind == 7:
        return b"{" * rng.randrange(1, 5000)
    if kind == 8:
        return b'{"jsonrpc":"2.0","id":5,"method":"ping","params":{"_meta":' + b"[" * 3000 + b"]" * 3000 + b"}}"
    if kind == 9:
        return b"x" * rng.choice([0, 1, 5_000_000])
    if kind == 10:
        return json.dumps({"jsonrpc": "2.0", "result": {}, "id": 99}).encode()
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": {"_meta": {"progressToken": [1]}}}).encode()


def headers(rng: random.Random, key: str) -> dict[str, str]:
    h: dict[str, str] = {}
    choice = rng.randrange(8)
    if choice < 4:
        h["Authorization"] = f"Bearer {key}"
    elif choice == 4:
        h["Authorization"] = "Bearer wrong"
    elif choice == 5:
        h["X-API-Key"] = key + "x"
    if rng.random() < 0.7:
        h["Content-Type"] = rng.choice(["application/json", "text/plain", "application/json; charset=latin1"])
    if rng.random() < 0.7:
        h["Accept"] = rng.choice(["application/json, text/event-stream", "text/event-stream", "*/*", "image/png"])
    if rng.random() < 0.3:
        h["Mcp-Session-Id"] = rng.choice(["0" * 32, "nope", key, "%e9"])
    if rng.random() < 0.1:
        h["Origin"] = rng.choice(["http://evil.example", "http://[::1].evil", "null", "http://localhost:1"])
    if rng.random() < 0.05:
        h["Host"] = rng.choice(["evil.example", "[::1]x", "localhost:80:80"])
    if rng.random() < 0.2:
        h["MCP-Protocol-Version"] = rng.choice(["2025-11-25", "2026-07-28", "1999-01-01", ""])
    return h


async def fuzz(base: str, key: str, n: int, rng: random.Random) -> dict[str, int]:
    counts = {"tried": 0, "answered": 0, "5xx": 0, "hung": 0, "refused connection": 0}
    limits = httpx2.Limits(max_connections=8)
    async with httpx2.AsyncClient(timeout=10, limits=limits) as http:
        semaphore = asyncio.Semaphore(8)

        async def one() -> None:
            async with semaphore:
                route = rng.choice(ROUTES)
                method = rng.choice(["POST", "POST", "POST", "GET", "DELETE", "PUT", "OPTIONS"])
                params = {"session_id": rng.choice(["0" * 32, key, "x"])} if route == "/messages/" else None
                counts["tried"] += 1
                try:
                    # Headers within the bound count as an answer; an event stream's body never ends by design.
                    async with asyncio.timeout(15), http.stream(
                        method, base + route, content=bodies(rng), headers=headers(rng, key), params=params
                    ) as r:
                        status = r.status_code
                        if not r.headers.get("content-type", "").startswith("text/event-stream"):
                            await r.aread()
                except (TimeoutError, httpx2.TimeoutException):
                    counts["hung"] += 1
                    return
                except httpx2.TransportError:
                    counts["refused connection"] += 1
                    return
                counts["5xx" if status >= 500 else "answered"] += 1

        await asyncio.gather(*(one() for _ in range(n)))
    return counts


async def misbehave(url: str, key: str) -> dict[str, str]:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    seen: dict[str, str] = {}
    async with Client(f"{url}?api_key={key}", mode="legacy") as client:
        for tool, args in [("odd__bad_utf8", {}), ("odd__junk", {"lines": 500}), ("odd__hang", {}),
                           ("odd__huge", {"mib": 80}), ("odd__ok", {})]:
            started = time.monotonic()
            try:
                async with asyncio.timeout(60):
                    result = await client.call_tool(tool, args)
                seen[tool] = f"answered in {time.monotonic() - started:.1f} s: {result.content[0].text[:40]!r}"
            except MCPError as exc:
                seen[tool] = f"error in {time.monotonic() - started:.1f} s: {exc.error.message[:120]}"
            except TimeoutError:
                seen[tool] = "HUNG"
            if tool == "odd__huge":  # reset: wait until it is back
                for _ in range(200):
                    try:
                        await client.call_tool("odd__ok", {})
                        break
                    except MCPError:
                        await asyncio.sleep(0.2)
    return seen


async def kills(url: str, key: str, n: int) -> dict[str, int]:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    counts = {"cycles": 0, "answered with an error naming the server": 0, "other answer": 0, "hung": 0}
    async with Client(f"{url}?api_key={key}", mode="legacy") as client:
        for cycle in range(n):
            server = f"toy{cycle % KILL_SERVERS}"
            for _ in range(600):  # back from its last kill (its backoff grows: 0.5 s, 1 s, ... 30 s)
                try:
                    pid = int((await client.call_tool(f"{server}__pid", {})).content[0].text)
                    break
                except MCPError:
                    await asyncio.sleep(0.1)
            counts["cycles"] += 1
            call = asyncio.ensure_future(client.call_tool(f"{server}__slow", {"seconds": 30}))
            await asyncio.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            try:
                async with asyncio.timeout(20):
                    await call
                counts["other answer"] += 1
            except MCPError as exc:
                named = f"'{server}'" in exc.error.message
                counts["answered with an error naming the server" if named else "other answer"] += 1
            except TimeoutError:
                counts["hung"] += 1
    return counts


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        servers = {
            **{f"toy{i}": {"command": sys.executable, "args": [str(SERVERS / "toy.py")]} for i in range(KILL_SERVERS)},
            "toy": {"command": sys.executable, "args": [str(SERVERS / "toy.py")]},
            "odd": {"command": sys.executable, "args": [str(SERVERS / "misbehave.py"), "--junk-at-start", "50"],
                    "timeout_s": 3},
        }
        config = home / "fuzz-config.json"
        gateway_settings = {"host": "127.0.0.1", "port": 0, "max_message_bytes": 16 * 1024 * 1024}
        config.write_text(json.dumps({"gateway": gateway_settings, "mcpServers": servers}))
        gateway = GatewayProcess(home, config)
        await gateway.start()
        try:
            key = show_key(config, home) or ""
            process = psutil.Process(gateway.process.pid)
            await asyncio.sleep(3)  # the children start
            rss_before = process.memory_info().rss
            started = time.monotonic()
            fuzzed = await fuzz(gateway.base_url, key, args.requests, rng)
            fuzz_s = time.monotonic() - started
            odd = await misbehave(gateway.url, key)
            killed = await kills(gateway.url, key, args.kills)
            rss_after = process.memory_info().rss
        finally:
            await gateway.stop()
        log = (home / "logs" / "switchboard.log").read_text(errors="replace")
    print(f"fuzz: {fuzzed} in {fuzz_s:.0f} s")
    for tool, what in odd.items():
        print(f"misbehaving child, {tool}: {what}")
    print(f"kill -9 with a call in flight: {killed}")
    print(f"tracebacks in the log: {log.count('Traceback')}; log lines: {len(log.splitlines())}")
    print(f"gateway RSS: {rss_before / 2**20:.1f} MB before, {rss_after / 2**20:.1f} MB after")
    bad = fuzzed["5xx"] + fuzzed["hung"] + killed["hung"] + sum("HUNG" in v for v in odd.values())
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(main(parser.parse_args())))
