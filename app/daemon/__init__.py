"""The per-user daemon: one instance per user (lock + runtime file), shared by `serve`, `start` and the tray."""
