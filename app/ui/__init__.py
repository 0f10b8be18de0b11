"""The desktop UI: tray icon and control panel. The only package that imports PySide6 and qasync."""
