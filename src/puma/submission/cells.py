"""Names of the crowd: contributor handles, device tags and the catalogue's cell id.

The contributor folder (`submissions/<handle>/<device-tag>/run-<uuid>/`), the catalogue and the
registry all name things through these functions, so a name accepted by one is accepted by all.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from puma.errors import InputFileError

# Lower-case ASCII letters, digits and single hyphens, starting and ending with a letter or digit:
# safe as a folder name on every OS, as a git branch component and in a URL without escaping.
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_MAX = 64
RUN_FOLDER = re.compile(r"^run-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_name(value: str, *, kind: str) -> str:
    """Return `value` when it is a valid handle or device tag (`kind` says which, for the
    message); otherwise raise InputFileError saying what is allowed."""
    if not _NAME.fullmatch(value) or len(value) > NAME_MAX:
        raise InputFileError(
            f"{kind} {value!r} is not allowed",
            hint=f"a {kind} is 1-{NAME_MAX} lower-case ASCII letters, digits and single hyphens, "
            "starting and ending with a letter or digit (e.g. 'ada-l', 'rtx-4090-pc')",
        )
    return value


def check_handle(value: str) -> str:
    return check_name(value, kind="handle")


def check_device_tag(value: str) -> str:
    return check_name(value, kind="device tag")


def cell_id(device_tag: str, model: str) -> str:
    """The catalogue's cell: one device tag and one model, as `<device-tag>/<model>`.

    A device tag never contains "/", so the first "/" always separates the two even when the
    model name has its own ("meta-llama/Llama-3-8B"). The model keeps its spelling from the run's
    manifest (case included): two spellings are two cells, never silently merged."""
    check_device_tag(device_tag)
    if not model or model != model.strip() or any(ord(c) < 32 for c in model):
        raise InputFileError(f"model name {model!r} cannot name a cell")
    return f"{device_tag}/{model}"


def split_cell_id(value: str) -> tuple[str, str]:
    """(device tag, model) of a cell id made by cell_id()."""
    device_tag, sep, model = value.partition("/")
    if not sep:
        raise InputFileError(f"cell id {value!r} has no '/' between device tag and model")
    check_device_tag(device_tag)
    return device_tag, model


def cell_slug(value: str) -> str:
    """A cell id as one URL path segment or file name: percent-encoded, "/" included."""
    return quote(value, safe="")


def cell_from_slug(slug: str) -> str:
    return unquote(slug)
