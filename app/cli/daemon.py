"""The background-service verbs: start, stop, restart, status, logs, health. Parsing and printing only;
the work is in app/daemon. Results on stdout, sentences about them on stderr; exit codes as LSB init
scripts use them (status: 0 running, 3 not running)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app import paths
from app.cli.output import say

NOT_RUNNING = 3  # LSB: "program is not running"


def add_parsers(sub: Any, config_arg: Any) -> None:
    start = sub.add_parser("start", help="start the gateway in the background; returns once it answers")
    config_arg(start)
    start.add_argument("--host", help="address to bind (default: gateway.host in the config)")
    start.add_argument("--port", type=int, help="port to bind (default: gateway.port in the config; 0 picks one)")
    start.add_argument("--foreground", action="store_true", help="run in this terminal instead (as `serve`)")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for it to answer (default 60)")
    start.set_defaults(func=cmd_start)

    stop = sub.add_parser("stop", help="stop the running Switchboard (servers stopped, calls answered)")
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds to wait before forcing it (default 30)")
    stop.set_defaults(func=cmd_stop)

    restart = sub.add_parser("restart", help="stop the background gateway and start it again on the same port")
    config_arg(restart)
    restart.add_argument("--host", help="address to bind (default: as before)")
    restart.add_argument("--port", type=int, help="port to bind (default: the port it had)")
    restart.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each step (default 60)")
    restart.set_defaults(func=cmd_restart)

    status = sub.add_parser("status", help="is it running: pid, URL, uptime, servers; exit 0 running, 3 not")
    config_arg(status)
    status.add_argument("--json", action="store_true", help="print it as JSON, for scripts")
    status.set_defaults(func=cmd_status)

    logs = sub.add_parser("logs", help="print the gateway's log, or one server's stderr log")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (across log rotation)")
    logs.add_argument("-n", "--lines", type=int, default=50, metavar="N", help="how many last lines (default 50)")
    logs.add_argument("--server", metavar="NAME", help="that server's stderr log instead of the gateway's")
    logs.set_defaults(func=cmd_logs)

    health = sub.add_parser("health", help="ask the running gateway's /health; exit 0 only when all servers run")
    health.add_argument("--json", action="store_true", help="print the /health answer as it came")
    health.set_defaults(func=cmd_health)



def _state_dir() -> Path:
    return paths.state_dir()


# -- start / stop / restart ---------------------------------------------------------------------


def cmd_start(args: argparse.Namespace) -> int:
    config = getattr(args, "config", None)
    if args.foreground:
        from app.cli.serve import serve

        return serve(config, host=args.host, port=args.port)
    return _start(config, host=args.host, port=args.port, timeout=args.timeout)


def _start(config: Path | None, *, host: str | None, port: int | None, timeout: float) -> int:
    from app.daemon.hosting import already_running, what_runs
    from app.daemon.launcher import start_background

    started = start_background(
        paths.self_command(), state_dir=_state_dir(), log_dir=paths.log_dir(),
        config=config, host=host, port=port, timeout=timeout,
    )
    if started.failure:
        for line in started.failure:
            say(line)
        return started.exit_code
    assert started.info is not None
    if not started.ours:
        say(already_running(started.info))
        return 0
    print(f"Switchboard is running in the background: {what_runs(started.info)}.", flush=True)
    print(f"  config: {started.info.config}", flush=True)
    print(f"  log:    {paths.log_dir() / 'switchboard.log'}", flush=True)
    print("`switchboard status` shows its servers; `switchboard stop` stops it.", flush=True)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from app.daemon.instance import running_instance

    info = running_instance(_state_dir())
    if info is None:
        say("Switchboard is not running.")
        return 0
    return _stop(info, args.timeout)


def _stop(info: Any, timeout: float) -> int:
    from app.daemon.control import main_key_for, stop_instance

    stopped = stop_instance(info, key=main_key_for(info), timeout=timeout, term_timeout=min(timeout, 10.0), say=say)
    say(stopped.sentence)
    if stopped.left:
        say(f"switchboard: these processes could not be stopped: {', '.join(map(str, stopped.left))}.")
        return 1
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    from app.daemon.instance import running_instance

    info = running_instance(_state_dir())
    config = getattr(args, "config", None)
    port = args.port
    if info is not None:
        if info.mode == "tray":
            say(f"switchboard: Switchboard runs as the tray app here (pid {info.pid}); restart it from its menu "
                 "(Settings: Save and restart gateway), or quit it and use `switchboard start`.")
            return 1
        config = config or Path(info.config)
        port = port if port is not None else info.port
        code = _stop(info, args.timeout)
        if code != 0:
            return code
    return _start(config, host=args.host, port=port, timeout=args.timeout)


# -- status / health ----------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from app.daemon.hosting import what_runs
    from app.daemon.instance import RuntimeInfo
    from app.daemon.status import gather, server_text, uptime_text
    from app.logs import LOG_NAME

    config = getattr(args, "config", None) or paths.default_config_path()
    report = gather(_state_dir(), log_path=paths.log_dir() / LOG_NAME, config=config)
    code = 0 if report["running"] else NOT_RUNNING
    if args.json:
        print(json.dumps(report, indent=2))
        return code
    if not report["running"]:
        print("Switchboard is not running.")
    else:
        fields = {f: report[f] for f in RuntimeInfo.__dataclass_fields__}
        print(f"Switchboard is running: {what_runs(RuntimeInfo(**fields))}.")
        print(f"  uptime:  {uptime_text(report['uptime_s'])}")
        print(f"  version: {report['version']}")
        health = report.get("health")
        if health is None:
            print(f"  health:  no answer ({report.get('health_error')})")
        else:
            print(f"  health:  {health.get('status')}")
            servers = report.get("servers") or []
            for i, server in enumerate(servers):
                label = "servers:" if i == 0 else ""
                print(f"  {label:<8} {server_text(server['name'], server)}")
            if not servers:
                print("  servers: none configured")
    print(f"  config:  {report['config']}")
    print(f"  log:     {report['log']}")
    print(f"  API key: {report['key']}")
    if not report["running"]:
        print("`switchboard start` starts it in the background; `switchboard serve` in this terminal.")
    return code


def cmd_health(args: argparse.Namespace) -> int:
    from app.daemon import local_http
    from app.daemon.instance import running_instance
    from app.daemon.status import health_of, server_text

    info = running_instance(_state_dir())
    if info is None:
        say("Switchboard is not running.")
        return NOT_RUNNING
    try:
        answer = health_of(info)
    except local_http.NoAnswer as exc:
        say(f"switchboard: Switchboard (pid {info.pid}) does not answer /health: {exc}.")
        return 1
    body = answer.body
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print(f"{body.get('status', 'unknown')} (HTTP {answer.status}, {info.url})")
        for name, child in sorted((body.get("children") or {}).items()):
            print(f"  {server_text(name, child)}")
        if body.get("config"):
            print(f"  config: {body['config']}")
    return 0 if body.get("status") == "ok" else 1


# -- logs ---------------------------------------------------------------------------------------


def cmd_logs(args: argparse.Namespace) -> int:
    from app.daemon.follow import LogFollower, last_lines
    from app.logs import LOG_NAME

    log_dir = paths.log_dir()
    if args.server:
        from app.gateway.children.stderr import log_file_name  # the gateway's naming rule, not a copy of it

        path = log_dir / log_file_name(args.server)
    else:
        path = log_dir / LOG_NAME
    if args.lines < 0:
        say("switchboard: -n needs a number of lines, 0 or more.")
        return 2
    if not path.exists() and not args.follow:
        say(_no_log(path, args.server, log_dir))
        return 1
    follower = LogFollower(path) if args.follow else None  # first, so no line falls between tail and follow
    for line in last_lines(path, args.lines, upto=follower.position if follower else None):
        print(line)
    if follower is None:
        return 0
    sys.stdout.flush()
    if not path.exists():
        say(f"Waiting for {path} to appear...")
    return _follow(follower)


def _follow(follower: Any) -> int:
    import time

    from app.daemon.follow import POLL_S

    try:
        while True:
            lines = follower.poll()
            for line in lines:
                print(line)
            if lines:
                sys.stdout.flush()
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # `switchboard logs -f | head`
        return 0


def _no_log(path: Path, server: str | None, log_dir: Path) -> str:
    if server is None:
        return f"switchboard: there is no log yet at {path}; Switchboard writes it once it runs."
    known = sorted(p.name.removeprefix("child-").removesuffix(".log") for p in log_dir.glob("child-*.log"))
    have = f" Servers with a log: {', '.join(known)}." if known else ""
    return f"switchboard: there is no log for the server {server!r} at {path}.{have}"
