"""Placeholder: the `evaluate` commands are being written."""

import typer


def register(app: typer.Typer) -> None:
    pass
