"""Claude Desktop: stdio servers only, so Switchboard goes in as the bridge command."""

from __future__ import annotations

from pathlib import Path

from .model import Where
from .writer import ClientWriter

# The Windows app ships as an MSIX package (Store and claude.ai installer alike); a packaged app reads
# its config from the package's virtualised Roaming folder, not from %APPDATA%.
MSIX_PACKAGE = "Claude_pzs8sxrjxfjjc"
FILE = "claude_desktop_config.json"


class ClaudeDesktop(ClientWriter):
    id = "claude-desktop"
    title = "Claude Desktop"
    http = False
    restart_note = "Restart Claude Desktop to see the change."

    def msix_folder(self, where: Where) -> Path:
        return where.local_appdata() / "Packages" / MSIX_PACKAGE

    def user_path(self, where: Where) -> Path:
        if where.system == "darwin":
            return where.home / "Library" / "Application Support" / "Claude" / FILE
        if where.system == "win32":
            package = self.msix_folder(where)
            if package.is_dir():
                return package / "LocalCache" / "Roaming" / "Claude" / FILE
            return where.appdata() / "Claude" / FILE
        # No official Linux build; the community packages use Electron's usual ~/.config/Claude.
        return where.xdg_config() / "Claude" / FILE

    def installed(self, where: Where) -> tuple[bool, str]:
        if where.system == "darwin":
            return where.found(Path("/Applications/Claude.app"), self.user_path(where).parent)
        if where.system == "win32":
            return where.found(
                self.msix_folder(where), where.local_appdata() / "AnthropicClaude", where.appdata() / "Claude"
            )
        return where.found(self.user_path(where).parent, commands=("claude-desktop",))
