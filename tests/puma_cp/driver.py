"""Run PUMA 4.0's own community code (puma-cp 4.0.0) from its unpacked wheel.

    python driver.py ROOT hash FILE...        one JSON line per file: puma-cp's predictions hash
                                              ({"sha256": ...}) or the exception it raises
    python driver.py ROOT community ARGS...   `puma community ARGS` exactly as puma-cp runs it

ROOT holds the wheel unpacked under src/ and the profile catalog under config/ (see harness.py).
This runs in its own process: puma-cp's package is also named `puma`. Only the modules the
`validate` and `verify-hash` commands import are loaded; `puma.community`'s __init__ (every
community command, GitHub and Hugging Face clients) is skipped, SQLAlchemy and puma.storage (used
only when puma-cp hashes from its database, never for a file) are stubbed, and the online
schema-drift check of `validate` is turned off (tests have no network to rely on).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path


def load_puma_cp(root: Path) -> None:
    src = root / "src"
    sys.path.insert(0, str(src))
    for name in ("puma", "puma.community", "puma.storage", "puma.ui"):
        package = types.ModuleType(name)
        package.__path__ = [str(src.joinpath(*name.split(".")))]
        sys.modules[name] = package
    stubs: dict[str, dict[str, object]] = {
        "sqlalchemy": {"select": None},
        "sqlalchemy.orm": {"Session": object},
        "puma.storage.models": {"Instance": None, "Prediction": None, "Run": None},
    }
    for name, attributes in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module


def main(argv: list[str]) -> int:
    load_puma_cp(Path(argv[1]))
    from puma.community._community_app import community_app  # type: ignore[import-not-found]

    from puma.community import validate_cli, verify_cli  # type: ignore[import-not-found]

    validate_cli._check_schema_drift = lambda: None
    if argv[2] == "hash":
        for name in argv[3:]:
            try:
                answer = {"sha256": verify_cli.hash_predictions_jsonl(Path(name))}
            except Exception as exc:  # what puma-cp raises is the answer here
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer))
        return 0
    community_app(args=argv[3:], prog_name="puma community")  # exits with the command's code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
