"""Settings' "Launch at login" checkbox shows what the OS says, read afresh, in a throwaway HOME (Linux, for real:
the XDG autostart file). systemctl runs with no XDG_RUNTIME_DIR, so it never reaches a real user manager."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from app.launch import build_services
from app.platform.autostart.linux import LinuxAutostart
from app.ui.desktop import DesktopApp
from tests.conftest import wait_for, write_config
from tests.ui.conftest import save_png


def autostart_in(tmp_path: Path) -> LinuxAutostart:
    home = tmp_path / "user"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return LinuxAutostart(home, env)


@contextlib.asynccontextmanager
async def desktop(tmp_path: Path, autostart: LinuxAutostart) -> AsyncIterator[DesktopApp]:
    services = build_services(write_config(tmp_path / "config.json", {}))
    app = DesktopApp(services, tray_available=True, autostart=autostart)
    task = asyncio.ensure_future(app.run())
    try:
        await wait_for(lambda: app.snapshot.state == "running" or task.done(), what="the gateway to start")
        yield app
    finally:
        app.request_quit()
        assert await asyncio.wait_for(task, 15) == 0
        services.close()


def settings(app: DesktopApp) -> Any:
    app.show_panel()
    app.panel.tabs.setCurrentWidget(app.panel.settings_tab)
    return app.panel.settings_tab


def settled(app: DesktopApp) -> bool:
    return app.login.state is not None and not app.login.busy and app.tasks.pending == 0


def test_the_checkbox_shows_the_os_state_and_writes_it(tmp_path: Path, run: Any) -> None:
    auto = autostart_in(tmp_path)
    entry = Path(auto.desktop_path)

    async def scenario() -> None:
        async with desktop(tmp_path, auto) as app:
            tab = settings(app)
            await wait_for(lambda: settled(app), what="the state read from the OS")
            box = tab.launch_at_login
            assert box.isEnabled() and not box.isChecked()
            assert tab.startup_detail.text().startswith("Switchboard does not start at login.")

            box.click()  # as the user does
            await wait_for(lambda: settled(app) and entry.exists(), what="the entry written")
            assert box.isChecked() and app.login.state is not None and app.login.state.enabled
            assert "At login your desktop session starts the Switchboard tray" in tab.startup_detail.text()
            await save_png(app.panel, "settings-launch-at-login.png")

            # Turned off elsewhere (`switchboard autostart off`): shown when the tab is shown again.
            autostart_in(tmp_path).disable()
            app.panel.tabs.setCurrentIndex(0)
            app.panel.tabs.setCurrentWidget(app.panel.settings_tab)
            await wait_for(lambda: settled(app) and not box.isChecked(), what="the new state read back")
            assert not entry.exists()

    run(scenario())


def test_a_file_that_does_not_parse_is_kept_and_the_box_shows_the_truth(tmp_path: Path, run: Any) -> None:
    auto = autostart_in(tmp_path)
    entry = Path(auto.desktop_path)
    entry.parent.mkdir(parents=True)
    entry.write_text("not a desktop entry\n")
    errors: list[str] = []

    async def scenario() -> None:
        async with desktop(tmp_path, auto) as app:
            app.notice.connect(lambda level, sentence, _topic: level == "error" and errors.append(sentence))
            tab = settings(app)
            await wait_for(lambda: settled(app), what="the state read from the OS")
            assert not tab.launch_at_login.isChecked() and "does not parse" in tab.startup_detail.text()
            tab.launch_at_login.click()
            await wait_for(lambda: settled(app) and errors, what="the refusal")
            assert not tab.launch_at_login.isChecked()  # what the OS says, not what was clicked
            assert errors[0].startswith(f"{entry} does not parse")
            await save_png(app.panel, "settings-launch-at-login-broken.png")

    run(scenario())
    assert entry.read_text() == "not a desktop entry\n"
