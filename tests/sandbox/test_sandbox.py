"""The sandbox runs a model's code against hidden tests in a child process: a pass, a failed
assertion and a crash are told apart; a socket, a write outside the sandbox's folder and a new
process are refused (even when the code catches the refusal); an endless loop, a sleeper and a
memory hog are stopped; and the same code always gives the same outcome."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import puma.sandbox
from puma.sandbox import SandboxLimits, run_many, run_tests

# Small limits keep the stopped cases fast; the defaults are tested by the suite's own tasks.
QUICK = SandboxLimits(wall_s=3.0, cpu_s=1, memory_mb=256, file_mb=1)
TESTS = "assert increment(1) == 2\nassert increment(-1) == 0\n"


def solution(body: str, *, header: str = "") -> str:
    return f"{header}\ndef increment(x):\n" + "".join(f"    {line}\n" for line in body.split("\n"))


def test_a_correct_function_passes() -> None:
    result = run_tests(solution("return x + 1"), TESTS, QUICK)
    assert result.outcome == "passed" and result.passed and result.detail == ""


def test_a_wrong_function_fails_naming_the_hidden_test_line() -> None:
    result = run_tests(solution("return x + 2"), TESTS, QUICK)
    assert result.outcome == "failed"
    assert result.detail == "AssertionError (<hidden tests> line 1)"


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        ("def increment(x) return x\n", "SyntaxError"),
        (solution("return 1 / 0"), "ZeroDivisionError: division by zero"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
        ("x = 1\n", "NameError: name 'increment' is not defined"),
    ],
)
def test_code_that_does_not_compile_or_raises_is_an_error(code: str, detail: str) -> None:
    result = run_tests(code, TESTS, QUICK)
    assert result.outcome == "error"
    assert result.detail.startswith(detail)


def test_code_that_exits_the_interpreter_before_the_tests_is_an_error_not_a_pass() -> None:
    result = run_tests("import os\nos._exit(0)\n", TESTS, QUICK)
    assert result.outcome == "error"
    assert "before the tests finished" in result.detail


@pytest.mark.parametrize(
    "body",
    [
        "import socket\nsocket.create_connection(('127.0.0.1', 9))\nreturn x + 1",
        "import socket\nsocket.socket()\nreturn x + 1",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/')\nreturn x + 1",
    ],
)
def test_a_task_that_opens_a_socket_is_refused(body: str) -> None:
    result = run_tests(solution(body), TESTS, QUICK)
    assert result.outcome == "refused"
    assert result.detail.startswith(("socket.", "urllib."))


def test_a_refusal_the_code_catches_still_fails_the_task() -> None:
    body = "import socket\ntry:\n    socket.socket()\nexcept Exception:\n    pass\nreturn x + 1"
    result = run_tests(solution(body), TESTS, QUICK)
    assert result.outcome == "refused"  # the tests themselves would have passed


@pytest.mark.parametrize(
    "write",
    [
        "open({target!r}, 'w').write('x')",
        "open({target!r}, 'a').write('x')",
        "import os\nos.close(os.open({target!r}, os.O_WRONLY | os.O_CREAT))",
        "import pathlib\npathlib.Path({target!r}).write_text('x')",
        "import os\nos.mkdir({target!r})",
        "open('../escaped.txt', 'w').write('x')",
    ],
)
def test_a_task_that_writes_outside_its_temporary_folder_is_refused(
    write: str, tmp_path: Path
) -> None:
    target = tmp_path / "written-by-the-model"
    body = write.format(target=str(target)) + "\nreturn x + 1"
    result = run_tests(solution(body), TESTS, QUICK)
    assert result.outcome == "refused"
    assert not target.exists()


def test_a_task_that_removes_a_file_outside_its_folder_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("mine", encoding="utf-8")
    body = f"import os\nos.remove({str(victim)!r})\nreturn x + 1"
    assert run_tests(solution(body), TESTS, QUICK).outcome == "refused"
    assert victim.read_text(encoding="utf-8") == "mine"


def test_writing_and_reading_inside_its_own_folder_is_allowed() -> None:
    body = (
        "import os, tempfile\n"
        "open('scratch.txt', 'w').write('ok')\n"
        "with tempfile.NamedTemporaryFile('w') as f:\n    f.write('ok')\n"
        "assert os.path.expanduser('~') == os.getcwd()\n"
        "return x + int(open('scratch.txt').read() == 'ok')"
    )
    assert run_tests(solution(body), TESTS, QUICK).outcome == "passed"


@pytest.mark.parametrize(
    "body",
    [
        "import subprocess\nsubprocess.run(['true'])\nreturn x + 1",
        "import os\nos.system('true')\nreturn x + 1",
        "import os\nos.kill(os.getppid(), 0)\nreturn x + 1",
    ],
)
def test_a_task_that_starts_a_process_or_signals_one_is_refused(body: str) -> None:
    assert run_tests(solution(body), TESTS, QUICK).outcome == "refused"


def test_an_endless_loop_runs_out_of_cpu_time() -> None:
    # A generous wall limit: on a busy machine one CPU second can take several wall seconds,
    # and this test is about the CPU limit.
    limits = SandboxLimits(wall_s=30.0, cpu_s=1, memory_mb=256)
    started = time.monotonic()
    result = run_tests(solution("while True:\n    pass"), TESTS, limits)
    assert result.outcome == "timeout"
    assert result.detail == "CPU-time limit (1 s)"
    assert time.monotonic() - started < limits.wall_s


def test_a_sleeping_task_is_killed_at_the_wall_time_limit() -> None:
    limits = SandboxLimits(wall_s=1.0, cpu_s=1, memory_mb=256)
    result = run_tests(solution("import time\ntime.sleep(60)"), TESTS, limits)
    assert result == type(result)("timeout", "wall-time limit (1 s)")


def test_a_memory_hog_is_stopped_by_the_memory_limit() -> None:
    body = "data = []\nwhile True:\n    data.append(bytearray(10**6))"
    result = run_tests(solution(body, header="import sys"), TESTS, QUICK)
    assert result.outcome == "error"
    assert "MemoryError" in result.detail and "memory limit" in result.detail


def test_set_order_and_so_the_outcome_do_not_vary_between_two_scorings() -> None:
    # Without a fixed hash seed the order of a set of strings changes from process to process.
    code = "def order():\n    return list({'pear', 'apple', 'fig', 'kiwi', 'plum', 'lime'})\n"
    probe = "assert order() == {!r}\n"
    first = run_tests(code, "raise AssertionError(repr(order()))", QUICK).detail
    seen = first.split(": ", 1)[1].split(" (")[0]
    for limits in (QUICK, SandboxLimits(wall_s=3.5, cpu_s=1, memory_mb=256, file_mb=1)):
        assert run_tests(code, probe.format(eval(seen)), limits).outcome == "passed"


def test_run_many_keeps_the_order_of_its_input() -> None:
    pairs = [(solution("return x + 1"), TESTS), (solution("return x"), TESTS)] * 2
    assert [r.outcome for r in run_many(pairs, QUICK)] == ["passed", "failed"] * 2


def test_the_audit_hook_alone_refuses_sockets_without_a_network_namespace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where `unshare --net` is not permitted (no root, no user namespaces) the hook is all there is.
    monkeypatch.setattr(puma.sandbox, "network_isolation", lambda: ())
    code = solution("import socket\nsocket.create_connection(('127.0.0.1', 9))\nreturn x + 1")
    result = run_tests(code + "\n# no namespace\n", TESTS, QUICK)  # not the cached result
    assert result.outcome == "refused"


def test_the_code_runs_in_another_process_with_a_fresh_folder_as_cwd_and_home() -> None:
    tests = (
        f"import os\nassert os.getpid() != {os.getpid()}\n"
        "assert os.listdir('.') == [] and os.environ['HOME'] == os.getcwd()\n"
        "assert 'puma' not in os.environ.get('PYTHONPATH', '')\n"
    )
    assert run_tests("x = 1\n", tests, QUICK).outcome == "passed"


def test_a_file_past_the_size_limit_is_an_error_not_a_crash() -> None:
    body = "open('big.bin', 'wb').write(b'x' * (2 * 1024 * 1024))\nreturn x + 1"
    result = run_tests(solution(body), TESTS, QUICK)  # QUICK allows files of 1 MiB
    assert result.outcome == "error"
    assert result.detail.startswith("OSError: [Errno 27] File too large")
