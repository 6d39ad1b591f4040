"""`puma import inspect` on real Inspect logs (both formats; tests/importers/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from puma.evaluate import ScoringOptions
from puma.importers import import_logs

FAST = ScoringOptions(resamples=500, permutations=500)


@pytest.mark.parametrize("name", ["puma_sequences.json", "puma_sequences.eval"])
def test_points_equal_what_inspect_reported(logs: Path, tmp_path: Path, name: str) -> None:
    result = import_logs("inspect", [logs / "inspect" / name], tmp_path / "run", options=FAST)
    assert result.suites == ["puma_sequences/f1", "puma_sequences/includes"]
    compared = [c for c in result.comparisons if c.puma_metric]
    assert {c.metric for c in compared} == {"includes/accuracy", "f1/mean"}
    assert all(c.status == "equal" for c in compared), compared
    # Inspect's stderr is replaced by PUMA's intervals, never passed off as re-derived.
    stderr = [c for c in result.comparisons if c.metric.endswith("/stderr")]
    assert stderr and all(c.status == "not re-derived" for c in stderr)


def test_epochs_are_repetitions_clustered_by_sample(logs: Path, tmp_path: Path) -> None:
    result = import_logs(
        "inspect", [logs / "inspect" / "puma_sequences.json"], tmp_path / "run", options=FAST
    )
    assert result.document is not None
    cells = [c for c in result.document["cells"] if c["cell"]["slice"] is None]
    for cell in cells:
        assert cell["n"] == 8  # items: the bootstrap resamples samples, not epochs
        assert cell["n_rows"] == 16  # two epochs each


def test_binary_scores_get_wilson_and_graded_scores_the_bootstrap(
    logs: Path, tmp_path: Path
) -> None:
    result = import_logs(
        "inspect", [logs / "inspect" / "puma_sequences.json"], tmp_path / "run", options=FAST
    )
    assert result.document is not None
    by_suite = {c["cell"]["suite_id"]: c for c in result.document["cells"]}
    assert by_suite["puma_sequences/includes"]["cell"]["task"] == "imported-binary"
    assert by_suite["puma_sequences/includes"]["metrics"]["score_rate"]["method"] == "wilson"
    assert by_suite["puma_sequences/f1"]["cell"]["task"] == "imported-mean"
    assert by_suite["puma_sequences/f1"]["metrics"]["score_mean"]["method"] != "wilson"


def test_one_model_and_task_in_two_logs_is_refused(logs: Path, tmp_path: Path) -> None:
    from puma.errors import InputFileError

    with pytest.raises(InputFileError, match="also in"):
        import_logs("inspect", [logs / "inspect"], tmp_path / "run", evaluate=False)
