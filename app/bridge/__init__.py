"""`switchboard stdio`: one stdio client (Claude Desktop) bridged to the running gateway over Streamable HTTP."""
