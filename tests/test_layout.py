"""The shape rules of the design, checked on the source itself."""

from __future__ import annotations

import ast
import tomllib
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
        and not (folder / "__init__.py").exists()
        # Data without code (the i18n catalogues) ships as package data instead.
        and any(folder.rglob("*.py"))
    ]
    assert missing == []


def test_data_folders_ship_as_package_data():
    # A data folder is no package: pyproject.toml must name its files, or installs lack them.
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    shipped = {
        path
        for package, patterns in package_data.items()
        if package != "*"
        for pattern in patterns
        for path in (ROOT / package.replace(".", "/")).glob(pattern)
    }
    data = {
        path
        for package in ("standalone", *ADAPTER_PACKAGES)
        for folder in (ROOT / package).rglob("*")
        if folder.is_dir() and folder.name != "__pycache__" and not any(folder.rglob("*.py"))
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert data - shipped == set()
