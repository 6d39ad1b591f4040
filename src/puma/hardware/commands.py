"""Running the probe's outside tools (nvidia-smi, rocm-smi, lscpu, sysctl, system_profiler):
each with a short timeout, in the C locale, and every way it can go wrong turned into a
ProbeStatus rather than an exception."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from puma.runfolder.hardware import ProbeStatus

T = TypeVar("T")
TOOL_TIMEOUT_S = 10.0  # nvidia-smi's first call on a cold driver takes a few seconds
DETAIL_MAX = 200  # characters of a tool's error kept: enough to say why, short of a dump


class ProbeParseError(ValueError):
    """A tool answered, but not in the format its parser knows."""


@dataclass(frozen=True)
class ToolOutput:
    stdout: str | None  # None unless the tool ran and exited 0
    status: ProbeStatus


def run_tool(source: str, argv: list[str], timeout: float = TOOL_TIMEOUT_S) -> ToolOutput:
    """Run `argv`; `source` names it in the status. A missing tool is `absent`; a timeout, a
    non-zero exit or an OS error is `failed` with the first line the tool printed."""
    if shutil.which(argv[0]) is None:
        return ToolOutput(None, ProbeStatus(source=source, status="absent", detail="not installed"))
    # Fixed locale: parsers read English labels and '.' decimals.
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return _failed(source, f"no answer within {timeout:g} s")
    except OSError as exc:
        return _failed(source, exc.strerror or type(exc).__name__)
    if done.returncode != 0:
        said = first_line(done.stderr) or first_line(done.stdout) or "no output"
        return _failed(source, f"exit status {done.returncode}: {said}")
    return ToolOutput(done.stdout, ProbeStatus(source=source, status="read"))


def first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:DETAIL_MAX]
    return ""


def _failed(source: str, detail: str) -> ToolOutput:
    return ToolOutput(None, ProbeStatus(source=source, status="failed", detail=detail[:DETAIL_MAX]))


def read_tool(
    source: str,
    argv: list[str],
    parse: Callable[[str], T],
    fallback: T,
    timeout: float = TOOL_TIMEOUT_S,
) -> tuple[T, ProbeStatus]:
    """Run a tool and parse what it printed: (parsed, read), or (fallback, why not)."""
    out = run_tool(source, argv, timeout)
    if out.stdout is None:
        return fallback, out.status
    try:
        return parse(out.stdout), out.status
    except ProbeParseError as exc:
        return fallback, ProbeStatus(source=source, status="failed", detail=str(exc)[:DETAIL_MAX])


def parse_json_object(text: str) -> dict[str, Any]:
    """A tool's JSON output, which must be one object."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProbeParseError(f"not JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise ProbeParseError("not a JSON object")
    return document
