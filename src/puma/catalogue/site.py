"""The pages of the leaderboard: index.html from a Leaderboard, runs/<run-id>.html from a run and
its run.md. Functions of their arguments only, so the registry serves the same pages live.

Jinja2 with autoescape renders every value a contributor could have written; run.md goes
through markdown-it in CommonMark mode with raw HTML off (it is shown as text), images off (no
request leaves the page) and markdown-it's link check (javascript:, vbscript:, file: and data:
links are not made links). The pages carry a Content-Security-Policy that allows no script but
the leaderboard's own, pinned by its hash.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from puma.catalogue.leaderboard import Leaderboard
from puma.catalogue.runs import CatalogueRun

TITLE = "PUMA leaderboard"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("puma.catalogue", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    environment.filters["fig"] = figure_text
    return environment


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("puma.catalogue").joinpath(f"templates/{name}").read_text()


def figure_text(value: Any, digits: int = 3) -> str:
    """A figure as shown: fixed decimals, a thin grouping for large numbers, — when absent."""
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    return md


def render_markdown(text: str) -> Markup:
    """run.md as safe HTML: CommonMark without raw HTML, images or script links."""
    html = _markdown().render(text)
    # Links a contributor wrote leave the catalogue without telling them where from.
    html = html.replace("<a href=", '<a rel="nofollow noopener noreferrer" href=')
    return Markup(html)  # markdown-it escaped every text and attribute


def index_script_hash() -> str:
    """The CSP source of index.html's one inline script (a server that sends its own
    Content-Security-Policy header must allow it too)."""
    script = _asset("leaderboard.js")
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


def render_index(
    board: Leaderboard,
    broken: list[Any] | None = None,
    title: str = TITLE,
    *,
    run_prefix: str = "runs/",
    run_suffix: str = ".html",
    data_links: bool = True,
) -> str:
    """index.html: the sortable, filterable table of cells, with links to run pages at
    `run_prefix + run_id + run_suffix` (a server mounts them where it likes) and, when
    `data_links`, to data/*.parquet."""
    script = _asset("leaderboard.js")
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            board=board,
            broken=broken or [],
            run_prefix=run_prefix,
            run_suffix=run_suffix,
            data_links=data_links,
            title=title,
            style=Markup(_asset("style.css")),  # our own file
            script=Markup(script),  # our own file
            script_hash=index_script_hash(),
        )
    )


def render_run_page(
    run: CatalogueRun,
    run_md: str | None,
    *,
    outliers: list[str] | None = None,
    index_href: str = "../index.html",
    title: str = TITLE,
) -> str:
    """runs/<run-id>.html: the run's grade and reasons, figures, flags and its run.md.
    `outliers` are the leaderboard's columns where the run is an outlier in its cell
    (Leaderboard.outlier_index())."""
    return (
        _environment()
        .get_template("run.html.j2")
        .render(
            run=run,
            outliers=outliers or [],
            run_md=None if run_md is None else render_markdown(run_md),
            index_href=index_href,
            title=title,
            style=Markup(_asset("style.css")),  # our own file
        )
    )
