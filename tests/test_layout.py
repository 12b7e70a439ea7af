"""The shape rules of the design, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADAPTER_PACKAGES = ["emulation", "storage"]


def modules(*packages: str) -> list[Path]:
    return [path for package in packages for path in sorted((ROOT / package).rglob("*.py"))]


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_adapters_never_import_the_bot_or_its_config():
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in imported(path) if n.startswith("standalone"))
        for path in modules(*ADAPTER_PACKAGES)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_coordination_names_are_built_only_in_keys_module():
    keys_module = ROOT / "standalone" / "keys.py"
    offenders = []
    for path in modules("standalone"):
        if path == keys_module:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if literal and (node.value.startswith("tickets:") or ":events" in node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_package_folder_is_a_package():
    # A folder without __init__.py is left out of the wheel and breaks installs.
    missing = [
        str(folder.relative_to(ROOT))
        for package in ("standalone", *ADAPTER_PACKAGES)
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        # Data-only folders (the i18n catalogues) ship as package data instead.
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []
