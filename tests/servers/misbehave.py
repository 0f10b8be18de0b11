"""A stdio MCP server that misbehaves on purpose, written on raw JSON-RPC so every byte is controlled.

python misbehave.py [--junk-at-start N] [--slow-start SECONDS]

Tools: `ok` (answers), `bad_utf8` (its result holds a byte that is not UTF-8), `huge` (prints a line of
`mib` MiB with no newline, then waits), `junk` (prints N junk lines, then answers), `hang` (never answers),
`calls` (how many tools/call requests it has seen), `cancelled` (how many cancellations it was sent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

TOOLS = [
    {"name": name, "description": f"misbehaves: {name}", "inputSchema": {"type": "object", "properties": {}}}
    for name in ("ok", "bad_utf8", "huge", "junk", "hang", "calls", "cancelled")
]
out = sys.stdout.buffer
calls = {"n": 0, "cancelled": 0}


def send(message: dict) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def result(request_id: object, value: dict) -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": value})


def text(s: str) -> dict:
    return {"content": [{"type": "text", "text": s}], "isError": False}


def call(request_id: object, name: str, args: dict) -> None:
    calls["n"] += 1
    if name == "ok":
        result(request_id, text("fine"))
    elif name == "bad_utf8":
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": text("caf@")}).encode()
        out.write(body.replace(b"caf@", b"caf\xe9") + b"\n")  # Latin-1 é: not UTF-8
        out.flush()
    elif name == "huge":
        chunk = b"x" * (1024 * 1024)
        out.write(b'{"jsonrpc": "2.0", "id": ' + json.dumps(request_id).encode() + b', "result": {"junk": "')
        for _ in range(int(args.get("mib", 80))):
            out.write(chunk)
        out.flush()
        time.sleep(3600)  # and never finishes the line
    elif name == "junk":
        for i in range(int(args.get("lines", 50))):
            out.write(f"this is not JSON-RPC, line {i}\n".encode())
        out.flush()
        result(request_id, text("after the junk"))
    elif name == "hang":
        pass  # never answers
    elif name == "calls":
        result(request_id, text(str(calls["n"])))
    elif name == "cancelled":
        result(request_id, text(str(calls["cancelled"])))
    else:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": f"Unknown tool: {name}"}})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--junk-at-start", type=int, default=0)
    parser.add_argument("--slow-start", type=float, default=0.0)
    opts = parser.parse_args()
    if opts.slow_start:
        time.sleep(opts.slow_start)  # a server that takes a while to come up (the readiness tests)
    for i in range(opts.junk_at_start):
        out.write(f"junk before the handshake {i}\n".encode())
    out.flush()
    for line in sys.stdin.buffer:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        method, request_id = message.get("method"), message.get("id")
        if method == "notifications/cancelled":
            calls["cancelled"] += 1
        if request_id is None:
            continue  # notifications
        if method == "initialize":
            result(request_id, {
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "misbehave", "version": "1"},
            })
        elif method == "tools/list":
            result(request_id, {"tools": TOOLS})
        elif method == "tools/call":
            call(request_id, message["params"]["name"], message["params"].get("arguments") or {})
        elif method == "ping":
            result(request_id, {})
        else:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "Method not found"}})


if __name__ == "__main__":
    main()
