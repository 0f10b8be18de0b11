"""`${VAR}` and `${VAR:-default}` in config strings, resolved from the environment at load time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class InterpolationError(ValueError):
    def __init__(self, path: str, variable: str) -> None:
        super().__init__(
            f"{path}: environment variable {variable} is not set (use ${{{variable}:-default}} for a default)"
        )
        self.path = path
        self.variable = variable


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """A copy of `value` with every reference in every string replaced; the input is left as it was."""
    if isinstance(value, str):
        return _substitute(value, env, path)
    if isinstance(value, dict):
        return {key: interpolate(item, env, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def _substitute(text: str, env: Mapping[str, str], path: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise InterpolationError(path, name)

    return _REFERENCE.sub(replace, text)
