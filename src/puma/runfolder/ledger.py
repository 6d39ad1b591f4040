"""The ledger `run.jsonl`: an append-only, hash-chained record of everything a run did.

Line 1 is `type=meta`; then `type=call` / `type=skipped` (and `type=resume` when a run is
resumed); the last line is `type=footer`. Each line carries `prev_hash`, the SHA-256 of the
previous line's bytes, and is flushed as soon as it is written, so a crash loses no completed call.
No later line protects the last one, so at run end its hash (the head) is sealed in manifest.json.

Every line is one model of the `LedgerEvent` union (discriminated on `type`); the field order of
each model is the byte order of its line, which the hash chain depends on: never reorder fields.
ledger-1.0 (before the seal) has the same lines as ledger-1.1; only its meta's schema differs.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, TextIO, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from puma.errors import InputFileError, OutputWriteError
from puma.hashing import sha256_hex
from puma.jsonio import dumps_line, parse_json
from puma.outputs import output_error, writing

# ledger-1.1 promises a seal: once its footer is written, manifest.json records the head. A
# ledger-1.0 (PUMA before the seal) has none, so a missing seal there is no sign of tampering.
LEDGER_SCHEMA = "ledger-1.1"
UNSEALED_SCHEMAS = ("ledger-1.0",)
LEDGER_SCHEMAS = ("ledger-1.0", LEDGER_SCHEMA)
# A number as the runtime gave it: an int stays an int, so a line re-dumps to the same bytes.
Number = int | float


class _Event(BaseModel):
    """What every line carries. `seq` and `prev_hash` are the writer's: build an event without
    them and `LedgerWriter.append` returns it as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: int = -1
    prev_hash: str | None = None

    def line_fields(self) -> dict[str, Any]:
        """The line's JSON object, in its byte order: type, seq, the event's own fields,
        prev_hash."""
        fields = self.model_dump(exclude={"seq", "prev_hash"})
        body = {k: v for k, v in fields.items() if k != "type"}
        return {"type": fields["type"], "seq": self.seq, **body, "prev_hash": self.prev_hash}


class MetaEvent(_Event):
    """Line 1: what run this ledger belongs to."""

    type: Literal["meta"] = "meta"
    schema_version: str = LEDGER_SCHEMA
    run_id: str
    spec_hash: str
    tool: dict[str, str]
    ts: str
    planned_calls: int


class CallRecord(_Event):
    """The fields of a call line and of a skipped line (runner.execute.call_record builds them).
    The predicted label is `parsed_label` here and `predicted_label` in the prediction files
    (see puma.runfolder.predictions.FullRow.of_event): both names are formats of their own."""

    ts: str
    phase: str
    suite_id: str
    instance_id: str
    model: str
    perturbation: str
    repetition: int
    attempt: int
    prompt_hash: str
    options: dict[str, Any]
    output_text: str | None
    parse_status: str  # ok | fuzzy | unparsed | error | skipped
    parsed_label: str | None
    predicted_value: Number | None
    label_probs: dict[str, Number] | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_counted_locally: bool | None
    ttft_ms: Number | None
    total_ms: Number | None
    prompt_tps: Number | None
    generation_tps: Number | None
    runtime_timings: dict[str, Any]
    warnings: list[str]
    error: str | None

    # What a line says before any answer is copied in; every field stays required when a
    # ledger is read, so a line that lost one is an error, not a silent default.
    NO_ANSWER: ClassVar[dict[str, Any]] = {
        "output_text": None,
        "parse_status": "error",
        "parsed_label": None,
        "predicted_value": None,
        "label_probs": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "tokens_counted_locally": None,
        "ttft_ms": None,
        "total_ms": None,
        "prompt_tps": None,
        "generation_tps": None,
        "runtime_timings": {},
        "warnings": [],
    }

    @classmethod
    def unanswered(cls, *, error: str | None = None, **call: Any) -> Self:
        """The line of the call `call` names (ts, phase, suite_id, instance_id, model,
        perturbation, repetition, attempt, prompt_hash, options) with no answer in it yet."""
        return cls(**call, **copy.deepcopy(cls.NO_ANSWER), error=error)


class CallEvent(CallRecord):
    """One attempt at one planned call."""

    type: Literal["call"] = "call"


class SkippedEvent(CallRecord):
    """A call not made: its prompt does not fit the model's context. The fields of a call, with
    parse_status `skipped`, the explanation as `error` and the short `reason`."""

    type: Literal["skipped"] = "skipped"
    reason: str


class ResumeEvent(_Event):
    type: Literal["resume"] = "resume"
    ts: str
    planned_calls: int
    remaining_calls: int


class FooterEvent(_Event):
    """The last line: the run ended (possibly with failed calls)."""

    type: Literal["footer"] = "footer"
    ts: str
    planned_calls: int
    calls_this_session: int
    attempts: int
    failed_calls: int
    skipped_calls: int

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """Footers of ledger-1.0 written before calls could be skipped have no skipped_calls."""
        if isinstance(data, dict) and "skipped_calls" not in data:
            return {**data, "skipped_calls": 0}
        return data


EventT = TypeVar("EventT", bound=_Event)
LedgerEvent = Annotated[
    MetaEvent | CallEvent | SkippedEvent | ResumeEvent | FooterEvent, Field(discriminator="type")
]
_EVENT = TypeAdapter[LedgerEvent](LedgerEvent)
EVENT_TYPES = ("meta", "call", "skipped", "resume", "footer")
# What resume and the predictions read from each call/skipped line.
CALL_FIELDS = tuple(f for f in CallRecord.model_fields if f not in ("seq", "prev_hash"))


def parse_event(obj: Any, where: str) -> LedgerEvent:
    """One ledger line's JSON object as its model; InputFileError naming the line and field."""
    try:
        return _EVENT.validate_python(obj)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"][1:]) or "event"
        raise InputFileError(f"{field}: {error['msg']}", where=where) from None


def line_hash(line: bytes) -> str:
    """The hash the next line records as `prev_hash`: SHA-256 of the line without its newline."""
    return sha256_hex(line.rstrip(b"\n"))


class LedgerSeal(BaseModel):
    """The head of a finished ledger: the hash of its last line (the footer) and its line count.
    Recorded in manifest.json at run end; an edit to the footer, or a line cut off or added after
    it, no longer matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    head: str
    lines: int


class LedgerWriter:
    """Appends events to a ledger. One writer per run; `seq` increases strictly."""

    def __init__(
        self, path: Path, handle: TextIO, prev_hash: str | None, next_seq: int, lines: int = 0
    ):
        self.path = path
        self._handle = handle
        self._prev_hash = prev_hash
        self._seq = next_seq
        self._lines = lines
        self._fault: OutputWriteError | None = None

    @classmethod
    def create(cls, path: Path) -> LedgerWriter:
        with writing(path, "create the ledger"):
            return cls(path, path.open("x", encoding="utf-8", newline="\n"), None, 0)

    @classmethod
    def reopen(cls, path: Path) -> LedgerWriter:
        """Continue an existing ledger, first cutting off a partial last line left by a crash."""
        state = read_ledger(path, repair_tail=True)
        with writing(path, "append to the ledger"):
            handle = path.open("a", encoding="utf-8", newline="\n")
        return cls(path, handle, state.last_hash, state.last_seq + 1, len(state.events))

    @property
    def last_hash(self) -> str | None:
        return self._prev_hash

    @property
    def next_seq(self) -> int:
        return self._seq

    def seal(self) -> LedgerSeal:
        """The head as it stands: call after the footer, record it in manifest.json."""
        if self._prev_hash is None:
            raise ValueError("an empty ledger has no head to seal")
        return LedgerSeal(head=self._prev_hash, lines=self._lines)

    def append(self, event: EventT) -> EventT:
        """Write one event; returns it as written (with its seq and prev_hash)."""
        if self._fault is not None:
            raise self._fault
        event = event.model_copy(update={"seq": self._seq, "prev_hash": self._prev_hash})
        line = dumps_line(event.line_fields())
        try:
            self._handle.write(line + "\n")
            self._handle.flush()
        except OSError as exc:
            # At most a partial last line reached the disk (resume cuts it off); closing now
            # drops the rest of the buffer instead of retrying it at exit with a traceback.
            self._fault = output_error(exc, self.path, "append to the ledger")
            with contextlib.suppress(OSError):
                self._handle.close()
            raise self._fault from exc
        self._prev_hash = sha256_hex(line)
        self._seq += 1
        self._lines += 1
        return event

    def close(self, sync: bool = True) -> None:
        if self._fault is not None:
            return
        with writing(self.path, "close the ledger"):
            if sync:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()


@dataclass
class LedgerState:
    events: list[LedgerEvent]
    last_hash: str | None
    last_seq: int


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    lines: int
    broken_line: int | None = None
    reason: str | None = None
    last_hash: str | None = None
    complete: bool = False  # the last line is a footer (the run ended, possibly with failures)
    partial_tail: bool = False  # a half-written last line after `lines` whole ones (a crash)
    schema: str | None = None  # the meta line's schema_version


def _iter_raw(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            yield from handle
    except OSError as exc:
        raise InputFileError(f"cannot read ledger: {exc.strerror}", where=str(path)) from exc


def read_ledger(path: Path, *, repair_tail: bool = False) -> LedgerState:
    """Read every event. A partial last line (no newline: the process died mid-write) is cut
    off when `repair_tail` is set, and is an error otherwise. Each line must be its event's
    model: an error names the line (and, for a call or skipped line, the CALL_FIELDS it lacks)."""
    events: list[LedgerEvent] = []
    last_hash: str | None = None
    good_bytes = 0
    raws = list(_iter_raw(path))
    for lineno, raw in enumerate(raws, start=1):
        if not raw.endswith(b"\n") and lineno == len(raws):
            if repair_tail:
                with writing(path, "repair the ledger's partial last line"), path.open("r+b") as f:
                    f.truncate(good_bytes)
                break
            raise InputFileError(
                "partial last line (the run was interrupted mid-write)",
                where=f"{path}:{lineno}",
                hint="`puma run --resume` repairs it",
            )
        events.append(_event(parse_json(raw, path, lineno), f"{path}:{lineno}"))
        last_hash = line_hash(raw)
        good_bytes += len(raw)
    if not events:
        raise InputFileError("the ledger is empty", where=str(path))
    return LedgerState(events=events, last_hash=last_hash, last_seq=events[-1].seq)


def _event(obj: Any, where: str) -> LedgerEvent:
    """A parsed ledger line, checked for what the readers of the ledger take from it."""
    if not isinstance(obj, dict) or obj.get("type") not in EVENT_TYPES:
        raise InputFileError("not a ledger event (a JSON object with a known 'type')", where=where)
    if not isinstance(obj.get("seq"), int):
        raise InputFileError("a ledger event without an integer 'seq'", where=where)
    is_call = obj["type"] in ("call", "skipped")
    missing = [f for f in CALL_FIELDS if f not in obj] if is_call else []
    if missing:
        raise InputFileError(f"{obj['type']} event lacks {', '.join(missing)}", where=where)
    return parse_event(obj, where)


def verify_chain(path: Path) -> ChainReport:
    """Check the hash chain, seq order and event shape line by line; say which line breaks it.

    A last line without its newline is what a crash mid-write leaves (the writer puts the newline
    last): it is reported as `partial_tail` after the whole lines, not as a break. Whether the
    whole lines end where they should is the seal's business (see `judge_ledger`)."""
    prev: str | None = None
    last_seq = -1
    lineno = 0
    last_type = None
    schema = None
    for lineno, raw in enumerate(_iter_raw(path), start=1):

        def broken(reason: str, at: int = lineno) -> ChainReport:
            return ChainReport(ok=False, lines=at, broken_line=at, reason=reason)

        if not raw.endswith(b"\n"):
            if lineno == 1:
                return broken("partial line (the run was interrupted mid-write)")
            return ChainReport(
                ok=True,
                lines=lineno - 1,
                last_hash=prev,
                complete=False,
                partial_tail=True,
                schema=schema,
            )
        try:
            event = parse_json(raw, path, lineno)
        except InputFileError as exc:
            return broken(exc.message)
        if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
            return broken("not a ledger event (missing or unknown 'type')")
        if lineno == 1:
            if event["type"] != "meta":
                return broken("the first line must be the meta event")
            schema = event.get("schema_version")
        if event.get("prev_hash") != prev:
            return broken(
                "prev_hash does not match the previous line (edited, removed or reordered lines)"
            )
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= last_seq:
            return broken(f"seq {seq!r} does not increase")
        last_seq = seq
        last_type = event["type"]
        prev = line_hash(raw)
    if lineno == 0:
        return ChainReport(ok=False, lines=0, broken_line=None, reason="the ledger is empty")
    return ChainReport(
        ok=True, lines=lineno, last_hash=prev, complete=last_type == "footer", schema=schema
    )


SealState = Literal["sealed", "incomplete", "unsealed", "older", "broken"]


@dataclass(frozen=True)
class LedgerVerdict:
    """What the chain and the seal together say about a ledger.

    sealed: finished, and its head is the one recorded. incomplete: no footer yet (an interrupted
    run; resume seals it). unsealed: a footer but no seal recorded (the run stopped between its last
    two writes, or manifest.json was edited; resume seals it). older: finished by a PUMA before
    the seal (a warning). broken: an edited, removed or added line (`line` names it)."""

    state: SealState
    report: ChainReport
    message: str
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.state != "broken"

    @property
    def finished(self) -> bool:
        """Its footer is written and nothing says it was altered: fit to evaluate and package."""
        return self.state in ("sealed", "older")


def judge_ledger(path: Path, seal: LedgerSeal | None) -> LedgerVerdict:
    """Verify the chain, then the head against the seal that manifest.json records (or None)."""
    report = verify_chain(path)
    if not report.ok:
        return LedgerVerdict(
            "broken", report, f"the hash chain is broken: {report.reason}", report.broken_line
        )
    n = report.lines
    if seal is not None:
        if n > seal.lines or (n == seal.lines and report.partial_tail):
            at = seal.lines + 1
            return LedgerVerdict(
                "broken",
                report,
                f"line {at} comes after the sealed head (line {seal.lines}, recorded in "
                "manifest.json): lines were added after the run ended",
                at,
            )
        if n < seal.lines:
            at = n + 1 if report.partial_tail else n
            return LedgerVerdict(
                "broken",
                report,
                f"the ledger ends at line {at}{' (cut short)' if report.partial_tail else ''} "
                f"but its sealed head is line {seal.lines} (manifest.json): its last lines "
                "were removed or cut",
                at,
            )
        if report.last_hash != seal.head:
            return LedgerVerdict(
                "broken",
                report,
                f"line {n} is not the sealed head recorded in manifest.json "
                f"({seal.head[:12]}…): the last line was edited",
                n,
            )
        return LedgerVerdict("sealed", report, f"sealed (head {seal.head[:12]}… in manifest.json)")
    if not report.complete:
        tail = " (its last line is half-written: resume cuts it off)" if report.partial_tail else ""
        return LedgerVerdict(
            "incomplete", report, f"unsealed: the run did not finish, no footer yet{tail}"
        )
    if report.schema in UNSEALED_SCHEMAS:
        return LedgerVerdict(
            "older",
            report,
            "no seal recorded (written by an older PUMA): its last line is unchecked",
        )
    return LedgerVerdict(
        "unsealed",
        report,
        "unsealed: the footer is written but manifest.json records no seal (the run stopped "
        "before its last write, or manifest.json was edited)",
    )


def read_sealed_ledger(path: Path, seal: LedgerSeal | None) -> list[LedgerEvent] | None:
    """The events of a finished ledger whose chain and seal verify, read in one pass (each line
    validated straight from its bytes, hashed, chained): what `judge_ledger` then `read_ledger`
    give for a sealed ledger, five times faster, for readers of thousands of ledgers (the
    catalogue). None whenever anything is not that clean case (no seal, a break, a partial
    line, an invalid line): call judge_ledger for the verdict and its message."""
    if seal is None:
        return None
    events: list[LedgerEvent] = []
    prev: str | None = None
    last_seq = -1
    try:
        with path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return None
                event = _EVENT.validate_json(raw)
                if event.prev_hash != prev or event.seq <= last_seq:
                    return None
                if not events and not isinstance(event, MetaEvent):
                    return None
                events.append(event)
                prev = line_hash(raw)
                last_seq = event.seq
    except (OSError, ValidationError):
        return None
    if not events or not isinstance(events[-1], FooterEvent):
        return None
    if len(events) != seal.lines or prev != seal.head:
        return None
    return events
