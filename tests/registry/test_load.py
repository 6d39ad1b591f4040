"""Under load, nothing lost: many clients upload at once (some uploads repeated, some tampered),
to `puma registry serve` in a process of its own, over real sockets. Every valid upload is stored
exactly once, every tampered one refused, every request answered, and the log's chain verifies.
Prints uploads/s and the 99th-percentile latency."""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from puma.registry.log import read_log, verify_log
from puma.registry.tokens import issue_token
from registry.conftest import Package, served_registry


@dataclass(frozen=True)
class Planned:
    body: dict[str, Any]
    submission_id: str
    kind: str  # "valid", "repeat" (same bytes again), "tampered", "conflict" (same id, new bytes)


def plan_uploads(base: list[Package], total: int, seed: int = 5) -> list[Planned]:
    """About 70 % new valid uploads, 20 % repeats of them, 10 % tampered, shuffled."""
    rng = random.Random(seed)
    n_tampered = total // 10
    n_repeat = total // 5
    n_valid = total - n_tampered - n_repeat
    valid = []
    for i in range(n_valid):
        package = base[i % len(base)].with_id(str(uuid.UUID(int=rng.getrandbits(128))))
        valid.append(Planned(package.wire(), package.submission_id, "valid"))
    repeats = [Planned(p.body, p.submission_id, "repeat") for p in rng.sample(valid, n_repeat)]
    tampered = []
    for i in range(n_tampered):
        package = base[i % len(base)].with_id(str(uuid.UUID(int=rng.getrandbits(128))))
        # Odd ones are caught by the hash, even ones by re-scoring.
        package = package.with_rows(_flip_first) if i % 2 else package.edited(_inflate)
        tampered.append(Planned(package.wire(), package.submission_id, "tampered"))
    plan = valid + repeats + tampered
    rng.shuffle(plan)
    return plan


def _flip_first(rows: list[dict[str, Any]]) -> None:
    rows[0]["predicted_value"] = 0.123


def _inflate(data: dict[str, Any]) -> None:
    metrics = data["metrics"]
    key = "mae" if metrics.get("mae") is not None else "accuracy"
    metrics[key] = 0.0 if key == "mae" else 1.0


@dataclass
class Outcome:
    planned: Planned
    status: int | None
    seconds: float
    error: str | None = None


def send_all(url: str, tokens: list[str], plan: list[Planned]) -> tuple[list[Outcome], float]:
    """Each client (one thread, one connection pool, one token) takes the next upload."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    queue = iter(enumerate(plan))

    def client(token: str) -> None:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                _, planned = item
                payload = json.dumps(planned.body).encode()
                started = time.perf_counter()
                try:
                    response = http.post(
                        "/api/v1/submissions",
                        content=payload,
                        headers={"Content-Type": "application/json"},
                    )
                    outcome = Outcome(planned, response.status_code, 0.0)
                except httpx.HTTPError as exc:
                    outcome = Outcome(planned, None, 0.0, f"{type(exc).__name__}: {exc}")
                outcome.seconds = time.perf_counter() - started
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=client, args=(token,)) for token in tokens]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def check_nothing_lost(url: str, plan: list[Planned], outcomes: list[Outcome]) -> None:
    assert len(outcomes) == len(plan)
    unanswered = [o for o in outcomes if o.status is None or o.status >= 500]
    assert not unanswered, unanswered[:3]
    by_kind: dict[str, Counter[int | None]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.planned.kind, Counter())[outcome.status] += 1
    assert set(by_kind["tampered"]) == {422}, by_kind
    valid_ids = {p.submission_id for p in plan if p.kind == "valid"}
    created = Counter(o.planned.submission_id for o in outcomes if o.status == 201)
    assert set(created) == valid_ids and set(created.values()) == {1}  # stored exactly once
    assert set(by_kind["repeat"]) | set(by_kind["valid"]) <= {200, 201}

    log = read_log(url)
    verdict = verify_log(log)
    assert verdict.ok, verdict.describe()
    accepted = Counter(e["submission_id"] for e in log if e["action"] == "accept")
    assert set(accepted) == valid_ids and set(accepted.values()) == {1}
    listing = httpx.get(f"{url}/api/v1/submissions", params={"limit": 1000}, timeout=60).json()
    assert listing["total"] == len(valid_ids)


def report(label: str, outcomes: list[Outcome], wall: float) -> tuple[float, float]:
    latencies = sorted(o.seconds for o in outcomes)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    rate = len(outcomes) / wall
    print(
        f"\n{label}: {len(outcomes)} uploads in {wall:.1f} s = {rate:.1f} uploads/s; latency "
        f"median {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    return rate, p99


def run_load(
    database_url: str, base: list[Package], *, total: int, clients: int, label: str
) -> None:
    tokens = [issue_token(database_url, f"client-{i}").token for i in range(clients)]
    plan = plan_uploads(base, total)
    with served_registry("--database-url", database_url, "--uploads-per-minute", "1e5") as url:
        outcomes, wall = send_all(url, tokens, plan)
        check_nothing_lost(url, plan, outcomes)
        # Same id, new bytes, after the fact: a conflict, nothing appended.
        first_valid = next(p for p in plan if p.kind == "valid")
        changed = json.loads(json.dumps(first_valid.body))
        changed["files"]["submission"] = changed["files"]["submission"].replace("{", "{ ", 1)
        response = httpx.post(
            f"{url}/api/v1/submissions",
            json=changed,
            headers={"Authorization": f"Bearer {tokens[0]}"},
            timeout=60,
        )
        assert response.status_code == 409
        assert len(read_log(url)) == len({p.submission_id for p in plan if p.kind == "valid"})
    report(label, outcomes, wall)


def test_concurrent_uploads_on_sqlite_lose_nothing(sqlite_url: str, base_packages: list[Package]):
    run_load(sqlite_url, base_packages, total=60, clients=8, label="SQLite, 8 clients")


@pytest.mark.slow
def test_500_uploads_from_20_clients_on_postgresql_lose_nothing(
    postgres_database: str, base_packages: list[Package]
):
    run_load(
        postgres_database, base_packages, total=500, clients=20, label="PostgreSQL, 20 clients"
    )
