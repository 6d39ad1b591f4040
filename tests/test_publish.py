"""`puma publish`: a contributor folder becomes one commit on a branch `submission/<handle>/<run>`
of a real bare git repository in a temporary folder, and a pull request opened (or reused)
through GitHub's REST API, here a local HTTP server (stdlib http.server in a thread).

The server answers with payloads from GitHub's REST documentation ("Create a pull request",
201, and "List pull requests", 200; docs.github.com/rest/pulls/pulls, API version 2022-11-28):
the documented example object, trimmed to its first fields and the head/base branches. A planted
token must never appear in the output, the repository, the history or any file PUMA writes.

The privacy scan and the local history are other modules' (puma.submission.privacy,
puma.community.history): most tests here stand in for them at their one seam, so that what is
tested is git and GitHub; the tests at the end use the real ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import puma.publish
from puma.errors import CheckFailed, InputFileError, RemoteUnavailable
from puma.publish import branch_name, publish_folder
from puma.submission import contributor
from puma.submission.contributor import CONTRIBUTOR_FILES, prepare_contributor_folder

DEMO = Path(__file__).parent / "fixtures" / "demo-run"
RUN_ID = json.loads((DEMO / "manifest.json").read_text())["run_id"]
TOKEN = "ghp_" + "PlantedTokenForTheTest0123456789abcd"
BRANCH = f"submission/ada-l/{RUN_ID}"

# GitHub's documented example pull request (the "pull-request" example of the REST reference),
# trimmed: the fields PUMA reads (html_url, number) and their neighbours.
DOCUMENTED_PULL_REQUEST: dict[str, Any] = {
    "url": "https://api.github.com/repos/octocat/Hello-World/pulls/1347",
    "id": 1,
    "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
    "html_url": "https://github.com/octocat/Hello-World/pull/1347",
    "diff_url": "https://github.com/octocat/Hello-World/pull/1347.diff",
    "patch_url": "https://github.com/octocat/Hello-World/pull/1347.patch",
    "issue_url": "https://api.github.com/repos/octocat/Hello-World/issues/1347",
    "number": 1347,
    "state": "open",
    "locked": True,
    "title": "Amazing new feature",
    "user": {"login": "octocat", "id": 1, "type": "User", "site_admin": False},
    "body": "Please pull these awesome changes in!",
    "created_at": "2011-01-26T19:01:12Z",
    "updated_at": "2011-01-26T19:01:12Z",
    "head": {
        "label": "octocat:new-topic",
        "ref": "new-topic",
        "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    },
    "base": {
        "label": "octocat:master",
        "ref": "master",
        "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    },
    "draft": False,
    "merged": False,
}


# --- a bare repository and a contributor folder ------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository with a `main` holding a README and another contributor's folder."""
    bare = tmp_path / "upstream.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    seed = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(seed), cwd=tmp_path)
    (seed / "README.md").write_text("PUMA results\n")
    (seed / "submissions" / "grace-h" / "mac-m1-8gb").mkdir(parents=True)
    (seed / "submissions" / "grace-h" / "mac-m1-8gb" / "keep.md").write_text("theirs\n")
    git("add", ".", cwd=seed)
    git(
        "-c", "user.name=m", "-c", "user.email=m@example.invalid", "commit", "-qm", "init", cwd=seed
    )
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=seed)
    return bare


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """The privacy scan finds nothing and the history is a list (see the module docstring)."""
    entries: list[tuple[str, str, str]] = []
    monkeypatch.setattr(puma.publish, "refuse_private_values", lambda folder, what: None)
    monkeypatch.setattr(puma.publish, "_history_recorder", lambda: lambda *e: entries.append(e))
    return entries


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with monkeypatch.context() as patch:
        patch.setattr(contributor, "refuse_private_values", lambda folder, what: None)
        patch.setattr(contributor, "privacy_checks", lambda: ("(not scanned in this test)",))
        run = tmp_path / "runs" / f"run-{RUN_ID}"
        shutil.copytree(DEMO, run)
        return prepare_contributor_folder(run, tmp_path / "submissions", "ada-l", "epyc-24gb")


@pytest.fixture(autouse=True)
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token from the machine running the tests; the user's config folder is the test's."""
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PUMA_CONFIG_DIR", str(tmp_path / "config" / "puma"))
    monkeypatch.setattr(puma.publish, "github_token", lambda: None)


# --- a local GitHub ----------------------------------------------------------------------------


class FakeGitHub(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    open_pulls: ClassVar[list[dict[str, Any]]] = []
    create_status: ClassVar[int] = 201

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body: Any) -> None:
        self.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )

    def do_GET(self) -> None:
        self._record(None)
        self._answer(200, self.open_pulls)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        self._record(body)
        if self.create_status != 201:
            self._answer(self.create_status, {"message": "Validation Failed", "errors": []})
            return
        created = dict(DOCUMENTED_PULL_REQUEST, title=body["title"], body=body["body"])
        self._answer(201, created)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeGitHub]]:
    FakeGitHub.requests = []
    FakeGitHub.open_pulls = []
    FakeGitHub.create_status = 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PUMA_GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setattr(puma.publish, "github_token", lambda: TOKEN)
    yield FakeGitHub
    server.shutdown()
    server.server_close()


# --- the branch and the commit ------------------------------------------------------------------


def test_publish_pushes_one_commit_with_the_five_files_on_its_own_branch(
    folder: Path, remote: Path, recorded: list[tuple[str, str, str]]
) -> None:
    result = publish_folder(folder, str(remote))
    assert result.branch == BRANCH == branch_name("ada-l", RUN_ID) and result.pushed
    where = f"submissions/ada-l/epyc-24gb/run-{RUN_ID}"
    assert git("branch", "--list", "--format=%(refname:short)", cwd=remote).split() == [
        "main",
        BRANCH,
    ]
    committed = git("show", "--name-only", "--format=", BRANCH, cwd=remote).split()
    assert committed == sorted(f"{where}/{name}" for name in CONTRIBUTOR_FILES)
    assert list(result.files) == committed
    for name in CONTRIBUTOR_FILES:
        blob = subprocess.run(
            ["git", "show", f"{BRANCH}:{where}/{name}"], cwd=remote, capture_output=True
        ).stdout
        assert blob == (folder / name).read_bytes(), name
    # main is untouched; the branch is main plus that one commit
    assert git("rev-parse", f"{BRANCH}~1", cwd=remote) == git("rev-parse", "main", cwd=remote)
    assert recorded == [("pull-request", f"ada-l/epyc-24gb/run-{RUN_ID}", f"{remote} {BRANCH}")]
    assert result.pull_request is None and result.note is not None and "token" in result.note


def test_the_commit_message_is_conventional(folder: Path, remote: Path, recorded: Any) -> None:
    publish_folder(folder, str(remote))
    subject, _, body = git("log", "-1", "--format=%B", BRANCH, cwd=remote).partition("\n")
    assert subject == f"feat(submissions): add ada-l/epyc-24gb run {RUN_ID}"
    assert "Ledger head: bc80fb5cdc1a" in body


def test_nothing_outside_submissions_handle_is_committed(
    folder: Path, remote: Path, recorded: Any
) -> None:
    publish_folder(folder, str(remote))
    changed = git("diff", "--name-only", "main", BRANCH, cwd=remote).split()
    assert changed and all(path.startswith("submissions/ada-l/") for path in changed)


def test_a_staged_file_outside_the_handle_is_refused(folder: Path, remote: Path, recorded: Any):
    report = contributor.validate_contributor_folder(folder)
    with pytest.raises(CheckFailed, match=r"refusing to commit outside submissions/ada-l/"):
        puma.publish._refuse_outside("submissions/ada-l/x/run.md\0README.md\0", report)
    with pytest.raises(CheckFailed, match=r"nothing staged"):
        puma.publish._refuse_outside("", report)


def test_publishing_again_pushes_nothing_and_keeps_the_branch(
    folder: Path, remote: Path, recorded: Any
) -> None:
    first = publish_folder(folder, str(remote))
    second = publish_folder(folder, str(remote))
    assert not second.pushed and second.commit == first.commit
    assert git("rev-parse", BRANCH, cwd=remote).strip() == first.commit


def test_a_branch_with_other_files_is_refused(folder: Path, remote: Path, recorded: Any) -> None:
    publish_folder(folder, str(remote))
    narrative = folder / "run.md"
    narrative.write_text(narrative.read_text() + "\n- another caveat\n")
    with pytest.raises(CheckFailed, match=r"already exists .* with other files"):
        publish_folder(folder, str(remote))


def test_a_run_already_on_main_is_refused(
    folder: Path, remote: Path, recorded: Any, tmp_path: Path
) -> None:
    publish_folder(folder, str(remote))
    work = tmp_path / "maintainer"
    git("clone", "--quiet", str(remote), str(work), cwd=tmp_path)
    git("merge", "--quiet", "--ff-only", f"origin/{BRANCH}", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", f":{BRANCH}", cwd=work)
    with pytest.raises(CheckFailed, match=r"published before"):
        publish_folder(folder, str(remote))


def test_an_invalid_folder_is_not_published(folder: Path, remote: Path, recorded: Any) -> None:
    (folder / "notes.txt").write_text("x")
    with pytest.raises(CheckFailed, match=r"do not belong: notes.txt"):
        publish_folder(folder, str(remote))
    assert git("branch", "--list", "--format=%(refname:short)", cwd=remote).split() == ["main"]


def test_a_privacy_refusal_stops_publish_before_any_clone(
    folder: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(folder: Path, what: str) -> None:
        raise CheckFailed(f"the privacy scan found 1 private value(s); {what} was not sent")

    monkeypatch.setattr(puma.publish, "refuse_private_values", refuse)
    with pytest.raises(CheckFailed, match=r"privacy scan found"):
        publish_folder(folder, str(remote))
    assert git("branch", "--list", "--format=%(refname:short)", cwd=remote).split() == ["main"]


def test_an_unreachable_remote_is_exit_4_and_says_what_git_said(
    folder: Path, tmp_path: Path, recorded: Any
) -> None:
    with pytest.raises(RemoteUnavailable, match=r"cannot clone .* git says") as caught:
        publish_folder(folder, str(tmp_path / "no-such.git"))
    assert caught.value.exit_code == 4
    assert recorded == []


def test_a_missing_base_branch_is_named(folder: Path, remote: Path, recorded: Any) -> None:
    with pytest.raises(RemoteUnavailable, match=r"branch trunk"):
        publish_folder(folder, str(remote), base="trunk")


def test_a_remote_url_with_a_token_in_it_is_refused(folder: Path, recorded: Any) -> None:
    with pytest.raises(InputFileError, match=r"carries a password or token"):
        publish_folder(folder, f"https://x-access-token:{TOKEN}@github.com/ada-l/results.git")


# --- GitHub ---------------------------------------------------------------------------------------


def test_with_a_token_the_pull_request_is_opened(
    folder: Path, remote: Path, recorded: list[tuple[str, str, str]], github: type[FakeGitHub]
) -> None:
    result = publish_folder(folder, str(remote), github_repo="octocat/Hello-World")
    assert result.pull_request is not None
    assert (result.pull_request.url, result.pull_request.number) == (
        "https://github.com/octocat/Hello-World/pull/1347",
        1347,
    )
    assert not result.pull_request.reused
    listed, created = github.requests
    assert listed["method"] == "GET"
    assert listed["path"] == (
        f"/repos/octocat/Hello-World/pulls?head=octocat%3A{BRANCH.replace('/', '%2F')}&state=open"
    )
    assert created["method"] == "POST" and created["path"] == "/repos/octocat/Hello-World/pulls"
    body = created["body"]
    assert (body["head"], body["base"]) == (BRANCH, "main")
    assert body["title"] == f"feat(submissions): add ada-l/epyc-24gb run {RUN_ID}"
    assert "accuracy 0.133 [0.0237, 0.379]" in body["body"]
    assert "Nothing merges automatically" in body["body"]
    assert set(body) == {"title", "head", "base", "body", "maintainer_can_modify", "draft"}
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in github.requests)
    assert recorded[0][2] == "https://github.com/octocat/Hello-World/pull/1347"


def test_an_open_pull_request_for_the_branch_is_reused(
    folder: Path, remote: Path, recorded: Any, github: type[FakeGitHub]
) -> None:
    github.open_pulls = [DOCUMENTED_PULL_REQUEST]
    result = publish_folder(folder, str(remote), github_repo="octocat/Hello-World")
    assert result.pull_request is not None and result.pull_request.reused
    assert [r["method"] for r in github.requests] == ["GET"]  # nothing created


def test_a_fork_s_branch_is_named_with_its_owner(github: type[FakeGitHub]) -> None:
    opened = puma.publish.open_pull_request(
        "octocat/Hello-World", BRANCH, "main", TOKEN, title="t", body="b", head_owner="ada-l"
    )
    assert opened.number == 1347
    assert "head=ada-l%3Asubmission" in github.requests[0]["path"]
    assert github.requests[1]["body"]["head"] == f"ada-l:{BRANCH}"


def test_the_github_repository_is_derived_from_a_github_remote() -> None:
    for url in (
        "https://github.com/ada-l/puma-results.git",
        "https://github.com/ada-l/puma-results",
        "git@github.com:ada-l/puma-results.git",
        "ssh://git@github.com/ada-l/puma-results.git",
    ):
        assert puma.publish._target_repo(url, None) == "ada-l/puma-results", url
        assert puma.publish._remote_owner(url) == "ada-l"
    assert puma.publish._target_repo("/srv/git/results.git", None) is None
    assert puma.publish._target_repo("/srv/x", "puma-bench/puma") == "puma-bench/puma"
    with pytest.raises(InputFileError, match=r"not OWNER/REPO"):
        puma.publish._target_repo("/srv/x", "puma-bench")


def test_a_refused_pull_request_says_the_branch_is_pushed(
    folder: Path, remote: Path, recorded: Any, github: type[FakeGitHub]
) -> None:
    github.create_status = 422
    with pytest.raises(RemoteUnavailable, match=r"branch is pushed.*Validation Failed"):
        publish_folder(folder, str(remote), github_repo="octocat/Hello-World")
    assert BRANCH in git("branch", "--list", "--format=%(refname:short)", cwd=remote).split()


def test_the_token_is_never_written_or_printed(
    folder: Path,
    remote: Path,
    recorded: Any,
    github: type[FakeGitHub],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from puma.cli.app import app

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # the temporary clone goes here
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    done = CliRunner().invoke(
        app, ["publish", str(folder), "--git", str(remote), "--github-repo", "octocat/Hello-World"]
    )
    assert done.exit_code == 0, done.output
    assert "pull/1347" in done.output and TOKEN not in done.output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_the_credential_helper_gives_git_the_token_from_the_environment_only(
    tmp_path: Path,
) -> None:
    helper = puma.publish._Git(TOKEN, secret=TOKEN)
    command = helper._command(["credential", "fill"])
    assert TOKEN not in " ".join(command)
    done = subprocess.run(
        command,
        input="protocol=https\nhost=github.com\n\n",
        capture_output=True,
        text=True,
        env=helper._env(None),
        cwd=tmp_path,
    )
    assert "username=x-access-token" in done.stdout and f"password={TOKEN}" in done.stdout


def test_git_s_own_words_are_shown_without_the_token(tmp_path: Path) -> None:
    helper = puma.publish._Git(TOKEN, secret=TOKEN)
    with pytest.raises(RemoteUnavailable) as caught:
        helper.run(["clone", f"/nowhere/{TOKEN}"], cwd=tmp_path)
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)


# --- with the other helpers' real modules -------------------------------------------------------


def test_publish_records_the_submission_in_the_local_history(
    folder: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = pytest.importorskip(
        "puma.community.history", reason="the local history is helper privacy's module"
    )
    monkeypatch.setattr(puma.publish, "refuse_private_values", lambda folder, what: None)
    publish_folder(folder, str(remote))
    last = history.last_submission()
    assert last is not None and f"run-{RUN_ID}" in str(last)


def test_publish_runs_the_real_privacy_scan(folder: Path, remote: Path) -> None:
    pytest.importorskip("puma.submission.privacy", reason="the scan is helper privacy's module")
    pytest.importorskip("puma.community.history", reason="the history is helper privacy's module")
    narrative = folder / "run.md"
    narrative.write_text(narrative.read_text() + "\nAsk me: ada.lovelace@protonmail.com\n")
    with pytest.raises(CheckFailed, match=r"privacy scan found"):
        publish_folder(folder, str(remote))


def test_publish_cli_exit_codes_and_no_traceback(folder: Path, tmp_path: Path) -> None:
    def puma(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "puma.cli.app", *args], capture_output=True, text=True
        )
        assert "Traceback" not in done.stdout + done.stderr
        return done

    missing = puma("publish", str(tmp_path / "nowhere"), "--git", str(tmp_path))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    (folder / "notes.txt").write_text("x")
    invalid = puma("publish", str(folder), "--git", str(tmp_path))
    assert invalid.returncode == 1 and "notes.txt" in invalid.stderr
