"""The command line: thin Typer commands, one module per command group. No logic lives here."""
