"""PUMA 4.0's own verifier and validator (puma-cp 4.0.0 from PyPI), to run on our files.

puma-cp cannot be installed beside PUMA: its package is also named `puma`, and it depends on
streamlit, codecarbon, scikit-learn, scipy, pandas, gradio-client, PyGithub, SQLAlchemy and
alembic. So only its wheel (181 kB, `pip download --no-deps`, served from pip's cache after the
first time) is fetched and unpacked into a test's temporary folder, and `driver.py` runs its code
from there in a subprocess with this environment's packages (typer, rich, httpx, pydantic,
PyYAML, which puma-cp's two commands need). Set PUMA_CP_WHEEL to a downloaded copy of the wheel
to work offline; without either, the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REQUIREMENT = "puma-cp==4.0.0"
WHEEL_NAME = "puma_cp-4.0.0-py3-none-any.whl"
# The wheel on PyPI; another file under this name is not the code these tests are about.
WHEEL_SHA256 = "0f7204cafe48bc471d2573e2130d511ea7fea0d78612f73fc682597a41bd303a"


def prepare(folder: Path) -> Path:
    """puma-cp unpacked under `folder/src` with its profile catalogue in `folder/config`."""
    wheel = _wheel(folder)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        pytest.fail(f"{wheel} has SHA-256 {digest}, not that of {REQUIREMENT} on PyPI")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "src")
    (folder / "config").mkdir(exist_ok=True)
    shutil.copy(HERE / "profiles.yaml", folder / "config" / "profiles.yaml")
    return folder


def _wheel(folder: Path) -> Path:
    given = os.environ.get("PUMA_CP_WHEEL")
    if given:
        return Path(given)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    command += ["--retries", "1", "--timeout", "20", "-d", str(folder / "wheel"), REQUIREMENT]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{REQUIREMENT}'s wheel could not be fetched in 3 minutes; see PUMA_CP_WHEEL")
    wheel = folder / "wheel" / WHEEL_NAME
    if result.returncode != 0 or not wheel.is_file():
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.skip(f"{REQUIREMENT}'s wheel could not be fetched ({last}); see PUMA_CP_WHEEL")
    return wheel


def run(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`driver.py ROOT ARGS` in a clean process (our `puma` kept off its path)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "200"  # puma-cp's Rich tables: keep a hash on one line
    return subprocess.run(
        [sys.executable, str(HERE / "driver.py"), str(root), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def hashes(root: Path, files: list[Path]) -> list[dict[str, Any]]:
    """puma-cp's `hash_predictions_jsonl` on each file: {"sha256": ...} or {"error": ...}."""
    result = run(root, "hash", *files)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
