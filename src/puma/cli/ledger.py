"""Placeholder: the `ledger` commands are being written."""

import typer


def register(app: typer.Typer) -> None:
    pass
