"""The arrows of the house (.importlinter) are checked, and checked for every package."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contract_config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    return parser


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / ".importlinter"), "--no-cache"],
        cwd=root, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_contracts_cover_exactly_the_top_level_packages():
    declared = set(_contract_config()["importlinter"]["root_packages"].split())
    on_disk = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert declared == on_disk


def test_the_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_back_arrow_from_items_to_assignments_breaks_the_contract(tmp_path):
    packages = _contract_config()["importlinter"]["root_packages"].split()
    for package in packages:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", ".astro"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    assert _lint(tmp_path).returncode == 0

    selectors = tmp_path / "items" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom assignments import models as _back_arrow  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "items is not allowed to import assignments" in result.stdout
