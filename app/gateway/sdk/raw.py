"""Raw requests to a connected child: the relay's hot path, and the 2026 era's input rounds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp import Client
from mcp.client._input_required import run_input_required_driver
from mcp.client.session import ClientRequestContext
from pydantic import TypeAdapter

_INPUT_RESPONSES: TypeAdapter[types.InputResponses] = TypeAdapter(types.InputResponses)


async def send_raw(
    client: Client,
    method: str,
    params: Mapping[str, Any] | None,
    on_progress: Any = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    session = client.session
    data: dict[str, Any] = {"method": method, "params": dict(params or {})}
    opts: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    # The SDK's per-era stamp (protocol headers, modern _meta envelope): the one private seam we use,
    # so the relay can skip the typed layer's re-validation of every result.
    session._stamp(data, opts)  # type: ignore[arg-type]
    if on_progress is not None:
        opts["on_progress"] = on_progress
    return await session._dispatcher.send_raw_request(method, data["params"], opts)  # type: ignore[arg-type]


async def resolve_input(
    client: Client, method: str, params: dict[str, Any], first: dict[str, Any], on_progress: Any
) -> dict[str, Any]:
    """A 2026-era child asks for input (sampling, elicitation, roots) in its result instead of a request:
    ask the client whose call this is, through the same relay as the handshake era, and retry."""
    session = client.session

    async def dispatch(key: str, request: types.InputRequest) -> Any:
        ctx = ClientRequestContext(session=session, request_id=key, meta=None)
        return await session.dispatch_input_request(ctx, request)

    async def retry(responses: types.InputResponses | None, state: str | None) -> Any:
        again = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        if responses:
            again["inputResponses"] = _INPUT_RESPONSES.dump_python(
                responses, by_alias=True, mode="json", exclude_none=True
            )
        if state is not None:
            again["requestState"] = state
        raw = await send_raw(client, method, again, on_progress)
        return types.InputRequiredResult.model_validate(raw) if raw.get("resultType") == "input_required" else raw

    final: dict[str, Any] = await run_input_required_driver(
        types.InputRequiredResult.model_validate(first), dispatch=dispatch, retry=retry
    )
    return final
