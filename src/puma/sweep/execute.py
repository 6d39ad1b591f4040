"""Running a sweep's shards: on a process pool here (`local`) or as Ray tasks (`ray`), each
declaring its resources; results pulled back, written at their local paths and verified.

Failures are sorted by kind. Transient (a runtime blip, a worker that died or was preempted):
the shard is retried with exponential backoff up to `worker.retries`. Deterministic (bad spec,
missing model, wrong environment): that shard fails at once with its message, the others go
on. Out of memory: reported with the shard's declared resources. No shard is ever cancelled
because its status was slow to arrive: the driver polls only to refresh the progress view and
waits for every shard as long as it runs. Interrupted, the sweep keeps what is complete and
verified; running it again runs only the rest.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from puma.errors import CheckFailed, InputFileError, Interrupted, PumaError, SpecError
from puma.outputs import write_files
from puma.sweep.model import SHARD_RECORD, Resources, SweepFile
from puma.sweep.plan import Shard, SweepPlan
from puma.sweep.record import ShardRecord, verify_arrived
from puma.sweep.worker import ShardResult

ExecutorKind = Literal["local", "ray"]
ShardFunction = Callable[[Shard, dict[str, Any]], ShardResult]
State = Literal["complete", "queued", "running", "retrying", "done", "failed", "oom"]
POLL_S = 0.5  # how often the progress view refreshes; never a deadline for a shard
BACKOFF_CAP_S = 300.0


@dataclass
class ShardState:
    shard: Shard
    state: State = "queued"
    attempts: int = 0
    message: str = ""
    not_before: float = 0.0  # monotonic time of the next attempt after a transient fault

    @property
    def finished(self) -> bool:
        return self.state in ("complete", "done", "failed", "oom")


@dataclass(frozen=True)
class SweepEvent:
    shard: Shard
    state: State
    attempt: int
    message: str = ""


@dataclass
class SweepOutcome:
    plan: SweepPlan
    states: list[ShardState] = field(default_factory=list)

    @property
    def failed(self) -> list[ShardState]:
        return [s for s in self.states if s.state in ("failed", "oom")]

    @property
    def ran(self) -> list[ShardState]:
        return [s for s in self.states if s.state == "done"]

    @property
    def reused(self) -> list[ShardState]:
        return [s for s in self.states if s.state == "complete"]

    def raise_if_failed(self) -> None:
        if not self.failed:
            return
        lines = [f"shard {s.shard.short} ({_label(s.shard)}): {s.message}" for s in self.failed]
        raise CheckFailed(
            f"{len(self.failed)} of {len(self.states)} shard(s) failed:\n  " + "\n  ".join(lines),
            where=str(self.plan.source),
            hint="`puma sweep run FILE --only SHARD` runs one again; complete shards are kept",
        )


def _label(shard: Shard) -> str:
    return f"{shard.model}/{shard.configuration}/seed {shard.seed}/{shard.suite}"


def shard_complete(shard: Shard) -> tuple[bool, str]:
    """Whether the shard's artifacts are here and verify against its shard.json (and why not)."""
    record_path = shard.local_record
    if not record_path.is_file():
        return False, "not run yet"
    try:
        record = ShardRecord.load(record_path)
        verify_arrived(shard.identity, record, _arrived(shard), _required(shard))
    except PumaError as exc:
        return False, exc.message
    return True, ""


def _arrived(shard: Shard) -> dict[str, Path]:
    return {a.remote_path: a.local_path for a in shard.artifacts}


def _required(shard: Shard) -> set[str]:
    return {a.remote_path for a in shard.artifacts if a.required}


def deliver(shard: Shard, result: ShardResult) -> None:
    """Write the artifacts a worker handed back at their local paths (shard.json last, so a
    folder with a shard.json had every file written), then verify them: CheckFailed names the
    shard and the path of a missing or mismatching required artifact."""
    by_remote = {a.remote_path: a for a in shard.artifacts}
    record_key = next(a.remote_path for a in shard.artifacts if a.remote_name == SHARD_RECORD)
    if record_key not in result.files:
        raise CheckFailed(
            f"shard {shard.short}: its {SHARD_RECORD} did not arrive",
            where=str(shard.local_record),
            hint=f"`puma sweep run FILE --only {shard.short}` runs it again",
        )
    payload = {
        by_remote[name].local_path: data
        for name, data in result.files.items()
        if name in by_remote and name != record_key
    }
    for path in payload:
        path.parent.mkdir(parents=True, exist_ok=True)
    shard.local_record.unlink(missing_ok=True)  # an old record must not vouch for new files
    write_files(payload)
    write_files({shard.local_record: result.files[record_key]})
    record = ShardRecord.load(shard.local_record)
    verify_arrived(shard.identity, record, _arrived(shard), _required(shard))


class Executor(Protocol):
    def submit(self, shard: Shard, environment: dict[str, Any]) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, ShardResult]]: ...

    def close(self) -> None: ...


def resolve_entry(entry: str) -> ShardFunction:
    """The worker function a sweep names as module:function."""
    module_name, _, name = entry.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise SpecError(f"worker.entry {entry!r} cannot be loaded: {exc}") from None
    if not callable(function):
        raise SpecError(f"worker.entry {entry!r} is not a function")
    return function  # type: ignore[no-any-return]


class LocalExecutor:
    """A process pool on this machine. A worker that dies breaks the pool: every shard then in
    flight comes back as a transient fault and a fresh pool takes the retries."""

    def __init__(self, function: ShardFunction, jobs: int):
        self._function, self._jobs = function, jobs
        self._pool = self._new_pool()

    def _new_pool(self) -> futures.ProcessPoolExecutor:
        # spawn: llama.cpp's threads and a forked child do not mix
        context = multiprocessing.get_context("spawn")
        return futures.ProcessPoolExecutor(max_workers=self._jobs, mp_context=context)

    def submit(self, shard: Shard, environment: dict[str, Any]) -> Any:
        return (shard, self._pool.submit(self._function, shard, environment))

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, ShardResult]]:
        done, _ = futures.wait([f for _, f in handles], timeout, futures.FIRST_COMPLETED)
        results: list[tuple[Any, ShardResult]] = []
        broken = False
        for handle in handles:
            shard, future = handle
            if future not in done:
                continue
            try:
                results.append((handle, future.result()))
            except futures.process.BrokenProcessPool:
                broken = True
                results.append((handle, _died(shard)))
            except Exception as exc:  # the function raised: a bug in a custom entry
                results.append((handle, ShardResult(shard.identity, "deterministic", repr(exc))))
        if broken:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _died(shard: Shard, detail: str = "") -> ShardResult:
    message = "the worker process died (killed, preempted or crashed)"
    return ShardResult(shard.identity, "transient", f"{message}{': ' + detail if detail else ''}")


def _call_shard(function: ShardFunction, shard: Shard, environment: dict[str, Any]) -> ShardResult:
    return function(shard, environment)


class RayExecutor:
    """Each shard a Ray task declaring num_cpus, num_gpus and memory, so packing shards onto
    GPUs is Ray's job. Ray's own retries are off: the failure's kind decides (see module)."""

    def __init__(self, function: ShardFunction, resources: Resources, address: str | None):
        try:
            import ray
        except ImportError:
            raise SpecError(
                "the Ray executor needs ray", hint="pip install 'puma-bench[sweep]'"
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise InputFileError(
                    f"cannot reach the Ray cluster: {exc}", where=address or "local Ray"
                ) from None
        options: dict[str, Any] = {
            "num_cpus": resources.num_cpus,
            "num_gpus": resources.num_gpus,
            "max_retries": 0,
        }
        if resources.memory_mb:
            options["memory"] = resources.memory_mb * 1024 * 1024
        self._remote = ray.remote(_call_shard).options(**options)
        self._function = function

    def submit(self, shard: Shard, environment: dict[str, Any]) -> Any:
        return (shard, self._remote.remote(self._function, shard, environment))

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, ShardResult]]:
        ray = self._ray
        refs = [ref for _, ref in handles]
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        # Everything else that is ready too, without waiting again.
        if done:
            more, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            done = list({*done, *more})
        results: list[tuple[Any, ShardResult]] = []
        for handle in handles:
            shard, ref = handle
            if ref not in done:
                continue
            try:
                results.append((handle, ray.get(ref)))
            except ray.exceptions.OutOfMemoryError as exc:
                results.append((handle, ShardResult(shard.identity, "oom", _first_line(exc))))
            except (
                ray.exceptions.WorkerCrashedError,
                ray.exceptions.NodeDiedError,
                ray.exceptions.ActorDiedError,
                ray.exceptions.ObjectLostError,
                ray.exceptions.RaySystemError,
            ) as exc:
                results.append((handle, _died(shard, _first_line(exc))))
            except ray.exceptions.RayTaskError as exc:  # the function raised: a bug
                results.append((handle, ShardResult(shard.identity, "deterministic", str(exc))))
        return results

    def close(self) -> None:
        if self._owns:
            self._ray.shutdown()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _oom_message(resources: Resources, detail: str) -> str:
    declared = f"num_cpus={resources.num_cpus:g}, num_gpus={resources.num_gpus:g}"
    declared += f", memory={resources.memory_mb} MB" if resources.memory_mb else ", memory=unset"
    return f"out of memory with its declared resources ({declared}): {detail}"


def run_sweep(
    plan: SweepPlan,
    *,
    executor: ExecutorKind = "local",
    address: str | None = None,
    only: str | None = None,
    jobs: int | None = None,
    function: ShardFunction | None = None,
    on_event: Callable[[SweepEvent], None] | None = None,
    poll_s: float = POLL_S,
) -> SweepOutcome:
    """Run every shard that is not complete and verified (or only the one `only` names) and
    deliver its artifacts. `function` replaces the sweep's worker.entry (tests, library use)."""
    sweep = plan.sweep
    shards = [plan.find(only)] if only else list(plan.shards)
    outcome = SweepOutcome(plan)
    notify = on_event or (lambda event: None)
    todo: list[ShardState] = []
    for shard in shards:
        complete, why = shard_complete(shard)
        state = ShardState(shard, "complete" if complete else "queued", message=why)
        outcome.states.append(state)
        notify(SweepEvent(shard, state.state, 0, why))
        if not complete:
            todo.append(state)
    if not todo:
        return outcome
    function = function or resolve_entry(sweep.worker.entry)
    with _executor(executor, function, sweep, address, jobs, len(todo)) as pool:
        _drive(pool, todo, sweep, notify, poll_s)
    return outcome


@contextlib.contextmanager
def _executor(
    kind: ExecutorKind,
    function: ShardFunction,
    sweep: SweepFile,
    address: str | None,
    jobs: int | None,
    n: int,
) -> Iterator[Executor]:
    pool: Executor
    if kind == "ray":
        pool = RayExecutor(function, sweep.resources, address)
    else:
        pool = LocalExecutor(function, max(1, min(n, jobs or os.cpu_count() or 1)))
    try:
        yield pool
    finally:
        pool.close()


def _drive(
    pool: Executor,
    todo: list[ShardState],
    sweep: SweepFile,
    notify: Callable[[SweepEvent], None],
    poll_s: float,
) -> None:
    environment = sweep.environment.model_dump(mode="json")
    running: dict[str, tuple[Any, ShardState]] = {}
    try:
        while True:
            now = time.monotonic()
            for state in todo:
                due = state.state in ("queued", "retrying") and state.not_before <= now
                if due and state.shard.identity not in running:
                    state.attempts += 1
                    state.state = "running"
                    running[state.shard.identity] = (pool.submit(state.shard, environment), state)
                    notify(SweepEvent(state.shard, "running", state.attempts))
            if not running and all(s.finished for s in todo):
                return
            if not running:  # only retries waiting for their backoff
                time.sleep(
                    min(poll_s, max(0.0, min(s.not_before for s in todo if not s.finished) - now))
                )
                continue
            handles = [handle for handle, _ in running.values()]
            for handle, result in pool.wait(handles, poll_s):
                state = running.pop(handle[0].identity)[1]
                _settle(state, result, sweep, notify)
    except KeyboardInterrupt:
        complete = sum(1 for s in todo if s.state == "done")
        raise Interrupted(
            f"interrupted: {complete} of {len(todo)} shard(s) run here are complete and "
            "verified; the others were stopped",
            hint="run the same `puma sweep run` again: it runs only shards not complete",
        ) from None


def _settle(
    state: ShardState, result: ShardResult, sweep: SweepFile, notify: Callable[[SweepEvent], None]
) -> None:
    shard = state.shard
    if result.status == "ok":
        try:
            deliver(shard, result)
        except PumaError as exc:  # loud: the shard is failed, named with the path
            state.state, state.message = "failed", str(exc)
        else:
            state.state, state.message = "done", ""
    elif result.status == "transient" and state.attempts <= sweep.worker.retries:
        delay = min(BACKOFF_CAP_S, sweep.worker.backoff_s * 2 ** (state.attempts - 1))
        state.state, state.message = "retrying", result.message
        state.not_before = time.monotonic() + delay
    elif result.status == "oom":
        state.state, state.message = "oom", _oom_message(sweep.resources, result.message)
    else:
        given_up = result.status == "transient"
        prefix = f"gave up after {state.attempts} attempt(s): " if given_up else ""
        state.state, state.message = "failed", prefix + result.message
    notify(SweepEvent(shard, state.state, state.attempts, state.message))
