"""The real tools, end to end: lm-evaluation-harness and Inspect (installed by the dev extra) run a
tiny local task against a real `llama_cpp.server` serving the embedded model, and PUMA imports
the logs they just wrote. Slow: it starts a server and both tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tool_runs import run_inspect, run_lm_eval

from puma.evaluate import ScoringOptions
from puma.importers import import_logs
from runtimes.runtime_fakes import LlamaServer

pytestmark = pytest.mark.slow
FAST = ScoringOptions(resamples=300, permutations=300)


@pytest.fixture(scope="module")
def server(embedded_model_path: Path) -> Iterator[LlamaServer]:
    running = LlamaServer(embedded_model_path).start()
    yield running
    running.stop()


def test_lm_eval_logs_import_with_the_points_it_reported(
    server: LlamaServer, tmp_path: Path
) -> None:
    folders = [
        run_lm_eval(server.url, tmp_path / name, name, max_tokens=tokens, limit=4)
        for name, tokens in (("gemma-a", 6), ("gemma-b", 1))
    ]
    result = import_logs("lm-eval", folders, tmp_path / "run", options=FAST)
    assert result.models == ["gemma-a", "gemma-b"]
    compared = [c for c in result.comparisons if c.puma_metric]
    assert compared and all(c.status == "equal" for c in compared), compared
    assert result.document is not None and result.document["comparisons"]


@pytest.mark.parametrize("log_format", ["eval", "json"])
def test_inspect_logs_import_with_the_points_it_reported(
    server: LlamaServer, tmp_path: Path, log_format: str
) -> None:
    logs = run_inspect(server.url, tmp_path / "inspect", "gemma3-270m", epochs=2,
                       log_format=log_format)  # fmt: skip
    result = import_logs("inspect", [logs], tmp_path / "run", options=FAST)
    compared = [c for c in result.comparisons if c.puma_metric]
    assert {c.metric for c in compared} == {"includes/accuracy", "f1/mean"}
    assert all(c.status == "equal" for c in compared), compared
