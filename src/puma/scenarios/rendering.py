"""The Jinja2 environment over the prompt templates in `scenarios/templates/`.

Prompt wording lives in those files only. `completion.j2` and `chat.j2` lay out a prompt for any
task; `<task>.j2` says how one item of that task reads (fields, answer cue, label definitions).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jinja2

DESCRIPTION_CHARS = 1200  # keeps a few-shot-K prompt of long issues inside a 4k context


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("puma.scenarios", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        # The completion text must end exactly at the answer cue: no newline after it.
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["oneline"] = oneline
    env.filters["clip"] = clip
    return env


def oneline(value: Any) -> str:
    """A field on one line: a blank line inside a description would end the record early."""
    return re.sub(r"\s+", " ", str(value)).strip()


def clip(value: Any, limit: int = DESCRIPTION_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary, marked with an ellipsis."""
    text = str(value)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + " …"


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@cache
def task_module(task_template: str, **context: Any) -> Any:
    """The variables and macros a `<task>.j2` file defines (answer cue, stop sequences).

    Cached: parsing asks for the answer cue on every reply, and the context (labels or points,
    as tuples) takes only a few values.
    """
    return environment().get_template(task_template).make_module(context)


def chat_messages(**context: Any) -> tuple[dict[str, str], ...]:
    """System and user messages from the `system` and `user` macros of chat.j2."""
    module = environment().get_template("chat.j2").make_module(context)
    return (
        # Jinja exposes a template's macros as attributes made at run time.
        {"role": "system", "content": str(module.system()).strip()},  # type: ignore[attr-defined]
        {"role": "user", "content": str(module.user()).strip()},  # type: ignore[attr-defined]
    )
