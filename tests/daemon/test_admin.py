"""The admin shutdown route on a real gateway behind the real guard (API key, Host checks) on 127.0.0.1:0."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from app.daemon.admin import PREFIX, admin_routes, control_url, shutdown_url
from app.launch import build_services
from app.secrets import client_keys
from tests.conftest import wait_for, write_config

pytestmark = pytest.mark.anyio


async def test_only_the_main_key_may_ask_the_host_to_shut_down(tmp_path: Path) -> None:
    services = build_services(write_config(tmp_path / "config.json", {}))
    asked: list[str] = []
    services.gateway.routes[PREFIX] = admin_routes(lambda: asked.append("stop"))
    await services.gateway.start()
    try:
        base = services.gateway.base_url
        assert base is not None
        url = shutdown_url(control_url(base))
        assert url == f"{base}/api/v1/admin/shutdown"
        main = services.main_key.value()
        client = client_keys.add(services.config, "cursor")
        await wait_for(lambda: services.verifier.verify(client) is not None)  # the watcher applied the new key

        async with httpx2.AsyncClient(trust_env=False) as http:
            nobody = await http.post(url)
            assert nobody.status_code == 401
            limited = await http.post(url, headers={"Authorization": f"Bearer {client}"})
            assert limited.status_code == 403
            assert limited.json()["message"] == "Only the main API key may stop Switchboard."
            wrong_method = await http.get(url, headers={"Authorization": f"Bearer {main}"})
            assert wrong_method.status_code == 405
            elsewhere = await http.post(f"{base}{PREFIX}/reboot", headers={"Authorization": f"Bearer {main}"})
            assert elsewhere.status_code == 404
            foreign = await http.post(url, headers={"Authorization": f"Bearer {main}", "Host": "evil.example"})
            assert foreign.status_code == 403  # DNS rebinding: a web page cannot stop it either
            assert asked == []

            accepted = await http.post(url, headers={"X-API-Key": main})
            assert accepted.status_code == 202 and accepted.json()["stopping"] is True
            assert asked == ["stop"]  # asked once, after answering; stopping is the host's job
    finally:
        await services.gateway.stop()
        services.close()
