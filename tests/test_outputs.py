"""puma.outputs: every write fault is an OutputWriteError that names the path and says what to
do, and a failed write leaves neither a temporary file nor half of a set of files."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from puma.errors import ExitCode, OutputWriteError
from puma.outputs import output_error, prepare_output_folder, write_files
from puma.runfolder.ledger import LedgerWriter
from run_records import call_event, meta_event


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permission denied"),  # chmod 555 for anyone but root
        (errno.ENOTDIR, "part of the path is a file"),
        (errno.ENAMETOOLONG, "too long"),
        (errno.EISDIR, "a folder is in the way"),
        (errno.EIO, "input/output error"),
    ],
)
def test_each_write_fault_says_what_where_and_what_to_do(code: int, reason: str) -> None:
    error = output_error(OSError(code, "strerror"), Path("runs/x"), "write")
    assert error.exit_code == ExitCode.CANNOT_WRITE == 5
    assert error.where == "runs/x"
    assert reason in error.message and error.message.startswith("cannot write: ")
    assert error.hint
    assert "Errno" not in str(error)


def test_an_unknown_errno_keeps_the_system_words() -> None:
    error = output_error(OSError(errno.ETXTBSY, "Text file busy"), Path("f"), "write")
    assert error.message == "cannot write: Text file busy"


def test_prepare_output_folder_creates_it_and_leaves_no_probe(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    prepare_output_folder(folder)
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_prepare_output_folder_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputWriteError, match="exists and is not a folder"):
        prepare_output_folder(tmp_path / "f")


def test_write_files_writes_every_file_or_none(tmp_path: Path) -> None:
    first, second = tmp_path / "metrics.json", tmp_path / "report.html"
    first.write_text("old\n")
    second.mkdir()  # a folder in the way of the second file: the first must stay as it was
    with pytest.raises(OutputWriteError, match="a folder is in the way"):
        write_files({first: "new\n", second: "<html>"})
    assert first.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "report.html"]


def test_write_files_removes_its_temporary_files_on_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("puma.outputs.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_files({tmp_path / "a.json": "whole\n", tmp_path / "b.json": b"whole"})
    assert list(tmp_path.iterdir()) == []


def test_a_ledger_on_a_full_disk_fails_once_with_a_message_and_keeps_nothing_open(
    tmp_path: Path,
) -> None:
    # /dev/full accepts the open and refuses every write with ENOSPC.
    with Path("/dev/full").open("w") as handle:
        writer = LedgerWriter(Path("/dev/full"), handle, None, 0)
        with pytest.raises(OutputWriteError, match="the disk is full") as caught:
            writer.append(meta_event())
        assert caught.value.where == "/dev/full"
        with pytest.raises(OutputWriteError):  # no second attempt at a broken ledger
            writer.append(call_event())
        writer.close()  # nothing left to flush: no error, and none at interpreter exit
        assert handle.closed
