"""`puma share-results`, `puma verify-hash` and `puma submission validate`: the publication path.

Thin commands: each parses its arguments, calls one function of puma.submission and renders the
result with Rich. Exit codes: 0 ok, 1 a check said no, 2 unreadable or invalid input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from puma.cli.console import make_console
from puma.errors import CheckFailed, InputFileError

if TYPE_CHECKING:  # the builder pulls in numpy and pyarrow: load on use
    from puma.submission.builder import Consents

console = make_console()
stderr = make_console(stderr=True)

CONSENT_TEXTS = (
    ("public_release", "publish this result, with your alias, on PUMA's public leaderboard"),
    ("redistribution", "let anyone redistribute it under the CC-BY-4.0 licence"),
    ("research_use", "let researchers use it in studies and papers"),
)
_YES_HELP = (
    "Give the three consents schema v1 requires without being asked: "
    + "; ".join(f"({i}) {text}" for i, (_, text) in enumerate(CONSENT_TEXTS, start=1))
    + "."
)

submission_app = typer.Typer(
    name="submission",
    help="Work with submission packages (schema v1).",
    no_args_is_help=True,
)


def share_results(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (runs/run-<uuid>).")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Write the package locally and send nothing (the only mode for now; "
            "publishing comes with `puma publish`).",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the package (default: RUN_DIR/share)."),
    ] = None,
    suite: Annotated[
        str | None, typer.Option("--suite", help="The suite to share, when the run has several.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="The model to share, when the run has several.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Your public alias: 3-64 of A-Z a-z 0-9 . _ - (default: the run's submitter).",
        ),
    ] = None,
    affiliation: Annotated[
        str | None, typer.Option("--affiliation", help="Optional affiliation (<= 128 chars).")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="Optional public contact (<= 128 chars).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=_YES_HELP)] = False,
) -> None:
    """Package one model on one suite of a run as a PUMA schema v1 submission.

    Writes <id>.json, <id>.predictions.jsonl and <id>.provenance.jsonld; no network.
    """
    from puma.community.history import record_submission
    from puma.submission.builder import Consents, build_submission

    if not dry_run:
        raise InputFileError(
            "share-results only packages for now; nothing is sent",
            hint=f"run `puma share-results {run_dir} --dry-run`",
        )
    consents = Consents.all_given() if yes else _ask_consents()
    package = build_submission(
        run_dir,
        out if out is not None else Path(run_dir) / "share",
        consents=consents,
        suite_id=suite,
        model=model,
        name=name,
        affiliation=affiliation,
        contact=contact,
    )
    sub = package.submission
    record_submission("package", str(sub.submission_id), str(package.files.submission.parent))
    run = sub.run_metadata
    pairs = [
        ("submission", str(package.files.submission)),
        ("predictions", str(package.files.predictions)),
        ("provenance", str(package.files.provenance)),
        ("describes", f"{run.model} on {run.scenario} ({run.strategy}), n={run.n_instances}"),
    ]
    for metric in ("accuracy", "f1_macro", "ece", "mae", "mdae"):
        value = getattr(sub.metrics, metric)
        if value is not None:
            pairs.append((metric, f"{value:.4f}"))
    pairs.append(("predictions hash", sub.integrity.predictions_summary_hash))
    console.print("[bold]Submission package[/] (dry run: nothing was sent)")
    _print_pairs(pairs)
    console.print(f"next: puma verify-hash {package.files.submission}", soft_wrap=True)
    provenance = package.provenance
    _warn_unusable_answers(run_dir, provenance.suite["id"], provenance.model["name"])


def _warn_unusable_answers(run_dir: Path, suite_id: str, model: str) -> None:
    """The packaged suite and model's warning from puma.answer_quality, when it has one."""
    from puma.answer_quality import unusable_answer_warnings
    from puma.cli.evaluate import print_answer_warnings
    from puma.evaluate.loading import load_run
    from puma.runfolder import RunFolder

    rows = load_run(RunFolder.open(run_dir)).rows
    packaged = (r for r in rows if r["suite_id"] == suite_id and r["model"] == model)
    print_answer_warnings(unusable_answer_warnings(packaged))


def _print_pairs(pairs: list[tuple[str, str]]) -> None:
    """Label and value per line, never wrapped, so paths and hashes can be copied."""
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        console.print(f"  [cyan]{label:<{width}}[/]  {value}", soft_wrap=True, highlight=False)


def _ask_consents() -> Consents:
    from puma.submission.builder import Consents

    console.print("A PUMA submission needs three consents:")
    answers = {}
    for key, text in CONSENT_TEXTS:
        try:
            answers[key] = typer.confirm(f"Do you agree to {text}?", default=False)
        except typer.Abort:
            answers[key] = False
        if not answers[key]:
            raise InputFileError(
                "a submission needs all three consents; nothing was written",
                hint="answer yes to each, or pass --yes to give them (see --help)",
            )
    return Consents(**answers)


def verify_hash(
    submission: Annotated[Path, typer.Argument(help="The submission file (<id>.json).")],
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions", help="The predictions file (default: <id>.predictions.jsonl beside)."
        ),
    ] = None,
    rescore: Annotated[
        bool,
        typer.Option(
            "--rescore",
            help="Also recompute the metrics from the predictions and the suite's gold answers; "
            "fail (1) when the declared metrics differ by more than 1e-6.",
        ),
    ] = False,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="Suite to re-score against (id or local file; default: from the provenance "
            "sidecar, else from the scenario).",
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            help="Also ask the registry verifier at this URL (POST URL/api/v1/verify); the local "
            "result stays authoritative and a disagreement is a warning.",
        ),
    ] = None,
) -> None:
    """Recompute a submission's predictions hash: exit 0 match, 1 mismatch, 2 unreadable."""
    import puma

    result = puma.verify(submission, predictions, rescore=rescore, suite=suite, remote=remote)
    check = result.check
    pairs = [
        ("submission", str(result.submission)),
        ("predictions", f"{result.predictions} ({check.n_rows} rows)"),
        ("declared", check.declared),
        ("computed", check.computed),
        ("hash", "[green]match[/]" if check.match else "[red]MISMATCH[/]"),
    ]
    if result.rescore is not None:
        state = "[green]as declared[/]" if result.rescore.ok else "[red]DIFFER[/]"
        pairs.append(("metrics", f"{state} (re-scored against suite {result.rescore.suite_id})"))
    if result.remote is not None:
        pairs.append(("remote", "match" if result.remote.match else "mismatch"))
    _print_pairs(pairs)
    for warning in result.warnings:
        stderr.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    result.raise_if_failed()
    console.print("[green]verified[/]: the predictions are the ones the submission declares")


def validate(
    file: Annotated[
        Path,
        typer.Argument(
            help="A submission file (<id>.json), or a contributor folder "
            "(submissions/<handle>/<device-tag>/run-<uuid>)."
        ),
    ],
) -> None:
    """Check a submission against schema v1, or a contributor folder whole: exit 0 valid,
    1 invalid, 2 unreadable.

    A file: both the published JSON Schema and the models check it; every problem is listed. A
    folder: its path, its five files and their schemas, the ledger's chain and seal, and that
    metadata.json is what the ledger gives.
    """
    if file.is_dir():
        from puma.cli.contributor import validate_folder

        validate_folder(file)
        return
    from puma.submission.schema import validate_submission_file

    problems = validate_submission_file(file)
    if not problems:
        console.print(f"[green]valid[/]: {file} follows submission schema v1.0.0", soft_wrap=True)
        return
    console.print(
        f"[red]invalid[/]: {file} does not follow submission schema v1.0.0", soft_wrap=True
    )
    for problem in problems:
        # Escaped: a message quotes patterns such as ^[a-f0-9]{64}$, which Rich would eat.
        console.print(
            f"  [cyan]{escape(problem.where)}[/]: {escape(problem.message)} "
            f"[dim]({problem.checker})[/]",
            soft_wrap=True,
            highlight=False,
        )
    raise CheckFailed(f"{len(problems)} problem(s) with {file}")


def scan(
    folder: Annotated[Path, typer.Argument(help="The folder to scan (a run, a package, ...).")],
    redact: Annotated[
        bool,
        typer.Option(
            "--redact",
            help="Replace each private value with a stable placeholder (<redacted:KIND:N>) and "
            "record what was replaced in redactions.json (kinds and places, never values); "
            "for a contributor folder, beside it as run-<uuid>.redactions.json.",
        ),
    ] = False,
    include_hashed: Annotated[
        bool,
        typer.Option(
            "--include-hashed",
            help="With --redact, also rewrite files a hash covers (run.jsonl, prediction "
            "files): their chain or hash will no longer verify.",
        ),
    ] = False,
) -> None:
    """Look for private values before anything leaves: exit 0 clean, 1 found, 2 unreadable.

    IP and MAC addresses, host and user names, home paths, e-mail addresses, serial numbers,
    API keys and tokens, private keys (docs/commands/privacy.md).
    """
    from puma.submission.privacy import redact_folder, scan_folder

    if include_hashed and not redact:
        raise InputFileError("--include-hashed only goes with --redact")
    if redact:
        report = redact_folder(folder, include_hash_bearing=include_hashed)
        counts = ", ".join(f"{kind} {n}" for kind, n in report.counts.items()) or "nothing"
        console.print(
            f"redacted {len(report.redactions)} value(s) in {len(report.files_rewritten)} "
            f"file(s): {counts}",
            soft_wrap=True,
            highlight=False,
        )
        if report.record is not None and report.record.exists():
            console.print(f"record: {report.record}", soft_wrap=True, highlight=False)
        findings = report.left
        if findings:
            console.print(
                "[yellow]left as they are[/] (a hash covers these files; --include-hashed "
                "redacts them and breaks that hash):"
            )
    else:
        findings = scan_folder(folder)
    for finding in findings:
        console.print(
            f"  [cyan]{escape(finding.location(Path(folder)))}[/] {finding.kind}  "
            f"[dim]{escape(finding.excerpt)}[/]",
            soft_wrap=True,
            highlight=False,
        )
    if findings:
        raise CheckFailed(f"{len(findings)} private value(s) in {folder}")
    console.print(f"[green]clean[/]: no private values found in {folder}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("share-results")(share_results)
    app.command("verify-hash")(verify_hash)
    submission_app.command("validate")(validate)
    submission_app.command("scan")(scan)
    app.add_typer(submission_app)
