"""run.md of a contributor folder: the honest narrative of one run, written by `puma submission
prepare` from the run's manifest and its metadata-1.0 (puma.evaluate.metadata).

Headline numbers with their intervals, every deviation from the canonical settings, caveats, the
privacy attestation and the command that reproduces the run. The same run gives the same text;
a contributor adds to it under the headings, which `validate` checks are still there.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import yaml

from puma.runfolder.manifest import Manifest
from puma.runfolder.metadata import RunMetadata

SMALL_N = 30  # below this many items an interval is wide: say so
OWN_CAVEATS = "<!-- Add your own caveats below this line: anything a reader should know. -->"
_OPTION_FLAGS = {"model": "--model", "limit": "--limit", "phases": "--phases"}
_PLACE_ONLY = ("output",)  # where the files went: not part of the method


def narrative_text(
    manifest: Manifest, metadata: RunMetadata, device_tag: str, privacy_checks: tuple[str, ...]
) -> str:
    """run.md's text. `metadata` is the RunMetadata aggregate_run gave for this folder."""
    models = ", ".join(m.name for m in manifest.models)
    parts = [
        f"# Run {manifest.run_id}",
        "",
        f"{models} on `{device_tag}`, runtime {_runtime(manifest)}, "
        f"PUMA {manifest.tool.get('version', '?')}; started {manifest.started_at}, "
        f"finished {manifest.completed_at or '(not recorded)'}.",
        "",
        "## Headline numbers",
        "",
        *_headline(metadata),
        "",
        "## Deviations",
        "",
        *_deviations(manifest),
        "",
        "## Caveats",
        "",
        *_caveats(manifest, metadata),
        "",
        OWN_CAVEATS,
        "",
        "## Privacy attestation",
        "",
        *_attestation(privacy_checks),
        "",
        "## Reproduce",
        "",
        *_reproduce(manifest),
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


def _runtime(manifest: Manifest) -> str:
    kind = manifest.runtime.get("kind") or "?"
    version = manifest.runtime.get("version")
    return f"{kind} ({version})" if version else str(kind)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.1f}"


def _headline(metadata: RunMetadata) -> list[str]:
    rows = list(metadata.aggregates)
    if not rows:
        return ["No measured calls: the run made none the catalogue can use."]
    lines = [
        "Quality is the phase's headline metric with its 95 % interval; speed figures are medians "
        "over measured calls (warm-up calls excluded).",
        "",
        "| cell | phase | items | quality (95 % interval) | gen tok/s | prompt tok/s | TTFT ms "
        "| TPOT ms |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        quality = "–"
        if row.quality is not None:
            value = row.quality.value
            interval = (
                f" [{_number(value.ci_low)}, {_number(value.ci_high)}]"
                if value.ci_low is not None and value.ci_high is not None
                else " (no interval)"
            )
            quality = f"{row.quality.metric} {_number(value.point)}{interval}, n={value.n}"
        elif row.quality_note:
            quality = f"– ({row.quality_note})"
        speed = row.speed
        lines.append(
            f"| `{row.cell_id}` | {row.phase} | {row.n_items} | {quality} "
            f"| {_number(speed.generation_tps.median)} | {_number(speed.prompt_tps.median)} "
            f"| {_number(speed.ttft_ms.median)} | {_number(speed.tpot_ms.median)} |"
        )
    return lines


def _deviations(manifest: Manifest) -> list[str]:
    lines = []
    for deviation in manifest.deviations:
        lines.append(
            f"- `{deviation.setting}`: {deviation.requested!r} → {deviation.used!r} "
            f"({deviation.reason})"
        )
    for name in sorted(manifest.overrides):
        if name in _PLACE_ONLY:
            continue
        lines.append(
            f"- `{name}` set on the command line to {_shown(manifest.overrides[name])!r} "
            "(recorded in manifest.json)"
        )
    return lines or ["None: the run used the settings its spec asks for."]


def _caveats(manifest: Manifest, metadata: RunMetadata) -> list[str]:
    lines = []
    hardware = metadata.provenance.hardware
    if hardware is not None and not hardware.probed:
        lines.append(
            f"- hardware.json is not a full probe: the hardware class "
            f"({hardware.hardware_class}) was derived from what it records."
        )
    ledger = metadata.provenance.ledger
    if ledger is not None and ledger.state != "sealed":
        lines.append(
            f"- The ledger is {ledger.state}: its chain is intact but its last line is not "
            "sealed in manifest.json."
        )
    for row in metadata.aggregates:
        name = f"`{row.cell_id}` {row.phase}"
        if row.quality is not None and row.n_items < SMALL_N:
            lines.append(
                f"- {name}: {row.n_items} items only; the interval is wide and a difference "
                "to another run may be noise."
            )
        if row.n_errors or row.n_skipped:
            lines.append(
                f"- {name}: {row.n_errors} call(s) failed and {row.n_skipped} were skipped; "
                "each counts as a wrong answer."
            )
    if manifest.runtime.get("url"):
        lines.append(
            "- The model was served over HTTP; speed figures include the transport and depend "
            "on that server's settings."
        )
    return lines or ["- None found by PUMA."]


def _attestation(checks: tuple[str, ...]) -> list[str]:
    return [
        "`puma submission prepare` ran PUMA's privacy scan (puma.submission.privacy) over the "
        "five files of this folder before writing it, with these detectors:",
        "",
        *(f"- {check}" for check in checks),
        "",
        "Blanked by prepare in this folder's copy of manifest.json: `hostname` (empty) and "
        "`spec_path` (the spec's file name only); every other field, and every byte a hash "
        "covers, is the run's own.",
        "",
        "Result: no findings (prepare writes no folder otherwise). `puma publish` runs the same "
        "scan again before anything leaves the machine.",
    ]


def _reproduce(manifest: Manifest) -> list[str]:
    spec = _portable_spec(manifest.spec)
    phases = [p for p in manifest.phases if p != "predict"]
    command = "puma run spec.yaml" + (f" --phases {','.join(phases)}" if phases else "")
    lines = [
        "Save the resolved spec below as `spec.yaml` (command-line overrides already applied) "
        "and run:",
        "",
        "```bash",
        command,
        "```",
    ]
    as_run = _as_run(manifest)
    if as_run:
        lines += ["", "The run itself was started as:", "", "```bash", as_run, "```"]
    lines += ["", "```yaml", yaml.safe_dump(spec, sort_keys=True).rstrip("\n"), "```"]
    model = next(iter(manifest.models), None)
    if model is not None and model.digest:
        lines += ["", f"Model `{model.name}`, digest `{model.digest}`."]
    return lines


def _portable_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The resolved spec without what only names this machine's folders: the output folder
    becomes `runs`, and a model or suite path its file name."""
    portable = dict(spec)
    if "output" in portable:
        portable["output"] = "runs"
    runtime = dict(portable.get("runtime") or {})
    if isinstance(runtime.get("model"), str):
        runtime["model"] = _shown(runtime["model"])
    if runtime:
        portable["runtime"] = runtime
    suites = []
    for entry in portable.get("suites") or []:
        entry = dict(entry)
        if isinstance(entry.get("path"), str):
            entry["path"] = _shown(entry["path"])
        suites.append(entry)
    if suites:
        portable["suites"] = suites
    return portable


def _shown(value: Any) -> Any:
    """A path as its file name (a home folder must not leave the machine); other values as is."""
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return PurePath(value.replace("\\", "/")).name
    return value


def _as_run(manifest: Manifest) -> str | None:
    if not manifest.spec_path:
        return None
    words = ["puma", "run", str(_shown(manifest.spec_path))]
    if not PurePath(manifest.spec_path).is_absolute():
        words[2] = manifest.spec_path
    for name in sorted(manifest.overrides):
        flag = _OPTION_FLAGS.get(name)
        if flag is None:
            continue
        value = manifest.overrides[name]
        if isinstance(value, list):
            value = ",".join(map(str, value))
        words += [flag, str(_shown(value))]
    return " ".join(words)
