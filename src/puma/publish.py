"""`puma publish`: send a contributor folder as a pull request.

In a temporary clone of the remote (the real `git`), a branch `submission/<handle>/<run-id>` gets
one commit adding the folder under `submissions/<handle>/` and nothing else, and is pushed; with
a GitHub token, the pull request is opened through GitHub's REST API (an open one for the same
branch is reused). Nothing merges: a maintainer reviews. The folder must validate and pass the
privacy scan first. The token is handed to git through the environment of one process, never
written into a remote URL, a git config, a log or the output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from puma.community.history import record_submission
from puma.credentials import get_token
from puma.errors import CheckFailed, InputFileError, RemoteUnavailable
from puma.outputs import writing
from puma.submission.contributor import (
    CONTRIBUTOR_FILES,
    ContributorReport,
    refuse_private_values,
    validate_contributor_folder,
)

GITHUB_API_URL = "https://api.github.com"
API_URL_ENV = "PUMA_GITHUB_API_URL"
SUBMISSIONS = "submissions"
GIT_TIMEOUT_S = 300.0
API_TIMEOUT_S = 30.0
_TOKEN_ENV = "PUMA_GIT_TOKEN"  # the one process environment variable that carries the token
# git asks this helper for credentials; it reads the token from its environment, so neither the
# command line nor any file holds it.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || return 0; echo username=x-access-token; '
    f'echo "password=${_TOKEN_ENV}"; }}; f'
)
_GITHUB_REMOTE = re.compile(
    r"^(?:https?://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)
_REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class PullRequest:
    url: str
    number: int | None
    reused: bool  # an open pull request for the same branch existed already


@dataclass(frozen=True)
class PublishResult:
    folder: ContributorReport
    remote: str  # as shown: without any credentials
    branch: str
    commit: str
    files: tuple[str, ...]  # paths in the repository, as committed
    pushed: bool  # False when the remote branch already held exactly this commit's files
    pull_request: PullRequest | None
    note: str | None  # why no pull request was opened, when none was


# --- credentials and the local history -----------------------------------------------------------


def github_token() -> str | None:
    """The stored GitHub token (puma.credentials, which falls back to GITHUB_TOKEN)."""
    return get_token("github") or None


def _history_recorder() -> Callable[[str, str, str], Any]:
    """puma.community.history.record_submission (tests replace it with a list)."""
    return record_submission


# --- publish ------------------------------------------------------------------------------------


def branch_name(handle: str, run_id: str) -> str:
    return f"submission/{handle}/{run_id}"


def commit_message(report: ContributorReport) -> str:
    p = report.path
    return (
        f"feat(submissions): add {p.handle}/{p.device_tag} run {p.run_id}\n\n"
        f"Model: {report.model}\nLedger head: {report.ledger_head} ({report.ledger_lines} lines, "
        f"{report.seal})\nMade by `puma publish`; `puma submission validate` accepted it.\n"
    )


def publish_folder(
    folder: Path,
    remote: str,
    *,
    base: str = "main",
    github_repo: str | None = None,
) -> PublishResult:
    """Validate and scan `folder`, commit it on a new branch of a clone of `remote`, push, and
    open (or reuse) the pull request when a GitHub token and repository are known."""
    report = validate_contributor_folder(folder)
    refuse_private_values(Path(folder), "the contributor folder")
    record = _history_recorder()
    shown_remote = _check_remote(remote)
    token = github_token()
    repo = _target_repo(remote, github_repo)
    branch = branch_name(report.path.handle, report.path.run_id)
    relative = Path(SUBMISSIONS) / report.path.relative
    git = _Git(token if _is_http(remote) else None, secret=token)
    with tempfile.TemporaryDirectory(prefix="puma-publish-") as scratch:
        clone = Path(scratch) / "repo"
        git.run(
            [
                "clone",
                "--quiet",
                "--no-tags",
                "--single-branch",
                "--branch",
                base,
                "--",
                remote,
                str(clone),
            ],
            cwd=Path(scratch),
            doing=f"clone {shown_remote} (branch {base})",
        )
        existing = git.output(["ls-remote", "--heads", "origin", branch], cwd=clone).strip()
        if existing:
            git.run(["fetch", "--quiet", "origin", f"refs/heads/{branch}"], cwd=clone)
            git.run(["checkout", "--quiet", "-b", branch, "FETCH_HEAD"], cwd=clone)
            if not _same_files(Path(folder), clone / relative):
                raise CheckFailed(
                    f"the branch {branch} already exists on {shown_remote} with other files",
                    hint="a run is published once; a re-run is a new run folder and a new "
                    "contributor folder",
                )
            pushed = False
        else:
            if (clone / relative).exists():
                raise CheckFailed(
                    f"{relative.as_posix()} is already on {base} of {shown_remote}: this run "
                    "was published before",
                    hint="a re-run is a new run folder (a new run-<uuid>); prepare and publish "
                    "that one",
                )
            _commit(git, clone, Path(folder), relative, report, branch)
            git.run(
                ["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"],
                cwd=clone,
                doing=f"push {branch} to {shown_remote}",
            )
            pushed = True
        commit = git.output(["rev-parse", "HEAD"], cwd=clone).strip()
        files = tuple(
            sorted(
                git.output(
                    ["diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "HEAD"], cwd=clone
                )
                .strip("\0")
                .split("\0")
            )
        )
    pull_request, note = None, None
    if token is None:
        note = (
            "no GitHub token (`puma auth login github`, or GITHUB_TOKEN): open the pull "
            "request yourself"
        )
    elif repo is None:
        note = "the remote is not a GitHub repository: give --github-repo OWNER/REPO to open one"
    else:
        pull_request = open_pull_request(
            repo,
            branch,
            base,
            token,
            title=commit_message(report).split("\n", 1)[0],
            body=_pull_request_body(report, Path(folder)),
            head_owner=_remote_owner(remote),
        )
    identifier = f"{report.path.handle}/{report.path.device_tag}/run-{report.path.run_id}"
    record(
        "pull-request", identifier, pull_request.url if pull_request else f"{shown_remote} {branch}"
    )
    return PublishResult(report, shown_remote, branch, commit, files, pushed, pull_request, note)


def _commit(
    git: _Git, clone: Path, folder: Path, relative: Path, report: ContributorReport, branch: str
) -> None:
    """One commit on a new branch: the folder's five files at `relative`, nothing else."""
    git.run(["checkout", "--quiet", "-b", branch], cwd=clone)
    with writing(clone / relative, "copy the folder into the clone"):
        (clone / relative).mkdir(parents=True)
        for name in CONTRIBUTOR_FILES:
            shutil.copyfile(folder / name, clone / relative / name)
    git.run(["add", "--", relative.as_posix()], cwd=clone)
    _refuse_outside(git.output(["diff", "--cached", "--name-only", "-z"], cwd=clone), report)
    git.run(
        ["commit", "--quiet", "--no-verify", "-F", "-"],
        cwd=clone,
        stdin=commit_message(report),
        identity=report.path.handle,
    )


def _check_remote(remote: str) -> str:
    """The remote as shown; a URL that carries a password or token is refused, so none is ever
    written into a clone's config."""
    if not remote:
        raise InputFileError("--git needs the remote repository (a URL or a path)")
    parts = urlsplit(remote)
    if parts.scheme in ("http", "https") and parts.password:
        raise InputFileError(
            "the remote URL carries a password or token; it would be written to disk",
            hint="give the URL without it and store the token with `puma auth login github` "
            "(or set GITHUB_TOKEN)",
        )
    return remote


def _is_http(remote: str) -> bool:
    return urlsplit(remote).scheme in ("http", "https")


def _remote_owner(remote: str) -> str | None:
    match = _GITHUB_REMOTE.match(remote)
    return match["owner"] if match else None


def _target_repo(remote: str, github_repo: str | None) -> str | None:
    if github_repo is not None:
        if not _REPO.fullmatch(github_repo):
            raise InputFileError(
                f"--github-repo {github_repo!r} is not OWNER/REPO", hint="e.g. puma-bench/puma"
            )
        return github_repo
    match = _GITHUB_REMOTE.match(remote)
    return f"{match['owner']}/{match['repo']}" if match else None


def _same_files(folder: Path, there: Path) -> bool:
    if not there.is_dir() or {p.name for p in there.iterdir()} != set(CONTRIBUTOR_FILES):
        return False
    return all((folder / n).read_bytes() == (there / n).read_bytes() for n in CONTRIBUTOR_FILES)


def _refuse_outside(staged: str, report: ContributorReport) -> None:
    """Only files under submissions/<handle>/ may be committed: anything else is refused."""
    allowed = f"{SUBMISSIONS}/{report.path.handle}/"
    paths = [p for p in staged.split("\0") if p]
    outside = [p for p in paths if not p.startswith(allowed)]
    if outside or not paths:
        raise CheckFailed(
            f"refusing to commit outside {allowed}: {', '.join(outside) or '(nothing staged)'}",
            hint="publish commits one contributor folder and nothing else",
        )


def _pull_request_body(report: ContributorReport, folder: Path) -> str:
    narrative = (folder / "run.md").read_text(encoding="utf-8")
    headline = narrative.split("## Headline numbers", 1)[-1].split("\n## ", 1)[0].strip()
    p = report.path
    return (
        f"A contributor run: `{p.handle}` on `{p.device_tag}`, {report.model}, run `{p.run_id}`."
        f"\n\n### Headline numbers\n\n{headline}\n\n"
        f"Made by `puma publish` after `puma submission validate` accepted the folder and the "
        "privacy scan found nothing. Nothing merges automatically: a maintainer reviews it. "
        "See run.md in the folder for deviations, caveats and the command that reproduces it.\n"
    )


# --- git ----------------------------------------------------------------------------------------


class _Git:
    """The real `git`, one process per command, with prompts off and the token (if any) only in
    the process's environment, read by a credential helper given on the command line."""

    def __init__(self, token: str | None, *, secret: str | None):
        self._token = token
        self._secret = secret

    def _command(self, args: Sequence[str]) -> list[str]:
        if self._token is None:
            return ["git", *args]
        return [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            f"credential.helper={_CREDENTIAL_HELPER}",
            *args,
        ]

    def _env(self, identity: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_TRACE")}
        env["GIT_TERMINAL_PROMPT"] = "0"
        env.pop(_TOKEN_ENV, None)
        if self._token is not None:
            env[_TOKEN_ENV] = self._token
        if identity is not None:
            # The contributor's own git identity when they have one; else the handle, at a
            # domain that cannot receive mail.
            for role in ("AUTHOR", "COMMITTER"):
                env.setdefault(f"GIT_{role}_NAME", identity)
                env.setdefault(f"GIT_{role}_EMAIL", f"{identity}@users.puma.invalid")
        return env

    def _has_identity(self, cwd: Path) -> bool:
        done = subprocess.run(
            ["git", "config", "user.email"],
            cwd=cwd,
            capture_output=True,
            text=True,
            env=self._env(None),
            timeout=GIT_TIMEOUT_S,
        )
        return done.returncode == 0 and bool(done.stdout.strip())

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        doing: str | None = None,
        stdin: str | None = None,
        identity: str | None = None,
    ) -> str:
        if identity is not None and self._has_identity(cwd):
            identity = None
        try:
            done = subprocess.run(
                self._command(args),
                cwd=cwd,
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                env=self._env(identity),
                timeout=GIT_TIMEOUT_S,
            )
        except FileNotFoundError:
            raise InputFileError(
                "git is not installed", hint="install git (https://git-scm.com) and try again"
            ) from None
        except subprocess.TimeoutExpired:
            raise RemoteUnavailable(
                f"git {args[0]} did not finish within {GIT_TIMEOUT_S:g} s"
            ) from None
        if done.returncode != 0:
            said = self._hide(" ".join((done.stderr or done.stdout).split()))[:500]
            raise RemoteUnavailable(
                f"cannot {doing or 'git ' + args[0]}: git says: {said or 'nothing'}",
                hint="check the remote's URL, that you may push to it, and your network",
            )
        return done.stdout

    def output(self, args: Sequence[str], *, cwd: Path) -> str:
        return self.run(args, cwd=cwd)

    def _hide(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


# --- GitHub -------------------------------------------------------------------------------------


def api_base_url() -> str:
    return (os.environ.get(API_URL_ENV) or GITHUB_API_URL).rstrip("/")


def open_pull_request(
    repo: str,
    branch: str,
    base: str,
    token: str,
    *,
    title: str,
    body: str,
    head_owner: str | None = None,
) -> PullRequest:
    """The open pull request of `branch` on `repo`, else a new one (GitHub REST API:
    GET /repos/{owner}/{repo}/pulls?head=OWNER:BRANCH&state=open, then POST .../pulls)."""
    from puma.event_loop import run_sync

    return run_sync(_open_pull_request(repo, branch, base, token, title, body, head_owner))


async def _open_pull_request(
    repo: str,
    branch: str,
    base: str,
    token: str,
    title: str,
    body: str,
    head_owner: str | None,
) -> PullRequest:
    from puma.runtimes.base import RuntimeCallError
    from puma.runtimes.http import HttpRuntimeClient

    owner = repo.split("/", 1)[0]
    head_owner = head_owner or owner
    client = HttpRuntimeClient(
        api_base_url(),
        runtime="GitHub's API",
        timeout_s=API_TIMEOUT_S,
        missing_model_hint=lambda model: "",
        api_key=token,
        trust_env=True,
    )
    pulls = f"/repos/{quote(repo, safe='/')}/pulls"
    try:
        query = urlencode({"head": f"{head_owner}:{branch}", "state": "open"})
        found = await client.get_json(f"{pulls}?{query}")
        if isinstance(found, list) and found and isinstance(found[0], dict):
            return _pull_request(found[0], reused=True)
        payload = {
            "title": title,
            "head": branch if head_owner == owner else f"{head_owner}:{branch}",
            "base": base,
            "body": body,
            "maintainer_can_modify": True,
            "draft": False,
        }
        response = await client.post(pulls, json=payload)
        if response.status_code != 201:
            raise client.status_error(response.status_code, response.text, response.headers, None)
        created = response.json()
    except RuntimeCallError as exc:
        raise RemoteUnavailable(
            f"the branch is pushed, but the pull request could not be opened: "
            f"{str(exc.args[0]).replace(token, '***')}",
            hint="open it on GitHub from the pushed branch, or check the token's scopes "
            "(it needs to create pull requests on the repository)",
        ) from None
    except ValueError:
        raise RemoteUnavailable("GitHub's API answered with something that is not JSON") from None
    finally:
        await client.aclose()
    if not isinstance(created, dict):
        raise RemoteUnavailable("GitHub's API answered with something that is not a pull request")
    return _pull_request(created, reused=False)


def _pull_request(data: dict[str, Any], *, reused: bool) -> PullRequest:
    url = data.get("html_url")
    if not isinstance(url, str):
        raise RemoteUnavailable("GitHub's API answered with a pull request without html_url")
    number = data.get("number")
    return PullRequest(url, number if isinstance(number, int) else None, reused)
