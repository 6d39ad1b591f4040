"""Writing output files and folders: the one place where an OSError on write becomes an
OutputWriteError that says what failed, where, and what to do.

Files are written to a temporary file beside their target and renamed into place only when every
file of the set is whole, so a full disk, a read-only folder or Ctrl-C leaves the old files (or
none) and never half a set that looks complete.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from puma.errors import OutputWriteError

TMP_SUFFIX = ".tmp"
_FREE_SPACE = "free some space on that disk, or choose another folder"
_OTHER_FOLDER = "choose a folder you can write to"

# errno -> (what it means for the person, what to do)
_REASONS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", _FREE_SPACE),
    errno.EDQUOT: ("the disk quota is exhausted", _FREE_SPACE),
    errno.EFBIG: ("the file is larger than this file system allows", _FREE_SPACE),
    errno.EROFS: ("the file system is read-only", _OTHER_FOLDER),
    errno.EACCES: ("permission denied", _OTHER_FOLDER),
    errno.EPERM: ("operation not permitted", _OTHER_FOLDER),
    errno.ENOTDIR: ("part of the path is a file, not a folder", "give a folder path"),
    errno.EISDIR: ("a folder is in the way of the file", "move that folder away"),
    errno.EEXIST: ("something that is not a folder is in the way", "give a folder path"),
    errno.ENAMETOOLONG: (
        "a name in the path is too long (at most 255 bytes a name)",
        "choose a shorter name",
    ),
    errno.ENOENT: ("part of the path does not exist", "create the folder first"),
    errno.EIO: ("the disk reported an input/output error", "check the disk"),
}


def output_error(exc: OSError, path: Path, action: str) -> OutputWriteError:
    """The OutputWriteError for an OSError raised while doing `action` ("write", "create the
    output folder") on `path`."""
    code = exc.errno if exc.errno is not None else -1
    reason, hint = _REASONS.get(code, (exc.strerror or type(exc).__name__, _OTHER_FOLDER))
    return OutputWriteError(f"cannot {action}: {reason}", where=str(path), hint=hint)


@contextlib.contextmanager
def writing(path: Path, action: str = "write") -> Iterator[None]:
    """Turn an OSError raised in the block into an OutputWriteError about `path`."""
    try:
        yield
    except OSError as exc:
        raise output_error(exc, path, action) from exc


def prepare_output_folder(folder: Path) -> None:
    """Create `folder` (and its parents) and prove it writable by writing, syncing and removing a
    probe file: a read-only, full or misnamed output folder is found before any model loads or
    any score is computed."""
    folder = Path(folder)
    with writing(folder, "create the output folder"):
        if folder.exists() and not folder.is_dir():
            raise OutputWriteError(
                "cannot use it as the output folder: it exists and is not a folder",
                where=str(folder),
                hint="give a folder path",
            )
        folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".puma-write-probe-{os.getpid()}"
    try:
        with writing(folder, "write into the output folder"):
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"puma\n")
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def output_folder_problem(folder: Path) -> OutputWriteError | None:
    """Why `folder` cannot be an output folder, found without creating anything (for `puma
    doctor`): every name must fit, and its nearest existing ancestor must be a writable folder."""
    folder = Path(folder)
    try:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            raise OSError(errno.EEXIST if existing == folder else errno.ENOTDIR, "not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            read_only = os.statvfs(existing).f_flag & os.ST_RDONLY
            raise PermissionError(errno.EROFS if read_only else errno.EACCES, "not writable")
    except OSError as exc:
        return output_error(exc, folder, "use it as the output folder")
    return None


def write_files(contents: Mapping[Path, str | bytes]) -> None:
    """Write several files as one: each to a temporary file beside it, then, when every one is
    whole, rename them into place. On any failure (an OSError, Ctrl-C) the temporary files are
    removed and no target is touched."""
    for path in contents:  # the one rename that can fail once the data is written
        if path.is_dir():
            raise output_error(IsADirectoryError(errno.EISDIR, "Is a directory"), path, "write")
    written: list[Path] = []
    try:
        for path, data in contents.items():
            tmp = temporary_path(path)
            written.append(tmp)
            with writing(path):
                if isinstance(data, str):
                    tmp.write_text(data, encoding="utf-8", newline="\n")
                else:
                    tmp.write_bytes(data)
        for path in contents:
            with writing(path):
                os.replace(temporary_path(path), path)
    except BaseException:
        remove_files(written)
        raise


def temporary_path(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


def remove_files(paths: list[Path] | tuple[Path, ...]) -> None:
    """Remove what a failed write left behind; a file that is already gone is fine."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
