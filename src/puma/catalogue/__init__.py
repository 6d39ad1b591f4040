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
`CatalogueRun`, `catalogue_run`, `read_contributor_folder` (one folder -> its run),
`BrokenFolder`, `render_index`, `render_run_page`, `index_script_hash`.
"""

from puma.catalogue.build import CatalogueSummary, build_catalogue
from puma.catalogue.leaderboard import Leaderboard, build_leaderboard
from puma.catalogue.runs import CatalogueRun, catalogue_run
from puma.catalogue.scan import BrokenFolder, read_contributor_folder
from puma.catalogue.site import index_script_hash, render_index, render_run_page

__all__ = [
    "BrokenFolder",
    "CatalogueRun",
    "CatalogueSummary",
    "Leaderboard",
    "build_catalogue",
    "build_leaderboard",
    "catalogue_run",
    "index_script_hash",
    "read_contributor_folder",
    "render_index",
    "render_run_page",
]
