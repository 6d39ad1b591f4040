"""Tiny in-memory suites for scenario tests: realistic items and a labelled example pool.

Suites are frozen, so one instance per session is shared by every test (and Hypothesis example).
"""

from __future__ import annotations

from typing import Any

import pytest

from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS, Suite

_TRIAGE_TEXTS = [
    (
        "NameNode crashes on startup after upgrade",
        "After upgrading to 3.3 the NameNode exits with "
        "a NullPointerException while loading the edit log. The cluster cannot start.",
    ),
    (
        "Balancer ignores the bandwidth setting",
        "With dfs.balance.bandwidthPerSec set to 10MB the "
        "balancer still saturates the network. A restart of the datanodes works around it.",
    ),
    (
        "Log message has a wrong log level",
        "When you decommission a node, the message is logged "
        "at WARN although nothing is wrong. Please lower it to INFO.",
    ),
    ("Typo in the web UI footer", "The footer says 'Copyrigth'. Thanks for fixing it."),
]


def _triage_issue(prefix: str, index: int) -> dict[str, Any]:
    title, description = _TRIAGE_TEXTS[index % len(_TRIAGE_TEXTS)]
    return {
        "instance_id": f"{prefix}-{index}",
        "project": "HDFS",
        "component": "namenode",
        "reporter": f"dev{index}",
        "title": f"{title} ({prefix}{index})",
        "description": description,
        "gold": TRIAGE_LABELS[index % len(TRIAGE_LABELS)],
    }


def _suite(
    task: str, items: list[dict[str, Any]], examples: list[dict[str, Any]], **fields: Any
) -> Suite:
    return Suite(
        id=f"pm-{task}-test",
        version="1",
        task=task,
        content_hash="0" * 64,
        items=tuple(items),
        examples=tuple(examples),
        source="bundled",
        **fields,
    )


@pytest.fixture(scope="session")
def triage_suite() -> Suite:
    return _suite(
        "triage",
        [_triage_issue("HDFS", i) for i in range(4)],
        [_triage_issue("EX", i) for i in range(12)],
        labels=TRIAGE_LABELS,
    )


def _story(prefix: str, index: int) -> dict[str, Any]:
    return {
        "instance_id": f"{prefix}-{index}",
        "project": "MESOS",
        "title": f"As an operator I want to drain agent {index} ({prefix})",
        "description": "Add an endpoint that marks the agent as draining and waits for its tasks "
        "to finish before shutting it down. You should see progress in the UI.",
        "gold": FIBONACCI_POINTS[index % len(FIBONACCI_POINTS)],
    }


@pytest.fixture(scope="session")
def estimation_suite() -> Suite:
    return _suite(
        "estimation",
        [_story("MESOS", i) for i in range(3)],
        [_story("EX", i) for i in range(14)],
    )


def _pair(prefix: str, index: int) -> dict[str, Any]:
    first, second = _triage_issue(prefix + "a", index), _triage_issue(prefix + "b", index + 2)
    for issue in (first, second):
        del issue["instance_id"], issue["gold"]
    return {
        "instance_id": f"{prefix}-pair-{index}",
        "a": first,
        "b": second,
        "gold": PAIR_LABELS[index % 2],
    }


@pytest.fixture(scope="session")
def prioritization_suite() -> Suite:
    return _suite(
        "prioritization",
        [_pair("P", i) for i in range(3)],
        [_pair("EX", i) for i in range(6)],
        labels=PAIR_LABELS,
    )


@pytest.fixture(scope="session")
def suites(
    triage_suite: Suite, estimation_suite: Suite, prioritization_suite: Suite
) -> dict[str, Suite]:
    from puma.suites import load_suite

    return {
        "triage": triage_suite,
        "estimation": estimation_suite,
        "prioritization": prioritization_suite,
        "short-answer": load_suite("small-model-eval"),
        "python-tasks": load_suite("python-tasks"),
    }
