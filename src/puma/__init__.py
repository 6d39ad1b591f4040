"""PUMA: benchmark local language models on project-management work, with verifiable results.

The public surface is small: load a spec, run it, evaluate a run folder, verify a submission.
Everything else is internal and may change.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("puma-bench")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
