"""`puma registry serve|migrate` and `puma registry token create|list|revoke`.

Thin commands over puma.registry: the database is `--database-url`, else PUMA_DATABASE_URL, else
one SQLite file in `--data-dir`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from puma.cli.console import make_console

console = make_console()

registry_app = typer.Typer(
    name="registry",
    help="Run the submission registry (re-verifies uploads, keeps a hash-chained log).",
    no_args_is_help=True,
)
token_app = typer.Typer(name="token", help="API tokens for uploaders.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL (postgresql://USER@HOST/DB); default: PUMA_DATABASE_URL, else "
        "SQLite in --data-dir.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder of the SQLite database (default: ~/.config/puma/registry)."
    ),
]


def serve(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    max_upload_mib: Annotated[
        int, typer.Option("--max-upload-mib", help="Largest request body accepted.")
    ] = 32,
    uploads_per_minute: Annotated[
        float, typer.Option("--uploads-per-minute", help="Upload rate allowed per API token.")
    ] = 60.0,
) -> None:
    """Serve the registry: JSON API under /api/v1, leaderboard at /, OpenAPI at /openapi.json."""
    from puma.registry.app import serve as run_server
    from puma.registry.settings import RegistrySettings

    settings = RegistrySettings.from_options(
        database_url=database_url,
        data_dir=data_dir,
        max_request_bytes=max_upload_mib << 20,
        uploads_per_minute=uploads_per_minute,
    )
    run_server(settings, host=host, port=port)


def migrate(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Create or upgrade the registry's database to the newest schema."""
    from puma.registry.db import make_engine
    from puma.registry.db import migrate as apply_migrations
    from puma.registry.settings import RegistrySettings

    settings = RegistrySettings.from_options(database_url=database_url, data_dir=data_dir)
    revision = apply_migrations(make_engine(settings.database_url))
    console.print(f"registry database at revision {revision}", highlight=False)


def token_create(
    name: Annotated[str, typer.Option("--name", help="Who the token is for (shown in lists).")],
    admin: Annotated[
        bool, typer.Option("--admin", help="May withdraw anyone's submission.")
    ] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create an API token and print it once; only its SHA-256 is stored."""
    from puma.registry.tokens import issue_token

    issued = issue_token(_url(database_url, data_dir), name, admin=admin)
    console.print(f"token {issued.id} for {issued.name!r}{' (admin)' if issued.admin else ''}:")
    # Plain print: the token alone on its line, for copying or `| tail -1`.
    print(issued.token)
    console.print("store it now: it is not shown again", style="yellow")


def token_list(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """List API tokens (never their values)."""
    from puma.registry.tokens import stored_tokens

    for info in stored_tokens(_url(database_url, data_dir)):
        state = "revoked" if info.revoked else ("admin" if info.admin else "uploader")
        console.print(
            f"{info.id:>4}  {info.name}  {state}  {info.created_at:%Y-%m-%d %H:%M}",
            highlight=False,
        )


def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke an API token: it is refused from now on."""
    from puma.registry.tokens import revoke_stored_token

    info = revoke_stored_token(_url(database_url, data_dir), token_id)
    console.print(f"token {info.id} ({info.name}) revoked", highlight=False)


def _url(database_url: str | None, data_dir: Path | None) -> str:
    from puma.registry.settings import RegistrySettings

    return RegistrySettings.from_options(database_url=database_url, data_dir=data_dir).database_url


def register(app: typer.Typer) -> None:
    registry_app.command("serve")(serve)
    registry_app.command("migrate")(migrate)
    token_app.command("create")(token_create)
    token_app.command("list")(token_list)
    token_app.command("revoke")(token_revoke)
    registry_app.add_typer(token_app)
    app.add_typer(registry_app)
