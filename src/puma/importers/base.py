"""What every importer hands over: the samples of one log, as the tool scored them, and the
figures the tool reported for them. An importer is one module with a `LogReader` under
`@register_reader`; puma.importers.build turns its `ToolLog`s into a run folder.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from puma.errors import InputFileError


@dataclass(frozen=True)
class ToolSample:
    """One scored answer: `item` is the instance id within the task (lm-eval's doc_id, Inspect's
    sample id), `epoch` counts from 0 (repetitions of one item), `scores` maps each of the tool's
    per-sample metric names to the value the log holds (a number, a bool, Inspect's "C"/"I",
    or lm-eval's [gold, prediction] pair for a corpus-level metric)."""

    task: str
    item: str
    epoch: int
    answer: str | None
    target: str | None
    scores: dict[str, Any]
    prompt_hash: str | None = None


@dataclass(frozen=True)
class ToolMetric:
    """A figure the tool reported for one task: its name in the tool's results, the per-sample
    score it aggregates, how (`aggregation`: "mean", "mcc", "f1", or anything else PUMA does not
    re-derive) and the value."""

    task: str
    name: str  # as the results file names it ("exact_match,none", "match/accuracy")
    score: str  # the per-sample key in ToolSample.scores
    aggregation: str
    value: float | None
    higher_is_better: bool = True
    note: str | None = None  # what the tool did that PUMA does not (a non-mean epoch reducer)


@dataclass
class ToolLog:
    """One log file (or one lm-eval run: a results file and its samples files)."""

    tool: str
    tool_version: str
    path: Path  # the file whose SHA-256 identifies the log
    sha256: str
    model: str
    samples: list[ToolSample]
    reported: list[ToolMetric]
    created: str | None = None  # when the tool ran, as the log says (ISO 8601)
    seed: int | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    extra_files: list[tuple[Path, str]] = field(default_factory=list)  # (path, sha256)

    @property
    def tasks(self) -> list[str]:
        return sorted({s.task for s in self.samples})


class LogReader(abc.ABC):
    """One tool's logs: which files are its logs, and how one is read."""

    tool: ClassVar[str]  # the command's name: `puma import <tool>`
    display_name: ClassVar[str]  # the tool's name for people and the manifest
    tested_versions: ClassVar[str]  # what docs/commands/import.md lists

    @abc.abstractmethod
    def discover(self, path: Path) -> list[Path]:
        """The log files at `path` (a file or a folder); InputFileError when there are none."""

    @abc.abstractmethod
    def read(self, path: Path) -> ToolLog:
        """One log; InputFileError (exit 2) naming the file, the line where it can, and what is
        wrong: another tool's file, another version, a truncated file, no samples."""


_READERS: dict[str, LogReader] = {}


def register_reader(cls: type[LogReader]) -> type[LogReader]:
    if cls.tool in _READERS:
        raise ValueError(f"log reader {cls.tool!r} is registered twice")
    _READERS[cls.tool] = cls()
    return cls


def reader_for(tool: str) -> LogReader:
    try:
        return _READERS[tool]
    except KeyError:
        raise InputFileError(
            f"PUMA cannot import logs of {tool!r}",
            hint=f"known tools: {', '.join(reader_names())}",
        ) from None


def reader_names() -> list[str]:
    return sorted(_READERS)


def read_logs(tool: str, paths: Iterable[Path]) -> list[ToolLog]:
    """Every log at the given paths, each file once, in path order (the run's bytes never depend
    on the order the paths were given in)."""
    reader = reader_for(tool)
    files: set[Path] = set()
    for path in paths:
        files.update(reader.discover(Path(path)))
    return [reader.read(p) for p in sorted(files)]
