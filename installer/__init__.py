"""Build scripts for the frozen app and the per-OS installers (not part of the app)."""
