"""The llama.cpp build installed here (llama-cpp-python): its version, the system line it was
built with (`llama_print_system_info()`) and whether it can offload to a GPU."""

from __future__ import annotations

from typing import Any

from puma.runfolder.hardware import ProbeStatus, RuntimeBuild


def parse_system_info(text: str) -> list[str]:
    """The backends and switches of a llama.cpp build, lower-case and sorted:
    "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : AVX2 = 1 | AVX512 = 0 |" -> cuda, avx2,
    use_graphs. A backend is named by its section; a switch counts when it is 1."""
    features: set[str] = set()
    for part in text.split("|"):
        section, sep, setting = part.partition(" : ")
        if sep:
            backend = section.strip().lower()
            if backend and backend != "cpu":
                features.add(backend)
        else:
            setting = part
        key, eq, value = setting.partition("=")
        if eq and value.strip() == "1" and key.strip():
            features.add(key.strip().lower())
    return sorted(features)


def probe_runtime(reported: dict[str, Any] | None = None) -> tuple[RuntimeBuild, ProbeStatus]:
    """`reported` is what the run's runtime said of its build, kept as it said it."""
    source = "llama-cpp-python"
    try:
        import llama_cpp
    except ImportError:
        return RuntimeBuild(runtime=reported or {}), ProbeStatus(
            source=source, status="absent", detail="not installed"
        )
    # A broken native build can fail in any way on import or call; the probe never raises.
    try:
        info = llama_cpp.llama_print_system_info()
        text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
        system_info = text.strip()
        offload = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as exc:
        return RuntimeBuild(
            llama_cpp_python=str(getattr(llama_cpp, "__version__", "")) or None,
            runtime=reported or {},
        ), ProbeStatus(source=source, status="failed", detail=f"{type(exc).__name__}: {exc}"[:200])
    return RuntimeBuild(
        llama_cpp_python=str(llama_cpp.__version__),
        system_info=system_info,
        features=parse_system_info(system_info),
        gpu_offload=offload,
        runtime=reported or {},
    ), ProbeStatus(source=source, status="read")
