"""EleutherAI's lm-evaluation-harness: `lm_eval --log_samples --output_path DIR` writes, per model
folder, `results_<timestamp>.json` (the reported figures, the config, the version) and one
`samples_<task>_<timestamp>.jsonl` per task (one line per document and filter, holding each
per-sample metric under its name). A log is one results file and the samples files of its
timestamp. Field mapping: docs/commands/import.md.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from puma.errors import InputFileError
from puma.hashing import sha256_hex
from puma.importers.base import LogReader, ToolLog, ToolMetric, ToolSample, register_reader
from puma.jsonio import iter_jsonl, parse_json

SUPPORTED = re.compile(r"^0\.4\.\d+")
_RESULTS = re.compile(r"^results_(?P<ts>.+)\.json$")
_SAMPLES = re.compile(r"^samples_(?P<task>.+)_(?P<ts>[^_]+)\.jsonl$")
# Keys of a task's entry in "results" that are not metrics.
_NOT_METRICS = {"alias", "name", "sample_len", "sample_count", " "}
# lm-eval's aggregation for the metrics it does not average (its api/metrics.py); any other
# metric whose config names no aggregation is a mean of its per-sample values.
_CORPUS_AGGREGATION = {"mcc": "mcc", "f1": "f1"}


def _read_file(path: Path) -> tuple[bytes, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror}", where=str(path)) from None
    return raw, parse_json(raw, path)


@register_reader
class LmEvalReader(LogReader):
    tool = "lm-eval"
    display_name = "lm-evaluation-harness"
    tested_versions = "0.4.13"

    def discover(self, path: Path) -> list[Path]:
        if path.is_dir():
            found = sorted(path.rglob("results_*.json"))
            if not found:
                raise InputFileError(
                    "no lm-evaluation-harness results_<timestamp>.json under this folder",
                    where=str(path),
                    hint="pass the --output_path folder of `lm_eval --log_samples`",
                )
            return found
        if not path.is_file():
            raise InputFileError("no such file or folder", where=str(path))
        if _RESULTS.match(path.name):
            return [path]
        samples = _SAMPLES.match(path.name)
        if samples:
            results = path.with_name(f"results_{samples['ts']}.json")
            if not results.is_file():
                raise InputFileError(
                    f"no {results.name} beside this samples file: lm-eval writes both, and the "
                    "results file names the model, the version and the reported figures",
                    where=str(path),
                )
            return [results]
        raise InputFileError(
            "not an lm-evaluation-harness log: expected results_<timestamp>.json or "
            "samples_<task>_<timestamp>.jsonl",
            where=str(path),
            hint=_other_tool_hint(path),
        )

    def read(self, path: Path) -> ToolLog:
        raw, data = _read_file(path)
        where = str(path)
        if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
            raise InputFileError(
                "not an lm-evaluation-harness results file (no 'results' object)",
                where=where,
                hint=_other_tool_hint(path),
            )
        version = data.get("lm_eval_version")
        if not isinstance(version, str) or not SUPPORTED.match(version):
            raise InputFileError(
                f"written by lm-evaluation-harness {version or '(version not recorded)'}; "
                f"PUMA reads logs of 0.4.x (tested with {self.tested_versions})",
                where=where,
            )
        stamp = _RESULTS.match(path.name)
        if stamp is None:
            raise InputFileError("a results file is named results_<timestamp>.json", where=where)
        model = _model_name(data, where)
        samples: list[ToolSample] = []
        reported: list[ToolMetric] = []
        extra: list[tuple[Path, str]] = []
        results: dict[str, Any] = data["results"]
        groups = set(data.get("group_subtasks") or {})
        for task in sorted(results):
            file = path.with_name(f"samples_{task}_{stamp['ts']}.jsonl")
            if not file.is_file():
                if task in groups:
                    continue  # a group's figure aggregates its subtasks' samples
                raise InputFileError(
                    f"task {task!r} has no samples file {file.name}",
                    where=where,
                    hint="run lm_eval with --log_samples and keep the samples files beside it",
                )
            extra.append((file, sha256_hex(file.read_bytes())))
            samples.extend(_samples(file, task))
            reported.extend(_reported(data, task, where))
        if not samples:
            raise InputFileError(
                "no samples: the log holds no per-sample results",
                where=where,
                hint="run lm_eval with --log_samples",
            )
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        seed = config.get("random_seed") if isinstance(config, dict) else None
        created = data.get("date")
        return ToolLog(
            tool=self.display_name,
            tool_version=version,
            path=path,
            sha256=sha256_hex(raw),
            model=model,
            samples=samples,
            reported=reported,
            created=None if created is None else str(created),
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            generation=_generation(data),
            extra_files=extra,
        )


def _other_tool_hint(path: Path) -> str | None:
    if path.suffix == ".eval" or (path.name.endswith(".json") and not path.name.startswith("res")):
        return "an Inspect log? use `puma import inspect`"
    return None


def _model_name(data: dict[str, Any], where: str) -> str:
    name = data.get("model_name")
    if isinstance(name, str) and name:
        return name
    args = (data.get("config") or {}).get("model_args")
    if isinstance(args, dict):
        for key in ("model", "pretrained", "path"):
            if isinstance(args.get(key), str):
                return str(args[key])
    if isinstance(args, str):
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() in ("model", "pretrained", "path") and value:
                return value.strip()
    raise InputFileError(
        "the results file names no model (model_name, config.model_args)", where=where
    )


def _generation(data: dict[str, Any]) -> dict[str, Any]:
    configs = data.get("configs")
    out: dict[str, Any] = {}
    if isinstance(configs, dict):
        for task, config in sorted(configs.items()):
            if isinstance(config, dict) and isinstance(config.get("generation_kwargs"), dict):
                out[task] = config["generation_kwargs"]
    return out


def _samples(path: Path, task: str) -> list[ToolSample]:
    out = []
    for lineno, obj in iter_jsonl(path):
        where = f"{path}:{lineno}"
        doc_id = obj.get("doc_id")
        if isinstance(doc_id, bool) or not isinstance(doc_id, int | str):
            raise InputFileError("doc_id is missing or not a number", where=where)
        names = obj.get("metrics")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputFileError("'metrics' (the per-sample metric names) is missing", where=where)
        filter_name = obj.get("filter", "none")
        if not isinstance(filter_name, str):
            raise InputFileError("'filter' is not text", where=where)
        missing = [n for n in names if n not in obj]
        if missing:
            raise InputFileError(f"metric {missing[0]!r} is listed but has no value", where=where)
        out.append(
            ToolSample(
                task=task,
                item=str(doc_id),
                # lm-eval's `repeats` keep every response in one line, scored once.
                epoch=0,
                answer=_answer(obj.get("filtered_resps")),
                target=_text(obj.get("target")),
                scores={f"{n},{filter_name}": obj[n] for n in names},
                prompt_hash=obj.get("prompt_hash")
                if isinstance(obj.get("prompt_hash"), str)
                else None,
            )
        )
    return out


def _answer(responses: Any) -> str | None:
    """The answer lm-eval scored: the (filtered) generated text, or for a multiple-choice task
    the index of the choice with the highest log-likelihood."""
    if not isinstance(responses, list) or not responses:
        return None
    first = responses[0]
    if isinstance(first, str):
        return first
    if isinstance(first, list) and all(isinstance(r, list) and r for r in responses):
        scores = [r[0] if isinstance(r[0], int | float) else -math.inf for r in responses]
        return str(max(range(len(scores)), key=scores.__getitem__))
    return _text(first)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


def _reported(data: dict[str, Any], task: str, where: str) -> list[ToolMetric]:
    entry = data["results"][task]
    if not isinstance(entry, dict):
        raise InputFileError(f"results.{task} is not an object", where=where)
    aggregations = _aggregations(data, task)
    better = ((data.get("higher_is_better") or {}).get(task)) or {}
    out = []
    for key, value in sorted(entry.items()):
        name, _, filter_name = key.partition(",")
        if key in _NOT_METRICS or name.endswith("_stderr") or not filter_name:
            continue
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        out.append(
            ToolMetric(
                task=task,
                name=key,
                score=key,
                aggregation=aggregations.get(name, _CORPUS_AGGREGATION.get(name, "mean")),
                value=None if number is None or not math.isfinite(number) else float(number),
                higher_is_better=bool(better.get(name, True)),
            )
        )
    return out


def _aggregations(data: dict[str, Any], task: str) -> dict[str, str]:
    config = (data.get("configs") or {}).get(task) or {}
    out: dict[str, str] = {}
    for item in config.get("metric_list") or []:
        if isinstance(item, dict) and isinstance(item.get("metric"), str):
            aggregation = item.get("aggregation")
            if isinstance(aggregation, str):
                out[item["metric"]] = {"matthews_corrcoef": "mcc", "f1_score": "f1"}.get(
                    aggregation, aggregation
                )
    return out
