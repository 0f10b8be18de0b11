"""A systemd user unit for the headless gateway: writing it, and reading its ExecStart back into an argv.

Quoting follows systemd.service(5) "Command lines": words split on whitespace, double quotes group,
C escapes inside (`\\\\`, `\\"`); `%` starts a specifier (`%%` is a literal one) and `$` an environment
variable (`$$` is a literal one), anywhere, quoted or not.
"""

from __future__ import annotations

import posixpath

NEEDS_QUOTES = frozenset(" \t\"'\\;")
_C_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "s": " ", ";": ";"}


class UnitFileError(ValueError):
    """The unit does not parse; the message says where."""


def quote_word(word: str) -> str:
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not NEEDS_QUOTES.intersection(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_executable(path: str) -> None:
    # systemd refuses (as a fatal unit error) an executable path with quotes, backslashes or control
    # characters, and one that is not absolute and normalized.
    if not path.startswith("/") or posixpath.normpath(path) != path:
        raise ValueError(f"systemd needs an absolute, normalized program path, got {path!r}")
    if any(ch in path for ch in "\"'\\") or any(ord(ch) < 32 for ch in path):
        raise ValueError(
            f"systemd cannot run a program whose path contains a quote or a backslash: {path}; "
            "install Switchboard in a folder without them"
        )


def render(argv: list[str], *, description: str) -> str:
    check_executable(argv[0])
    return (
        "[Unit]\n"
        f"Description={description}\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={' '.join(quote_word(word) for word in argv)}\n"
        # A crash restarts it; a clean exit (e.g. "another Switchboard is already running") does not.
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def parse(text: str, source: str) -> dict[str, dict[str, str]]:
    """Sections -> keys -> raw values (the last assignment wins; continuation lines are joined)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
        else:
            raise UnitFileError(f"{source}, line {number}: expected [Section] or Key=Value, got {raw.strip()!r}")
    return sections


def split_command(value: str) -> list[str]:
    """The argv an ExecStart value runs (prefixes like `-` or `@` are not used by render() and not handled)."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            i += 1
            word.append(_C_ESCAPES.get(value[i], "\\" + value[i]))
            in_word = True
        elif quote:
            if ch == quote:
                quote = ""
            else:
                word.append(ch)
        elif ch in " \t":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        elif ch in "\"'":
            quote, in_word = ch, True
        else:
            word.append(ch)
            in_word = True
        i += 1
    if quote:
        raise UnitFileError(f"ExecStart has an unclosed quote: {value}")
    if in_word:
        words.append("".join(word))
    return [_unspecify(word) for word in words]


def _unspecify(word: str) -> str:
    """Undo `%%` and `$$` (our own output uses no other specifiers or variables)."""
    return word.replace("%%", "%").replace("$$", "$")
