"""Running a model's code against hidden tests, outside the PUMA process.

Each run is a fresh `python -s -B -P sandbox/bootstrap.py` in a new session, with a fresh temporary
folder as working directory, HOME and TMPDIR, a fixed hash seed (so the same code gives the same
outcome) and an environment of our own; in it the bootstrap lowers its memory, CPU-time and
file-size limits and installs an audit hook that refuses sockets, new processes, ctypes calls and
writes outside the folder. Where `unshare --net` works, the child also gets no network interface.
The parent enforces the wall-time limit by killing the child's process group.

Outcomes: passed (code and tests ran through), failed (a test's assertion did not hold), error
(the code did not compile or raised, the memory limit included), timeout (wall or CPU time) and
refused (the code tried something the sandbox forbids; this wins over any other outcome, even
when the code caught the refusal). docs/tasks.md describes the limits and what they do not stop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["passed", "failed", "error", "timeout", "refused"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "error", "timeout", "refused")
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# -s: no user site; -B: no .pyc written; -P: neither the script's folder nor the cwd on sys.path.
# Not -I: it implies -E, which would drop PYTHONHASHSEED and make set order (and so some
# outcomes) vary between two scorings of the same answer.
PYTHON_FLAGS = ("-s", "-B", "-P")


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 20.0  # from start to exit, start-up included; generous, so that a busy machine
    # never turns a correct answer into a timeout (the CPU limit stops busy loops)
    cpu_s: int = 5  # RLIMIT_CPU: SIGXCPU at this many seconds of CPU time
    memory_mb: int = 512  # RLIMIT_AS: allocations beyond it raise MemoryError
    file_mb: int = 16  # RLIMIT_FSIZE: the largest file the code may write


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class SandboxResult:
    outcome: Outcome
    detail: str = ""  # one line: the exception, the refused operation or the limit reached

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@functools.cache
def network_isolation() -> tuple[str, ...]:
    """`unshare --net --` when it works here (root, or user namespaces allowed), else nothing:
    the audit hook alone then keeps the code off the network."""
    try:
        probe = subprocess.run(
            ["unshare", "--net", "--", "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return ("unshare", "--net", "--") if probe.returncode == 0 else ()


def run_tests(code: str, tests: str, limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Run `code`, then `tests` in the same namespace, in a sandboxed child process. The same
    arguments give the same result (cached for the life of the process)."""
    return _run_cached(code, tests, limits)


def run_many(
    pairs: Sequence[tuple[str, str]], limits: SandboxLimits = DEFAULT_LIMITS
) -> list[SandboxResult]:
    """`run_tests` for each (code, tests), a few children at a time, results in input order."""
    workers = max(1, min(len(pairs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda pair: run_tests(pair[0], pair[1], limits), pairs))


@functools.lru_cache(maxsize=4096)
def _run_cached(code: str, tests: str, limits: SandboxLimits) -> SandboxResult:
    with tempfile.TemporaryDirectory(prefix="puma-sandbox-", ignore_cleanup_errors=True) as outer:
        work = Path(outer) / "work"
        work.mkdir()
        result_path = Path(outer) / "result.jsonl"
        request = {
            "code": code,
            "tests": tests,
            "work": str(work),
            "result": str(result_path),
            "limits": {k: v for k, v in asdict(limits).items() if k != "wall_s"},
        }
        env = {
            "HOME": str(work),
            "TMPDIR": str(work),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONIOENCODING": "utf-8",
        }
        argv = [*network_isolation(), sys.executable, *PYTHON_FLAGS, str(BOOTSTRAP)]
        child = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=work,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills all it started
        )
        try:
            child.communicate(json.dumps(request).encode("utf-8"), timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            return SandboxResult("timeout", f"wall-time limit ({limits.wall_s:g} s)")
        finally:
            _kill_group(child)  # threads or children it left behind
        return _result(result_path, child.returncode, limits)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _result(path: Path, returncode: int, limits: SandboxLimits) -> SandboxResult:
    records: list[dict[str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    refused = [str(r["refused"]) for r in records if "refused" in r]
    if refused:
        return SandboxResult("refused", refused[0])
    final = next((r for r in reversed(records) if "outcome" in r), None)
    if final is not None and final["outcome"] in OUTCOMES:
        return SandboxResult(final["outcome"], str(final.get("detail", "")))
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return SandboxResult("timeout", f"CPU-time limit ({limits.cpu_s} s)")
    if returncode < 0:
        return SandboxResult("error", f"killed by {signal.Signals(-returncode).name}")
    return SandboxResult("error", f"exited with status {returncode} before the tests finished")
