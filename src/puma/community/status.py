"""`puma community status`: what this machine knows about its community set-up, read locally
(credentials store, history file, environment); no network call, never an error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from puma.community.channels import CHANNELS
from puma.community.history import HistoryEntry, last_submission
from puma.errors import PumaError


@dataclass(frozen=True)
class CommunityStatus:
    authenticated: bool
    auth_detail: str  # where the token is ("keyring"), or why there is none
    last: HistoryEntry | None
    configured: int
    total: int


def github_login() -> tuple[bool, str]:
    """(logged in, where or why not), from the credentials store."""
    try:
        # puma.credentials is helper probe's module; this is the one place that imports it.
        from puma.credentials import token_status  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return False, "credentials support is not installed"
    try:
        status = token_status("github")
    except PumaError as exc:
        return False, f"credentials unreadable: {exc.message}"
    if status.source is None:
        return False, "not logged in"
    return True, str(status.source)


def collect_status(env: Mapping[str, str] | None = None) -> CommunityStatus:
    authenticated, detail = github_login()
    return CommunityStatus(
        authenticated=authenticated,
        auth_detail=detail,
        last=last_submission(),
        configured=sum(c.configured(env) for c in CHANNELS),
        total=len(CHANNELS),
    )
