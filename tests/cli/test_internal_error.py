"""A bug in PUMA is exit 70 with one line naming it, never exit 1 ("a check said no") and never
a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import puma
from puma.cli.app import main


def test_an_unexpected_exception_is_exit_70_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(puma, "verify", broken)
    monkeypatch.delenv("PUMA_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["puma", "verify-hash", str(tmp_path / "s.json")])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == puma.ExitCode.INTERNAL_ERROR == 70
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: division by zero" in err
    assert "bug in PUMA" in err and "Traceback" not in err
