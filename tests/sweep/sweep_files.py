"""Sweep files for the tests (imported by the tests as `sweep_files`, a name no other test
folder uses), written under tmp_path: the embedded model under one or two
names, a few seeds, the triage suite limited to a few items; every path absolute inside
tmp_path (local artifacts under out/, the workers' folders under workers/)."""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

FILES = (
    "manifest.json",
    "run.jsonl",
    "predictions.jsonl",
    "predictions_full.parquet",
    "shard.json",
)
WriteSweep = Callable[..., Path]


def sweep_document(
    root: Path,
    *,
    seeds: Sequence[int] = (1, 2),
    models: Sequence[dict[str, Any]] | None = None,
    configurations: Sequence[dict[str, Any]] | None = None,
    limit: int = 3,
    resources: dict[str, Any] | None = None,
    worker: dict[str, Any] | None = None,
    packages: dict[str, str] | None = None,
    **top: Any,
) -> dict[str, Any]:
    local = f"{root}/out/{{model}}/{{configuration}}/seed-{{seed}}/{{suite}}"
    document: dict[str, Any] = {
        "name": "test-sweep",
        "template": {"generation": {"temperature": 0, "max_tokens": 4}},
        "matrix": {
            "models": list(
                models
                or [{"name": "gemma", "runtime": {"kind": "embedded", "model": "embedded-default"}}]
            ),
            "seeds": list(seeds),
            "suites": [{"id": "pm-triage", "limit": limit}],
        },
        "remote_root": f"{root}/workers/{{shard}}",
        "artifacts": [
            {
                "label": name.split(".")[0].replace("_", "-"),
                "remote_path": name,
                "local_path": f"{local}/{name}",
            }
            for name in FILES
        ],
        "environment": {
            "python": ".".join(platform.python_version_tuple()[:2]),
            "packages": packages or {},
        },
        "worker": {"retries": 3, "backoff_s": 0.05, **(worker or {})},
        **top,
    }
    if configurations is not None:
        document["matrix"]["configurations"] = list(configurations)
    if resources is not None:
        document["resources"] = resources
    return document
