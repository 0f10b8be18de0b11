# PyInstaller runtime hook (build.spec): `Switchboard --probe-qt` is the frozen app's Qt platform probe
# (app/ui/platform_probe.py), answered here before the CLI is loaded, so the flag never reaches argparse
# and costs nothing else. Custom runtime hooks run before PyInstaller's own PySide6 hook, so set the
# plugin path exactly as that hook will for the app itself.
import os
import sys

if sys.argv[1:] == ["--probe-qt"]:
    qt = os.path.join(sys._MEIPASS, "PySide6", *([] if sys.platform == "win32" else ["Qt"]))  # type: ignore[attr-defined]
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt, "plugins")
    from app.ui.platform_probe import run_probe

    raise SystemExit(run_probe())
