"""Layering rules: the model never touches Qt; the document and exporters never touch widgets."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def grmnet_modules() -> list[str]:
    mods = []
    for path in sorted((ROOT / "grmnet").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods.append(".".join(parts))
    return mods


def test_grmnet_never_imports_qt_or_the_app():
    modules = grmnet_modules()
    assert "grmnet.prediction" in modules
    loaded = imported_after("; ".join(f"import {m}" for m in modules))
    assert not [m for m in loaded if m.startswith(("PySide6", "shiboken6", "sketchedit"))]


@pytest.mark.parametrize("module", ["sketchedit.document", "sketchedit.export", "sketchedit.ora", "sketchedit.images",
                                    "sketchedit.atomic", "sketchedit.cli", "sketchedit.worker"])
def test_model_side_of_the_app_does_not_import_widgets(module):
    loaded = imported_after(f"import {module}")
    assert "PySide6.QtWidgets" not in loaded


def test_cli_apply_path_needs_no_widgets():
    loaded = imported_after("from sketchedit import cli; import sketchedit.export, sketchedit.document")
    assert "PySide6.QtWidgets" not in loaded and "torch" not in loaded, "the CLI imports torch lazily"


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is not installed")
def test_import_linter_contracts():
    """pyproject's contracts (QtWidgets, a subpackage of an external package, is checked above instead)."""
    proc = subprocess.run(["lint-imports", "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
