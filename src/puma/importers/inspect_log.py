"""UK AISI's Inspect: `inspect eval` writes one log per task and model, either `.eval` (a zip
archive: header.json plus samples/<id>_epoch_<n>.json, compressed with zstd) or `.json` (one
document with every sample). PUMA reads log format version 2 (Inspect 0.3.x). Each sample's
`scores` maps a scorer to its value; the header's `results.scores` holds the figures Inspect
reported. Field mapping: docs/commands/import.md.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
from pathlib import Path
from typing import Any

from puma.errors import InputFileError
from puma.hashing import sha256_hex
from puma.importers.base import LogReader, ToolLog, ToolMetric, ToolSample, register_reader
from puma.jsonio import parse_json

LOG_VERSION = 2
# Inspect's metrics that average the (epoch-reduced) sample values; its stderr, std, var and
# bootstrap figures are replaced by PUMA's own intervals, not re-derived.
_MEANS = {"accuracy", "mean"}
# Inspect's value_to_float: CORRECT, INCORRECT, PARTIAL, NOANSWER and yes/no words.
_VALUE_WORDS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0, "yes": 1.0, "no": 0.0, "true": 1.0}
_VALUE_WORDS["false"] = 0.0


def score_value(value: Any) -> float | None:
    """A sample's score as Inspect's value_to_float reads it; None when it is no number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        word = _VALUE_WORDS.get(value) or _VALUE_WORDS.get(value.lower())
        if word is not None:
            return word
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


@register_reader
class InspectReader(LogReader):
    tool = "inspect"
    display_name = "inspect"
    tested_versions = "inspect_ai 0.3.285 (log format version 2)"

    def discover(self, path: Path) -> list[Path]:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and (p.suffix == ".eval" or (p.suffix == ".json" and p.name != "logs.json"))
            )
            if not found:
                raise InputFileError(
                    "no Inspect logs (.eval or .json) under this folder", where=str(path)
                )
            return found
        if not path.is_file():
            raise InputFileError("no such file or folder", where=str(path))
        if path.suffix not in (".eval", ".json"):
            raise InputFileError(
                "not an Inspect log: expected a .eval or .json file", where=str(path)
            )
        return [path]

    def read(self, path: Path) -> ToolLog:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None
        if path.suffix == ".eval":
            header, samples = _read_eval_archive(path)
        else:
            header = parse_json(raw, path)
            _check_header(header, path)
            samples = header.get("samples") or []
        return _log(header, samples, path, sha256_hex(raw), self.display_name)


def _check_header(data: Any, path: Path) -> None:
    where = str(path)
    if not isinstance(data, dict) or "eval" not in data or "version" not in data:
        hint = None
        if isinstance(data, dict) and "lm_eval_version" in data:
            hint = "an lm-evaluation-harness results file: use `puma import lm-eval`"
        raise InputFileError("not an Inspect log (no 'version' and 'eval')", where=where, hint=hint)
    if data["version"] != LOG_VERSION:
        raise InputFileError(
            f"Inspect log format version {data['version']!r}; PUMA reads version {LOG_VERSION} "
            "(Inspect 0.3.x)",
            where=where,
            hint="`inspect log convert` of a current Inspect rewrites older logs",
        )
    if not isinstance(data["eval"], dict):
        raise InputFileError("'eval' is not an object", where=where)


def _read_eval_archive(path: Path) -> tuple[dict[str, Any], list[Any]]:
    # Inspect compresses .eval archives with zstd; zipfile_zstd teaches zipfile to read it.
    with contextlib.suppress(ImportError):
        import zipfile_zstd  # type: ignore[import-untyped]  # noqa: F401
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "header.json" not in names:
                raise InputFileError(
                    "not an Inspect .eval archive (no header.json): an unfinished log?",
                    where=str(path),
                )
            header = parse_json(archive.read("header.json"), f"{path}!header.json")
            _check_header(header, path)
            samples = [
                parse_json(archive.read(name), f"{path}!{name}")
                for name in sorted(n for n in names if n.startswith("samples/"))
            ]
    except zipfile.BadZipFile as exc:
        raise InputFileError(
            f"not a readable .eval archive ({exc}): truncated or not an Inspect log",
            where=str(path),
        ) from None
    except NotImplementedError:
        raise InputFileError(
            "this .eval archive uses a compression Python cannot read without `zipfile-zstd`",
            where=str(path),
            hint="pip install zipfile-zstd, or `inspect log convert --to json` the log",
        ) from None
    return header, samples


def _log(header: dict[str, Any], samples: list[Any], path: Path, sha256: str, tool: str) -> ToolLog:
    where = str(path)
    spec = header["eval"]
    task = spec.get("task")
    model = spec.get("model")
    if not isinstance(task, str) or not isinstance(model, str):
        raise InputFileError("eval.task and eval.model must be text", where=where)
    version = (spec.get("packages") or {}).get("inspect_ai")
    if not samples:
        raise InputFileError(
            f"no samples (log status {header.get('status')!r}): the eval kept none",
            where=where,
            hint="run inspect eval with log_samples on (the default) and let it finish",
        )
    parsed = [_sample(s, task, f"{where}: samples[{i}]") for i, s in enumerate(samples)]
    config = spec.get("model_generate_config") or {}
    seed = config.get("seed") if isinstance(config, dict) else None
    return ToolLog(
        tool=tool,
        tool_version=str(version or "unknown"),
        path=path,
        sha256=sha256,
        model=model,
        samples=parsed,
        reported=_reported(header, task, where),
        created=str(spec.get("created")) if spec.get("created") else None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        generation=config if isinstance(config, dict) else {},
    )


def _sample(data: Any, task: str, where: str) -> ToolSample:
    if not isinstance(data, dict):
        raise InputFileError("a sample is not an object", where=where)
    sample_id, epoch = data.get("id"), data.get("epoch", 1)
    if isinstance(sample_id, bool) or not isinstance(sample_id, int | str):
        raise InputFileError("sample id is missing", where=where)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise InputFileError(f"epoch {epoch!r} is not a positive whole number", where=where)
    scores: dict[str, Any] = {}
    for scorer, score in (data.get("scores") or {}).items():
        value = score.get("value") if isinstance(score, dict) else None
        if isinstance(value, dict):  # a scorer with several values: one score each
            scores.update({f"{scorer}.{k}": v for k, v in value.items()})
        else:
            scores[scorer] = value
    output = data.get("output") if isinstance(data.get("output"), dict) else {}
    answer = output.get("completion") if isinstance(output, dict) else None
    target = data.get("target")
    return ToolSample(
        task=task,
        item=str(sample_id),
        epoch=epoch - 1,
        answer=answer if isinstance(answer, str) else None,
        target=" | ".join(map(str, target)) if isinstance(target, list) else _str(target),
        scores=scores,
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _reported(header: dict[str, Any], task: str, where: str) -> list[ToolMetric]:
    results = header.get("results")
    if not isinstance(results, dict):
        return []
    epochs = ((header["eval"].get("config") or {}).get("epochs")) or 1
    out = []
    for entry in results.get("scores") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        reducer = entry.get("reducer")
        note = None
        if epochs > 1 and reducer not in (None, "mean"):
            note = (
                f"Inspect reduced each sample's {epochs} epochs by {reducer!r} before averaging; "
                "PUMA averages every epoch, clustered by sample"
            )
        for metric, figure in sorted((entry.get("metrics") or {}).items()):
            value = figure.get("value") if isinstance(figure, dict) else None
            number = score_value(value) if not isinstance(value, str) else None
            out.append(
                ToolMetric(
                    task=task,
                    name=f"{name}/{metric}",
                    score=name,
                    aggregation="mean" if metric in _MEANS else metric,
                    value=number,
                    note=note,
                )
            )
    return out
