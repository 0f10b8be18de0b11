"""XDG Desktop Entry files for autostart: writing one, and reading its Exec back into an argv.

Quoting follows the Desktop Entry Specification 1.5, "The Exec key": an argument with a reserved
character is put in double quotes, inside which `"`, backtick, `$` and `\\` get a backslash; a literal
`%` is `%%` (field codes). Then the whole value gets the string escapes of every value (`\\` -> `\\\\`),
which is why a literal backslash in a quoted argument ends up as four backslashes in the file.
"""

from __future__ import annotations

import configparser

GROUP = "Desktop Entry"
RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
ESCAPED_IN_QUOTES = frozenset('"`$\\')
_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


class DesktopEntryError(ValueError):
    """The file does not parse; the message says where."""


def quote_arg(arg: str) -> str:
    arg = arg.replace("%", "%%")
    if arg and not RESERVED.intersection(arg):
        return arg
    return '"' + "".join("\\" + ch if ch in ESCAPED_IN_QUOTES else ch for ch in arg) + '"'


def escape_string(value: str) -> str:
    """The escapes of a `string` value (applied after Exec quoting). Line breaks are refused earlier."""
    return value.replace("\\", "\\\\").replace("\t", "\\t")


def exec_value(argv: list[str]) -> str:
    return escape_string(" ".join(quote_arg(arg) for arg in argv))


def render(argv: list[str], *, name: str, comment: str, icon: str) -> str:
    if "=" in argv[0]:
        # The spec forbids "=" in the executable's name or path.
        raise ValueError(f"an XDG autostart entry cannot run a program whose path contains '=': {argv[0]}")
    lines = [
        f"[{GROUP}]",
        "Type=Application",
        f"Name={escape_string(name)}",
        f"Comment={escape_string(comment)}",
        f"Exec={exec_value(argv)}",
        # TryExec: once this program is gone (uninstalled, venv deleted) the session skips the entry
        # quietly instead of failing at every login.
        f"TryExec={escape_string(argv[0])}",
        f"Icon={escape_string(icon)}",
        "Terminal=false",
        "StartupNotify=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    return "\n".join(lines) + "\n"


def parse(text: str, source: str) -> dict[str, str]:
    """The [Desktop Entry] group's keys, values still escaped as in the file (keys keep their case)."""
    parser = configparser.RawConfigParser(
        delimiters=("=",), comment_prefixes=("#",), inline_comment_prefixes=None, strict=False, interpolation=None
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise DesktopEntryError(" ".join(str(exc).split())) from exc
    if not parser.has_section(GROUP):
        raise DesktopEntryError(f"{source}: no [{GROUP}] group")
    return dict(parser.items(GROUP))


def unescape_string(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(_STRING_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(ch)
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """The argv an Exec value runs (string escapes, then quoting, then `%%`); other field codes are kept as is."""
    text = unescape_string(value)
    args: list[str] = []
    current: list[str] | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t":
            if current is not None:
                args.append("".join(current))
                current = None
        elif ch == '"':
            current = current if current is not None else []
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPED_IN_QUOTES:
                    i += 1
                current.append(text[i])
                i += 1
            if i >= len(text):
                raise DesktopEntryError(f"Exec has an unclosed quote: {value}")
        else:
            current = current if current is not None else []
            current.append(ch)
        i += 1
    if current is not None:
        args.append("".join(current))
    return [arg.replace("%%", "%") for arg in args]


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"
