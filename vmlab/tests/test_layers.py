"""The import-linter contracts (pyproject.toml) cover every package of the project, and they bite."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

CONFIG = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def project_packages() -> set[str]:
    """The project's own top-level packages (its apps, vmlab and access); e2e holds only tests."""
    return {path.parent.name for path in settings.BASE_DIR.glob("*/__init__.py")} - {"e2e"}


def test_every_package_of_the_project_is_checked_by_the_linter():
    assert set(CONFIG["root_packages"]) == project_packages()


def test_every_package_has_its_layer():
    contract = next(contract for contract in CONFIG["contracts"] if contract["id"] == "layers")
    layered = {
        module.strip().split(".")[0] for layer in contract["layers"] for module in layer.replace(":", "|").split("|")
    }
    assert layered == project_packages()


def test_an_import_from_a_layer_above_breaks_the_contracts(tmp_path):
    """machines importing bookmarks (a sibling) and people (a layer above) fails `make test`."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            settings.BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("tests", "__pycache__")
        )
    shutil.copy(settings.BASE_DIR / "pyproject.toml", tmp_path)
    (tmp_path / "machines" / "wrong.py").write_text("import bookmarks.models\nimport people.services\n")

    result = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, check=False)

    assert result.returncode == 1
    assert "machines is not allowed to import bookmarks" in result.stdout
    assert "machines is not allowed to import people" in result.stdout
