"""Tokens PUMA uses on a person's behalf (GitHub, to open a submission's pull request): stored
in the OS keyring when one is usable, else in `config_dir()/credentials.json` (mode 0600, in a
0700 folder). A token is never printed, logged, or written anywhere but its store: status shows
where it is and its last four characters at most.

Reading order: the keyring, then the file, then the service's environment variable
(`GITHUB_TOKEN`), so a CI job needs no login.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from puma.errors import CredentialError, InputFileError
from puma.jsonio import dump_pretty, first_problem, parse_json
from puma.outputs import writing
from puma.userconfig import config_dir

CREDENTIALS_FILE = "credentials.json"
CREDENTIALS_SCHEMA: Literal["credentials-1.0"] = "credentials-1.0"
KEYRING_SERVICE = "puma"  # keyring's (service, username) is ("puma", <our service name>)
ENV_VARS = {"github": "GITHUB_TOKEN"}
SERVICES = tuple(ENV_VARS)
RELOGIN_HINT = "`puma auth logout` removes it; then log in again"
MASK_MIN_LENGTH = 16  # a shorter token shows no characters at all
_GITHUB_SHAPE = re.compile(
    r"^(?:gh[pousr]_[A-Za-z0-9]{30,251}|github_pat_[A-Za-z0-9_]{22,244}|[0-9a-f]{40})$"
)

Source = Literal["keyring", "file", "environment"]


class CredentialsFile(BaseModel):
    """credentials.json: one token per service."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal["credentials-1.0"] = CREDENTIALS_SCHEMA
    tokens: dict[str, str] = Field(default_factory=dict)


class TokenStatus(BaseModel):
    """Where a service's token is, never what it is."""

    model_config = ConfigDict(extra="forbid")
    service: str
    source: Source | None  # None: no token anywhere
    location: str | None  # the keyring backend, the file's path or the variable's name
    masked: str | None  # "…abcd"
    notes: list[str] = Field(default_factory=list)


class LoginResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: TokenStatus
    given_by: str  # where the token came from: --token, standard input, GITHUB_TOKEN, prompt
    warnings: list[str] = Field(default_factory=list)


def check_service(service: str) -> str:
    if service not in ENV_VARS:
        raise CredentialError(
            f"unknown service {service!r}", hint=f"known services: {', '.join(SERVICES)}"
        )
    return service


def mask(token: str) -> str:
    """The last four characters, and only for a token long enough that they give nothing away."""
    return f"…{token[-4:]}" if len(token) >= MASK_MIN_LENGTH else "…"


def shape_warning(service: str, token: str) -> str | None:
    """A warning when the token does not look like one of the service's; not a refusal (token
    formats change, and the service is the judge)."""
    if service == "github" and not _GITHUB_SHAPE.match(token):
        return (
            "this does not look like a GitHub token (ghp_…, github_pat_…, gho_… or 40 hex "
            "characters); stored anyway"
        )
    return None


def clean_token(raw: str) -> str:
    """The token in `raw` (one line, surrounding whitespace removed); refused when empty or
    when it holds whitespace or control characters (a paste of more than the token)."""
    token = raw.strip()
    if not token:
        raise CredentialError("the token is empty")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token):
        raise CredentialError(
            "the token contains spaces, line breaks or control characters",
            hint="give the token alone, on one line",
        )
    return token


def choose_login_token(
    service: str, option: str | None, piped: str | None, environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """(token, where it came from) for `puma auth login`: --token, else standard input when
    something was piped, else the service's environment variable; None when none gave one."""
    variable = ENV_VARS[check_service(service)]
    if option is not None:
        return clean_token(option), "--token"
    if piped is not None and piped.strip():
        return clean_token(piped), "standard input"
    if environ.get(variable, "").strip():
        return clean_token(environ[variable]), variable
    return None


def login(service: str, token: str, given_by: str) -> LoginResult:
    """Store a token and say where it went."""
    warnings = [w for w in (shape_warning(service, token),) if w]
    status = store_token(service, token)
    return LoginResult(status=status, given_by=given_by, warnings=warnings + status.notes)


# --- the two stores -------------------------------------------------------------------------------


def usable_keyring() -> KeyringBackend | None:
    """The OS keyring, or None when keyring found none (its fail and null backends, or a chainer
    with nothing to chain)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # keyring's backend discovery imports platform modules that can fail
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _backend_name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


def _read_file() -> CredentialsFile:
    path = credentials_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CredentialsFile()
    except OSError as exc:
        raise CredentialError(
            f"cannot read: {exc.strerror or type(exc).__name__}", where=str(path)
        ) from None
    try:
        return CredentialsFile.model_validate(parse_json(raw, path))
    except ValidationError as exc:
        raise CredentialError(
            f"{CREDENTIALS_FILE}: {first_problem(exc)}",
            where=str(path),
            hint=RELOGIN_HINT,
        ) from None
    except InputFileError as exc:  # not UTF-8, not JSON
        raise CredentialError(exc.message, where=exc.where, hint=RELOGIN_HINT) from None


def _write_file(document: CredentialsFile) -> Path:
    """Write the file atomically, readable by its owner only from the first byte: the folder is
    made 0700, the temporary file is created 0600 (mkstemp) and renamed over the old one. With no
    tokens left the file is removed."""
    folder = config_dir()
    path = folder / CREDENTIALS_FILE
    if not document.tokens:
        with writing(path, "remove"):
            path.unlink(missing_ok=True)
        return path
    with writing(folder, "create the config folder"):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    tmp: str | None = None
    with writing(path):
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".credentials-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(dump_pretty(document.model_dump(mode="json")))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            tmp = None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
    return path


# --- the interface --------------------------------------------------------------------------------


def store_token(service: str, token: str) -> TokenStatus:
    """Store `token` for `service`: in the keyring when one is usable, else in the file. A copy
    left in the other store is removed, so one token is in force."""
    check_service(service)
    token = clean_token(token)
    notes: list[str] = []
    backend = usable_keyring()
    if backend is not None:
        try:
            backend.set_password(KEYRING_SERVICE, service, token)
        except Exception as exc:  # a backend's own errors (D-Bus, Keychain) too, not only keyring's
            notes.append(f"the keyring refused the token ({type(exc).__name__}); used the file")
        else:
            _remove_from_file(service)
            return _status(service, "keyring", _backend_name(backend), token, notes)
    document = _read_file()
    document.tokens[service] = token
    path = _write_file(document)
    return _status(service, "file", str(path), token, notes)


def get_token(service: str = "github") -> str | None:
    """The stored token, else the service's environment variable, else None."""
    found = _find(check_service(service))
    return found[1] if found else None


def delete_token(service: str) -> list[str]:
    """Remove the stored token from every store; the places it was removed from."""
    check_service(service)
    removed = []
    backend = usable_keyring()
    if backend is not None:
        with contextlib.suppress(Exception):  # as in store_token: any backend error
            if backend.get_password(KEYRING_SERVICE, service) is not None:
                backend.delete_password(KEYRING_SERVICE, service)
                removed.append(f"keyring ({_backend_name(backend)})")
    try:
        if _remove_from_file(service):
            removed.append(str(credentials_path()))
    except CredentialError:
        # Unreadable, so no token in it can be used: logging out is what clears it.
        with writing(credentials_path(), "remove"):
            credentials_path().unlink()
        removed.append(f"{credentials_path()} (unreadable, removed whole)")
    return removed


def token_status(service: str) -> TokenStatus:
    check_service(service)
    found = _find(service)
    if found is None:
        return TokenStatus(service=service, source=None, location=None, masked=None)
    source, token, location = found
    notes = []
    variable = ENV_VARS[service]
    if source != "environment" and os.environ.get(variable):
        notes.append(f"{variable} is also set; the stored token is the one used")
    if source == "file":
        mode = stat.S_IMODE(credentials_path().stat().st_mode)
        if mode & 0o077:
            notes.append(f"{location} has mode {mode:04o}: others can read it; chmod 600 it")
    warning = shape_warning(service, token)
    return _status(service, source, location, token, notes + ([warning] if warning else []))


def _find(service: str) -> tuple[Source, str, str] | None:
    backend = usable_keyring()
    if backend is not None:
        try:
            token = backend.get_password(KEYRING_SERVICE, service)
        except Exception:  # as in store_token: an unreadable keyring is no token from it
            token = None
        if token:
            return "keyring", token, _backend_name(backend)
    token = _read_file().tokens.get(service)
    if token:
        return "file", token, str(credentials_path())
    variable = ENV_VARS[service]
    if os.environ.get(variable, "").strip():
        return "environment", os.environ[variable].strip(), variable
    return None


def _remove_from_file(service: str) -> bool:
    path = credentials_path()
    if not path.exists():
        return False
    document = _read_file()
    if document.tokens.pop(service, None) is None:
        return False
    _write_file(document)
    return True


def _status(
    service: str, source: Source, location: str, token: str, notes: list[str]
) -> TokenStatus:
    return TokenStatus(
        service=service, source=source, location=location, masked=mask(token), notes=notes
    )
