"""From a spec entry or a reference to the Suite a run uses: bundled or local, then `subset` and
`limit`.

The selected Suite keeps the full suite's content hash (it names the data, not the selection);
`selection_record` describes the selection for the run manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from puma.errors import SuiteError
from puma.hashing import sha256_hex
from puma.spec import SuiteSpec
from puma.suites.bundled import MANIFEST_NAME, load_bundled_suite, load_suite_folder
from puma.suites.local import load_local_suite
from puma.suites.model import Suite


def load_suite(ref: str) -> Suite:
    """A suite by reference: a bundled id (`pm-triage`), a suite folder holding suite.json, or a
    local Jira/TAWOS data file (its format told by its columns).

    A bare id is always a bundled suite, even if a folder of that name exists here."""
    path = Path(ref).expanduser()
    looks_like_path = path.name != ref or bool(path.suffix)
    if looks_like_path and path.is_file():
        return load_local_suite(path)
    if looks_like_path and (path / MANIFEST_NAME).is_file():
        return load_suite_folder(path)
    return load_bundled_suite(ref)


def resolve_suite(spec: SuiteSpec, *, base_dir: Path | None = None) -> Suite:
    """Load the suite a spec entry names and apply its subset and limit.

    A relative local path is taken relative to `base_dir` (the spec file's folder) when given."""
    if spec.id == "local":
        if spec.format is None:
            raise SuiteError("a local suite needs 'path' and 'format' (jira or tawos)")
        suite = load_local_suite(local_suite_path(spec, base_dir), spec.format, spec.columns)
    else:
        suite = load_bundled_suite(spec.id)
    return select_items(suite, subset=spec.subset, limit=spec.limit)


def local_suite_path(spec: SuiteSpec, base_dir: Path | None = None) -> Path:
    """Where a local suite entry's data is: its path, relative to `base_dir` (the spec file's
    folder) unless absolute."""
    if spec.path is None:
        raise SuiteError("a local suite needs 'path' and 'format' (jira or tawos)")
    path = Path(spec.path).expanduser()
    return base_dir / path if base_dir is not None and not path.is_absolute() else path


def select_items(
    suite: Suite, *, subset: Sequence[str] | None = None, limit: int | None = None
) -> Suite:
    """Keep the items whose ids are in `subset` (file order), then the first `limit` of them.

    An id that is not a test item raises SuiteError (an example id is named as such)."""
    items = suite.items
    if subset is not None:
        wanted = set(subset)
        present = {item["instance_id"] for item in items}
        missing = [i for i in dict.fromkeys(subset) if i not in present]
        if missing:
            examples = {e["instance_id"] for e in suite.examples}
            what = "a few-shot example, not a test item" if missing[0] in examples else "unknown"
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise SuiteError(
                f"subset id {missing[0]!r} is {what}{more}",
                where=f"suite {suite.id}",
                hint="list the ids of items.jsonl; `puma suites show ID` prints one",
            )
        items = tuple(item for item in items if item["instance_id"] in wanted)
    if limit is not None:
        if limit < 1:
            raise SuiteError(f"limit must be at least 1, got {limit}", where=f"suite {suite.id}")
        items = items[:limit]
    if items is suite.items:
        return suite
    return suite.model_copy(update={"items": items})


def selection_record(selected: Suite, spec: SuiteSpec) -> dict[str, Any]:
    """What a run manifest records about a selection: the spec's subset and limit, how many items
    were kept, and the SHA-256 of the kept ids (one per line, in file order)."""
    ids = [str(item["instance_id"]) for item in selected.items]
    return {
        "suite_id": selected.id,
        "content_hash": selected.content_hash,
        "subset": list(spec.subset) if spec.subset is not None else None,
        "limit": spec.limit,
        "items_selected": len(ids),
        "selected_ids_hash": sha256_hex("\n".join(ids)),
    }
