"""`--phases`: known names run, unknown ones are refused with the list of what exists."""

from __future__ import annotations

import pytest

from puma.errors import SpecError
from puma.speed.phases import all_phases, quality_available, select_phases

SPEED_PHASES = [
    "speed",
    "parallel-same-model",
    "parallel-mixed-model",
    "context-edge-append",
    "context-edge-suite-only",
]


def test_every_phase_of_the_issue_is_declared_once_with_its_kind() -> None:
    kinds = {p.name: p.kind for p in all_phases()}
    assert {n: kinds[n] for n in SPEED_PHASES} == dict.fromkeys(SPEED_PHASES, "speed")
    assert kinds["small-model-eval"] == kinds["python-tasks"] == "quality"


def test_an_unknown_phase_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(SpecError) as caught:
        select_phases("speed,warp-drive", n_models=1)
    assert "unknown phase 'warp-drive'" in caught.value.message
    assert caught.value.hint is not None
    for name in [*SPEED_PHASES, "small-model-eval", "python-tasks"]:
        assert name in caught.value.hint


def test_a_mixed_model_phase_named_with_one_model_is_refused_with_how_to_fix_it() -> None:
    with pytest.raises(SpecError) as caught:
        select_phases("parallel-mixed-model", n_models=1)
    assert "needs at least 2 models" in caught.value.message
    assert caught.value.hint is not None and "same file twice" in caught.value.hint


def test_all_passes_over_what_cannot_run_here_and_says_why() -> None:
    selection = select_phases("all", n_models=1)
    names = [p.name for p in selection.speed]
    assert names == [n for n in SPEED_PHASES if n != "parallel-mixed-model"]
    over = dict(selection.passed_over)
    assert "parallel-mixed-model" in over
    for quality in ("small-model-eval", "python-tasks"):
        phase = next(p for p in all_phases() if p.name == quality)
        assert (quality in selection.quality) == quality_available(phase)
        assert (quality in over) != quality_available(phase)


def test_all_cannot_be_combined_with_names_and_names_keep_their_order() -> None:
    with pytest.raises(SpecError):
        select_phases("all,speed", n_models=1)
    chosen = select_phases("context-edge-append, speed,speed", n_models=1)
    assert [p.name for p in chosen.speed] == ["context-edge-append", "speed"]
