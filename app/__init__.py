"""Switchboard: a local MCP gateway that lives in the tray."""

__version__ = "0.1.0"
