"""`verify-hash`: check a submission package against its predictions, and optionally more.

Reads `<id>.json`, its predictions file and, when present, the provenance sidecar (to name the
first differing instance and the suite to re-score against). `--rescore` recomputes the metrics
against the suite's gold; `--remote` asks a registry too, whose answer never overrides ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from puma.errors import CheckFailed, InputFileError
from puma.integrity import HashCheck, first_difference, verify_predictions_hash
from puma.jsonio import iter_jsonl, read_json
from puma.submission.mapping import SUITE_BY_SCENARIO
from puma.submission.package import SubmissionFiles
from puma.submission.schema import read_submission_json

if TYPE_CHECKING:  # suites pull in pyarrow, the remote client httpx: loaded on use
    from puma.submission.remote import RemoteVerdict
    from puma.suites.model import Suite


@dataclass(frozen=True)
class Rescore:
    suite_id: str
    differences: list[str]
    computed: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass
class Verification:
    submission: Path
    predictions: Path
    check: HashCheck
    mismatch: str | None = None  # why the hash differs, as far as the files tell
    rescore: Rescore | None = None
    remote: RemoteVerdict | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.check.match and (self.rescore is None or self.rescore.ok)

    def raise_if_failed(self) -> None:
        """CheckFailed (exit 1) saying what differs, unless everything matched."""
        raise_for(self)


def verify_submission(
    submission: Path,
    predictions: Path | None = None,
    *,
    rescore: bool = False,
    suite: str | None = None,
    remote_url: str | None = None,
) -> Verification:
    """Recompute the predictions hash (and, if asked, the metrics) of a submission.

    Raises InputFileError when something cannot be read (exit 2); returns a Verification whose
    `ok` says whether everything matched (exit 0) or not (exit 1).
    """
    files = SubmissionFiles(Path(submission))
    data = read_submission_json(files.submission)
    integrity = data.get("integrity")
    declared = integrity.get("predictions_summary_hash") if isinstance(integrity, dict) else None
    where = f"{files.submission} (integrity.predictions_summary_hash)"
    predictions_path = Path(predictions) if predictions is not None else files.predictions
    if not predictions_path.is_file():
        raise InputFileError(
            "no predictions file",
            where=str(predictions_path),
            hint="pass it with --predictions, or keep <id>.predictions.jsonl beside <id>.json",
        )
    check = verify_predictions_hash(predictions_path, declared, where=where)
    result = Verification(submission=files.submission, predictions=predictions_path, check=check)
    result.warnings.extend(check.warnings)
    provenance = _read_provenance(files, result.warnings)
    if not check.match:
        result.mismatch = _explain_mismatch(data, check, predictions_path, provenance)
    if rescore:
        result.rescore = rescore_submission(
            data, predictions_path, suite, provenance, result.warnings
        )
    if remote_url:
        _ask_remote(remote_url, result)
    return result


def _read_provenance(files: SubmissionFiles, warnings: list[str]) -> dict[str, Any] | None:
    path = files.provenance_found
    if path is None:
        return None
    try:
        data = read_json(path)
    except InputFileError as exc:
        warnings.append(f"the provenance sidecar is unreadable and was ignored: {exc}")
        return None
    return data if isinstance(data, dict) else None


def _explain_mismatch(
    data: dict[str, Any], check: HashCheck, predictions: Path, provenance: dict[str, Any] | None
) -> str:
    reasons = []
    run_metadata = data.get("run_metadata")
    declared_n = run_metadata.get("n_instances") if isinstance(run_metadata, dict) else None
    if isinstance(declared_n, int) and declared_n != check.n_rows:
        reasons.append(
            f"the row count differs: the submission declares {declared_n} instances, "
            f"the file has {check.n_rows} rows"
        )
    digests = _row_digests(provenance)
    if digests is not None:
        where = first_difference(predictions, digests)
        if where:
            reasons.append(where)
        elif not reasons:
            reasons.append("the rows are those packaged, so the declared hash itself was changed")
    if not reasons:
        reasons.append("the rows differ (no provenance sidecar beside the submission to say where)")
    return "; ".join(reasons)


def _row_digests(provenance: dict[str, Any] | None) -> list[list[str]] | None:
    record = provenance.get("predictions") if provenance else None
    digests = record.get("row_digests") if isinstance(record, dict) else None
    if isinstance(digests, list) and all(
        isinstance(d, list) and len(d) == 2 and all(isinstance(x, str) for x in d) for d in digests
    ):
        return digests
    return None


# --- re-scoring ----------------------------------------------------------------------------------


def rescore_submission(
    data: dict[str, Any],
    predictions: Path,
    suite_ref: str | None,
    provenance: dict[str, Any] | None,
    warnings: list[str],
) -> Rescore:
    """Recompute the declared metrics from the predictions file and the suite's gold answers."""
    declared = data.get("metrics")
    if not isinstance(declared, dict):
        raise InputFileError("the submission declares no metrics object to re-score")
    suite = _load_suite_for(data, suite_ref, provenance, warnings)
    rows = []
    for _, row in iter_jsonl(predictions):
        rows.append({k: row.get(k) for k in ("instance_id", "predicted_label", "predicted_value")})
        if len(rows) > len(suite.items):  # not this suite's predictions: stop reading
            break
    repeated = len(rows) - len({str(row["instance_id"]) for row in rows})
    if repeated:
        warnings.append(
            f"{repeated} prediction row(s) repeat an instance_id: each row is scored as an answer"
        )
    return rescore_rows(declared, rows, suite)


def rescore_rows(declared: dict[str, Any], rows: list[dict[str, Any]], suite: Suite) -> Rescore:
    """Compare declared metrics with those of `rows` scored against `suite`."""
    from puma.submission.scoring import metric_differences, score_predictions, unknown_instances

    gold_by_id = suite.gold_by_id()
    if not rows:
        return Rescore(
            suite_id=suite.id, differences=["the predictions file holds no rows"], computed={}
        )
    not_text = [row["instance_id"] for row in rows if not isinstance(row["instance_id"], str)]
    if not_text:
        problem = (
            f"{len(not_text)} row(s) have an instance_id that is not text (first: "
            f"{not_text[0]!r}); every instance id of suite {suite.id} is"
        )
        return Rescore(suite_id=suite.id, differences=[problem], computed={})
    if len(rows) > len(gold_by_id):
        problem = (
            f"the predictions have more rows than suite {suite.id} has items ({len(gold_by_id)})"
        )
        return Rescore(suite_id=suite.id, differences=[problem], computed={})
    unknown = unknown_instances(rows, gold_by_id)
    if unknown:
        problem = (
            f"{len(unknown)} predicted instance(s) are not in suite {suite.id} "
            f"(first: {unknown[0]!r})"
        )
        return Rescore(suite_id=suite.id, differences=[problem], computed={})
    ordered = sorted(rows, key=lambda r: str(r["instance_id"]))
    scored = score_predictions(suite.task, suite.labels, gold_by_id, ordered)
    return Rescore(
        suite_id=suite.id,
        differences=metric_differences(declared, scored.metrics),
        computed=scored.metrics,
    )


def _load_suite_for(
    data: dict[str, Any],
    suite_ref: str | None,
    provenance: dict[str, Any] | None,
    warnings: list[str],
) -> Suite:
    recorded = provenance.get("suite") if provenance else None
    recorded = recorded if isinstance(recorded, dict) else {}
    if suite_ref is None and recorded.get("source") not in (None, "", "bundled"):
        # A local suite: the sidecar keeps only its file's name (paths stay private), and the
        # id it was given is no bundled suite's.
        name = str(recorded.get("source"))
        raise InputFileError(
            f"this package was made from a local suite ({recorded.get('id')}, file {name!r}); "
            "re-scoring needs that file",
            hint=f"name it with --suite: `puma verify-hash SUBMISSION --rescore --suite "
            f"PATH/TO/{name}` (a file whose content differs from the run's is warned about)",
        )
    if suite_ref is None:
        suite_ref = recorded.get("id") if isinstance(recorded.get("id"), str) else None
    if suite_ref is None:
        run_metadata = data.get("run_metadata")
        scenario = run_metadata.get("scenario") if isinstance(run_metadata, dict) else None
        suite_ref = SUITE_BY_SCENARIO.get(str(scenario))
    if suite_ref is None:
        raise InputFileError(
            "cannot tell which suite to re-score against",
            hint="name it with --suite (a bundled suite id or a local data file)",
        )
    suite = _load_suite(suite_ref)
    content_hash = recorded.get("content_hash")
    if content_hash and content_hash != suite.content_hash:
        warnings.append(
            f"suite {suite.id} here has content hash {suite.content_hash[:12]}…, the run used "
            f"{str(content_hash)[:12]}…: the gold answers may differ"
        )
    return suite


def _load_suite(suite_ref: str) -> Suite:
    from puma.suites import load_suite  # on use: keeps verify-hash's start-up light

    return load_suite(suite_ref)


# --- the remote verifier -------------------------------------------------------------------------


def _ask_remote(url: str, result: Verification) -> None:
    from puma.errors import RemoteUnavailable
    from puma.submission.remote import ask_remote_verifier

    try:
        verdict = ask_remote_verifier(url, result.submission, result.predictions)
    except RemoteUnavailable as exc:
        result.warnings.append(
            f"the remote verifier could not be asked ({exc}); the local result stands"
        )
        return
    result.remote = verdict
    local = "match" if result.check.match else "mismatch"
    remote = "match" if verdict.match else "mismatch"
    if verdict.match != result.check.match:
        result.warnings.append(
            f"the remote verifier says {remote}, the local check says {local}; "
            "the local result stands"
        )
    elif verdict.computed_hash != result.check.computed:
        result.warnings.append(
            f"the remote verifier computed {verdict.computed_hash}, the local check "
            f"{result.check.computed}; the local result stands"
        )


def raise_for(result: Verification) -> None:
    """Turn a failed verification into CheckFailed (exit 1) with what differs."""
    if not result.check.match:
        raise CheckFailed(f"predictions hash mismatch: {result.mismatch}")
    if result.rescore is not None and not result.rescore.ok:
        from puma.submission.scoring import TOLERANCE

        raise CheckFailed(
            f"the declared metrics are not what the predictions give (tolerance {TOLERANCE:g}): "
            + "; ".join(result.rescore.differences)
        )
