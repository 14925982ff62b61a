"""The wheel ships the suites inside the package, and every package the repository has."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_the_suites_inside_the_package(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ behind in the tree it builds.
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for name in ("pytest_conntriage", "suites"):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            # The build backend installed beside the tests (the dev extra), so no
            # isolated environment is made and nothing is fetched from an index.
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("pytest_conntriage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"pytest_conntriage", wheel.name.split("-py3")[0] + ".dist-info"}
    shipped = {name for name in names if name.startswith("pytest_conntriage/suites/")}
    in_repo = {f"pytest_conntriage/suites/{p.name}" for p in (ROOT / "suites").glob("*.py")}
    assert shipped == in_repo
    # The schemas users validate against: the inventory's, the JSON report's.
    assert "pytest_conntriage/inventory/schema.json" in names
    assert "pytest_conntriage/report/conntriage-report.schema.json" in names
    # Every package directory of the repository is listed in pyproject (it is not
    # found): a new package missing there would be missing from every install.
    missing = [
        str(init.relative_to(ROOT))
        for init in (ROOT / "pytest_conntriage").rglob("__init__.py")
        if str(init.relative_to(ROOT)) not in names
    ]
    assert not missing, f"add their packages to [tool.setuptools] packages: {missing}"


def test_the_installed_package_imports_the_suites_from_the_repository() -> None:
    # The editable install maps pytest_conntriage.suites to the repository's suites/;
    # from elsewhere, no top-level `suites` is importable.
    probe = (
        "import importlib.util, pytest_conntriage.suites.test_tcp as m;"
        "print(m.__file__); print(importlib.util.find_spec('suites'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    ).stdout.split("\n")
    assert out[0].endswith("suites/test_tcp.py")
    assert out[1] == "None"
