"""The catalogue: contributor folders graded into cells with honest statistics, and the static
leaderboard site built from them.

    scan.py          the submissions folder, read folder by folder (BrokenFolder for a bad one)
    runs.py          CatalogueRun: one run's recomputed figures, grade and reasons
    plausibility.py  generation speed against the memory-bandwidth bound (data/*.yaml)
    overlay.py       overlay.yaml: runs hidden from the browse surface
    statistics.py    clustered bootstrap, robust z-scores, rank intervals
    leaderboard.py   build_leaderboard(runs) -> Leaderboard (pure; the registry reuses it)
    site.py          index.html and run pages (Jinja2, autoescaped; run.md via markdown-it)
    build.py         build_catalogue(submissions_dir, out_dir) -> CatalogueSummary

Public: `build_catalogue`, `CatalogueSummary`, `build_leaderboard`, `Leaderboard`,
`CatalogueRun`, `catalogue_run`, `render_index`, `render_run_page`.
"""

from puma.catalogue.build import CatalogueSummary, build_catalogue
from puma.catalogue.leaderboard import Leaderboard, build_leaderboard
from puma.catalogue.runs import CatalogueRun, catalogue_run
from puma.catalogue.site import render_index, render_run_page

__all__ = [
    "CatalogueRun",
    "CatalogueSummary",
    "Leaderboard",
    "build_catalogue",
    "build_leaderboard",
    "catalogue_run",
    "render_index",
    "render_run_page",
]
