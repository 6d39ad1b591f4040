"""The child side of the sandbox: run as a script (`python -s -B -P bootstrap.py`), never imported
by PUMA. Reads one request (code, hidden tests, limits, folders) as JSON on standard input, lowers
its own resource limits, installs an audit hook that refuses network, process and ctypes calls and
writes outside its work folder, runs the code and then the tests, and writes JSON lines to the
result file it opened before the hook went in. Standard library only: PUMA is not importable here.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import sys
from typing import Any

MIB = 1024 * 1024
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Events whose path arguments must lie inside the work folder (they change the file system).
PATH_EVENTS = frozenset(
    {
        "os.chmod",
        "os.chown",
        "os.link",
        "os.mkdir",
        "os.mkfifo",
        "os.mknod",
        "os.remove",
        "os.removexattr",
        "os.rename",
        "os.rmdir",
        "os.setxattr",
        "os.symlink",
        "os.truncate",
        "os.utime",
        "shutil.chown",
        "shutil.copyfile",
        "shutil.copymode",
        "shutil.copystat",
        "shutil.copytree",
        "shutil.make_archive",
        "shutil.move",
        "shutil.rmtree",
        "shutil.unpack_archive",
    }
)
# Events refused outright: the network, new processes, signals to other processes, and calling
# into C through ctypes (loading a library is allowed: numpy does it on import).
REFUSED_EVENTS = frozenset(
    {
        "ctypes.addressof",
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.create_string_buffer",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "pty.spawn",
        "subprocess.Popen",
        "sys.remote_exec",
        "webbrowser.open",
    }
)
REFUSED_PREFIXES = ("socket.", "http.client.", "urllib.", "ftplib.", "smtplib.", "poplib.")


class SandboxRefusal(PermissionError):
    """Raised into the code by the audit hook."""


def set_limits(limits: dict[str, int]) -> None:
    memory = limits["memory_mb"] * MIB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # SIGXCPU at the soft limit; the hard limit one second later is a SIGKILL backstop.
    cpu = limits["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = limits["file_mb"] * MIB
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    # A write past the size limit then fails with EFBIG (an error the code sees) instead of
    # SIGXFSZ killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def inside(path: Any, root: str) -> bool:
    if isinstance(path, int):
        return True  # an open file descriptor: its opening was audited already
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    if name == os.devnull:
        return True
    real = os.path.realpath(name)
    return real == root or real.startswith(root + os.sep)


def install_hook(root: str, report: Any) -> None:
    busy = False

    def refuse(what: str) -> None:
        report({"refused": what})
        raise SandboxRefusal(f"the PUMA sandbox refused {what}")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        nonlocal busy
        if busy:
            return
        busy = True
        try:
            if event in REFUSED_EVENTS or event.startswith(REFUSED_PREFIXES):
                refuse(event)
            elif event == "open":
                path, mode, flags = args
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & WRITE_FLAGS
                )
                if writes and not inside(path, root):
                    refuse(f"writing {os.fsdecode(path) if not isinstance(path, int) else path}")
            elif event in PATH_EVENTS:
                for arg in args:
                    if isinstance(arg, str | bytes | os.PathLike) and not inside(arg, root):
                        refuse(f"{event} on {os.fsdecode(os.fspath(arg))}")
        finally:
            busy = False

    sys.addaudithook(hook)


def describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    line = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in ("<solution>", "<hidden tests>"):
            line = f" ({tb.tb_frame.f_code.co_filename} line {tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {text[:200]}{line}" if text else f"{type(exc).__name__}{line}"


def run(request: dict[str, Any], report: Any) -> dict[str, str]:
    namespace: dict[str, Any] = {"__name__": "puma_solution", "__builtins__": __builtins__}
    try:
        code = compile(request["code"], "<solution>", "exec")
        tests = compile(request["tests"], "<hidden tests>", "exec")
    except (SyntaxError, ValueError) as exc:
        return {"outcome": "error", "detail": describe(exc)}
    stage = "the code"
    try:
        exec(code, namespace)
        stage = "the tests"
        exec(tests, namespace)
    except AssertionError as exc:
        if stage == "the tests":
            return {"outcome": "failed", "detail": describe(exc)}
        return {"outcome": "error", "detail": describe(exc)}
    except MemoryError:
        namespace.clear()  # what the code kept would make the report itself fail
        gc.collect()
        return {"outcome": "error", "detail": f"MemoryError in {stage} (memory limit)"}
    except BaseException as exc:  # SystemExit, KeyboardInterrupt: still the code's doing
        return {"outcome": "error", "detail": f"{describe(exc)} in {stage}"}
    return {"outcome": "passed", "detail": ""}


def main() -> None:
    request = json.loads(sys.stdin.read())
    set_limits(request["limits"])
    root = os.path.realpath(request["work"])
    out = open(request["result"], "w", encoding="utf-8")  # noqa: SIM115 - open before the hook

    def report(record: dict[str, str]) -> None:
        out.write(json.dumps(record) + "\n")
        out.flush()

    install_hook(root, report)
    sys.dont_write_bytecode = True
    report(run(request, report))
    out.close()
    os._exit(0)  # no interpreter shutdown: atexit handlers and threads of the code do not run


if __name__ == "__main__":
    main()
