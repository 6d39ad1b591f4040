"""`puma sweep lint`: the contract that shards only predict. A worker body that computes metrics,
bootstraps, paired tests or calibration fits is refused: those belong to `puma merge`, which
runs on a CPU from the shards' files, so re-scoring never costs GPU time again.

Read from source, never imported: the worker entry's module and every module it imports when
it loads (module level, not under TYPE_CHECKING), following the project's own modules, must not
import a statistics package; the entry's module must not call statistics by name.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from puma.errors import SpecError
from puma.sweep.model import read_sweep

# Packages a worker must not load: PUMA's statistics and evaluation, and the usual outside ones.
FORBIDDEN_MODULES = (
    "puma.stats",
    "puma.evaluate",
    "puma.merge",
    "puma.report",
    "scipy.stats",
    "statsmodels",
    "sklearn.calibration",
    "sklearn.metrics",
)
# Names of calls that compute what merge computes (matched as words of a call's name).
FORBIDDEN_CALL = re.compile(
    r"(^|_|\.)(bootstrap\w*|resample\w*|paired\w*|permutation\w*|mcnemar|wilcoxon|"
    r"calibrat\w*|isotonic\w*|platt\w*|metrics?|score_suites|evaluate\w*|merge_runs|"
    r"f1_score|accuracy_score|cohen_kappa\w*|brier\w*|ece)($|_|\.)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LintProblem:
    where: str  # file:line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def lint_sweep(path: Path) -> list[LintProblem]:
    """Every way the sweep's worker would compute statistics; empty when it only predicts. A
    sweep file that does not validate raises SpecError (located)."""
    sweep = read_sweep(path).require()
    module_name, _, function = sweep.worker.entry.partition(":")
    source = _source_of(module_name)
    if source is None:
        raise SpecError(
            f"worker.entry: module {module_name!r} is not found",
            where=str(path),
            hint="module:function of an importable module, e.g. puma.sweep.worker:run_shard",
        )
    problems = list(_calls_in(source, function))
    problems.extend(_imports_from(module_name, source, whole_module=True))
    return problems


def _source_of(module_name: str) -> Path | None:
    """The module's .py file, found on the path without importing it (find_spec of a dotted
    name would import its parent packages)."""
    top, *rest = module_name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:
        return Path(spec.origin) if spec.origin and spec.origin.endswith(".py") else None
    for folder in spec.submodule_search_locations or []:
        base = Path(folder).joinpath(*rest)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _forbidden(module: str) -> str | None:
    return next((f for f in FORBIDDEN_MODULES if module == f or module.startswith(f + ".")), None)


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_call_name(node.value)}.{node.attr}"
    return ""


def _calls_in(path: Path, function: str) -> list[LintProblem]:
    """Calls in the entry's module whose names say they compute statistics."""
    tree = _parse(path)
    if not any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
        for node in tree.body
    ):
        return [LintProblem(str(path), f"no function {function!r} (worker.entry)")]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name and FORBIDDEN_CALL.search(name):
                problems.append(
                    LintProblem(
                        f"{path}:{node.lineno}",
                        f"the worker calls {name}(): metrics, resampling, paired tests and "
                        "calibration belong to `puma merge`, after the shards",
                    )
                )
    return problems


def _module_imports(tree: ast.Module, module: str, whole_module: bool) -> list[tuple[str, int]]:
    """(imported module, line) of the imports that run when the module loads; with
    `whole_module`, also those inside its functions (the worker body runs them all)."""
    found: list[tuple[str, int]] = []
    nodes = ast.walk(tree) if whole_module else iter(_load_time(tree.body))
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            base = node.module
            if node.level:  # relative: from the module's package
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{base}"
            found.append((base, node.lineno))
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
    return found


def _load_time(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import: not function bodies, not `if TYPE_CHECKING:`."""
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
            out.extend(_load_time(stmt.orelse))
        elif isinstance(stmt, ast.If | ast.Try):
            out.append(stmt)
            for block in ("body", "orelse", "finalbody"):
                out.extend(_load_time(getattr(stmt, block, [])))
            for handler in getattr(stmt, "handlers", []):
                out.extend(_load_time(handler.body))
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            out.append(stmt)
    return out


def _imports_from(module: str, path: Path, *, whole_module: bool) -> list[LintProblem]:
    """Walk the import graph from the entry's module through the modules that load with it."""
    problems: list[LintProblem] = []
    seen: set[str] = set()
    reported: set[str] = set()
    stack: list[tuple[str, Path, bool, str]] = [(module, path, whole_module, module)]
    while stack:
        name, file, whole, chain = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported, line in _module_imports(_parse(file), name, whole):
            bad = _forbidden(imported)
            if bad and f"{file}:{line}" in reported:
                continue  # `from puma.stats import a, b`: one problem per line
            if bad:
                reported.add(f"{file}:{line}")
                via = f" (via {chain})" if chain != module else ""
                problems.append(
                    LintProblem(
                        f"{file}:{line}",
                        f"the worker imports {imported}{via}: statistics belong to "
                        "`puma merge`, after the shards",
                    )
                )
                continue
            if imported.split(".")[0] != module.split(".")[0] and not imported.startswith("puma."):
                continue  # outside packages: only the named statistics ones are refused
            source = _source_of(imported)
            if source is not None and imported not in seen:
                stack.append((imported, source, False, f"{chain} → {imported}"))
    return problems
