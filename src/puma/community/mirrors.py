"""Mirror channels: the catalogue exported as a data set and uploaded with each service's client.

The export (`<catalogue>/mirror/<channel>/`) holds the catalogue's `data/*.parquet` and a data-set
card: README.md with Hugging Face's YAML front matter, `zenodo.json` (Zenodo's deposition
metadata), `dataset-metadata.json` (Kaggle's). Uploads: Hugging Face with huggingface_hub's
`HfApi.upload_folder` (HF_ENDPOINT overrides the hub); Zenodo through its REST deposition API,
left as a draft for a person to publish (PUMA_ZENODO_URL overrides zenodo.org); Kaggle with the
`kaggle` package when it is installed, and otherwise the export and the command to run.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from puma import __version__
from puma.community.http import expect_success, request
from puma.community.publish import Prepared, PublishOutcome
from puma.errors import RemoteUnavailable
from puma.jsonio import write_json, write_text_atomic
from puma.outputs import prepare_output_folder

LICENSE = "cc-by-4.0"
TITLE = "PUMA community benchmark results"
DESCRIPTION = (
    "Runs of local language models on contributors' own hardware, benchmarked with PUMA: "
    "quality on project-management tasks and speed, each run re-verified from its ledger. "
    "One row per run (runs.parquet) and per cell of device and model (cells.parquet)."
)
HF_DATASET = "pumacp/puma-community"
ZENODO_URL = "https://zenodo.org"
KEYWORDS = ["llm", "benchmark", "local-inference", "project-management", "puma"]


def export_dataset(prepared: Prepared, channel: str, env: Mapping[str, str]) -> Path:
    """Copy the catalogue's tables and write the three cards; the folder is what is uploaded."""
    import pyarrow.parquet as pq

    out = prepared.folder / "mirror" / channel
    if out.exists():
        shutil.rmtree(out)
    prepare_output_folder(out)
    tables: dict[str, list[tuple[str, str, str]]] = {}
    for path in sorted((prepared.folder / "data").glob("*.parquet")):
        shutil.copyfile(path, out / path.name)
        tables[path.name] = [
            (f.name, str(f.type), _description(f.metadata)) for f in pq.read_schema(path)
        ]
    write_text_atomic(out / "README.md", huggingface_card(tables))
    write_json(out / "zenodo.json", zenodo_metadata())
    write_json(out / "dataset-metadata.json", kaggle_metadata(tables, _kaggle_id(env)))
    return out


def _description(metadata: dict[bytes, bytes] | None) -> str:
    """A column's description as the catalogue declares it (Parquet field metadata)."""
    text = (metadata or {}).get(b"description", b"").decode("utf-8", "replace").strip()
    return text or "(no description in the data)"


def huggingface_card(tables: dict[str, list[tuple[str, str, str]]]) -> str:
    configs = "".join(
        f"- config_name: {name.removesuffix('.parquet')}\n  data_files: {name}\n" for name in tables
    )
    lines = [
        "---",
        f"license: {LICENSE}",
        f"pretty_name: {TITLE}",
        "tags:",
        *(f"- {k}" for k in KEYWORDS),
        "configs:",
        configs.rstrip("\n"),
        "---",
        "",
        f"# {TITLE}",
        "",
        DESCRIPTION,
        "",
        f"Exported by PUMA {__version__}. Licence: CC-BY-4.0.",
        "",
    ]
    for name, columns in tables.items():
        lines += [f"## {name}", "", "| column | type | description |", "|---|---|---|"]
        lines += [f"| `{c}` | {t} | {d.replace('|', '/')} |" for c, t, d in columns]
        lines.append("")
    return "\n".join(lines)


def zenodo_metadata() -> dict[str, Any]:
    return {
        "metadata": {
            "title": TITLE,
            "upload_type": "dataset",
            "description": DESCRIPTION,
            "creators": [{"name": "PUMA community contributors"}],
            "license": LICENSE,
            "keywords": KEYWORDS,
            "version": __version__,
            "access_right": "open",
        }
    }


def kaggle_metadata(
    tables: dict[str, list[tuple[str, str, str]]], dataset_id: str
) -> dict[str, Any]:
    return {
        "title": TITLE,
        "id": dataset_id,
        "subtitle": "Local LLM quality and speed, re-verified",
        "description": DESCRIPTION,
        "licenses": [{"name": "CC-BY-4.0"}],
        "keywords": KEYWORDS,
        "resources": [
            {
                "path": name,
                "description": f"the catalogue's {name.removesuffix('.parquet')} table",
                "schema": {
                    "fields": [{"name": c, "type": t, "description": d} for c, t, d in columns]
                },
            }
            for name, columns in tables.items()
        ],
    }


def _kaggle_id(env: Mapping[str, str]) -> str:
    owner = env.get("KAGGLE_USERNAME", "pumacp")
    return env.get("PUMA_KAGGLE_DATASET", f"{owner}/puma-community")


def upload_huggingface(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    out = export_dataset(prepared, "huggingface", env)
    repo = env.get("PUMA_HF_DATASET", HF_DATASET)
    api = HfApi(endpoint=env.get("HF_ENDPOINT") or None, token=env["HF_TOKEN"])
    try:
        commit = api.upload_folder(
            folder_path=out,
            repo_id=repo,
            repo_type="dataset",
            commit_message=f"PUMA catalogue export ({prepared.summary})",
        )
    except (HfHubHTTPError, OSError) as exc:
        raise RemoteUnavailable(f"Hugging Face: {exc}") from exc
    return PublishOutcome(
        "huggingface", repo, str(getattr(commit, "commit_url", repo)), {"export": str(out)}
    )


def upload_zenodo(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    """Create a deposition, put each file into its bucket, set its metadata. Not published:
    a DOI is forever, so a person presses the button on zenodo.org."""
    out = export_dataset(prepared, "zenodo", env)
    base = env.get("PUMA_ZENODO_URL", ZENODO_URL).rstrip("/")
    token = env["ZENODO_TOKEN"]
    created = expect_success(
        request("POST", f"{base}/api/deposit/depositions", service="Zenodo", token=token, json={}),
        "Zenodo",
    )
    try:
        deposition_id, bucket = created["id"], created["links"]["bucket"]
    except (KeyError, TypeError) as exc:
        raise RemoteUnavailable("Zenodo's answer has no deposition id or bucket link") from exc
    for path in sorted(out.iterdir()):
        if path.name == "zenodo.json":
            continue
        expect_success(
            request(
                "PUT",
                f"{bucket}/{path.name}",
                service="Zenodo",
                token=token,
                content=path.read_bytes(),
                headers={"Content-Type": "application/octet-stream"},
            ),
            "Zenodo",
        )
    expect_success(
        request(
            "PUT",
            f"{base}/api/deposit/depositions/{deposition_id}",
            service="Zenodo",
            token=token,
            json=zenodo_metadata(),
        ),
        "Zenodo",
    )
    html = created.get("links", {}).get("html", f"{base}/deposit/{deposition_id}")
    return PublishOutcome("zenodo", str(deposition_id), str(html), {"export": str(out)})


def upload_kaggle(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    out = export_dataset(prepared, "kaggle", env)
    if importlib.util.find_spec("kaggle") is None:
        raise RemoteUnavailable(
            "the kaggle package is not installed, so nothing was uploaded to Kaggle; the "
            f"export is ready in {out}",
            hint=f"pip install kaggle, then: kaggle datasets version -p {out} -m 'PUMA export' "
            "(or `kaggle datasets create -p ...` the first time)",
        )
    # Not installed here, so untested: the official client's documented calls.
    from kaggle.api.kaggle_api_extended import (  # type: ignore[import-not-found,unused-ignore]
        KaggleApi,
    )

    api = KaggleApi()
    api.authenticate()  # reads KAGGLE_USERNAME and KAGGLE_KEY from the environment
    api.dataset_create_version(str(out), version_notes=prepared.summary)
    return PublishOutcome(
        "kaggle", _kaggle_id(env), f"https://www.kaggle.com/datasets/{_kaggle_id(env)}"
    )
