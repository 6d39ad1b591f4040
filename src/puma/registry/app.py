"""The registry's HTTP surface: the JSON API under /api/v1, two HTML pages, OpenAPI.

Every error is `{"error": {"check": NAME, "message": TEXT}}` with a fitting status. HTML pages
are rendered by Jinja2 with autoescaping on, so nothing from an upload reaches a page unescaped.
"""

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from puma import __version__
from puma.catalogue import (
    BrokenFolder,
    CatalogueRun,
    index_script_hash,
    render_index,
    render_run_page,
)
from puma.jsonio import dump_pretty
from puma.registry import store
from puma.registry.db import ApiToken, LogHead, SubmissionFile, make_engine, make_sessions, migrate
from puma.registry.intake import PACKAGE, Upload, UploadRejected, identify, vet
from puma.registry.leaderboard import (
    CatalogueView,
    catalogue_leaderboard,
    leaderboard_from_log,
    plain_leaderboard,
)
from puma.registry.limits import RateLimiter, RequestSizeLimit
from puma.registry.log import log_entries
from puma.registry.settings import RegistrySettings
from puma.registry.tokens import authenticate
from puma.registry.verifier import multipart_parts, verify_parts

TEMPLATES = Path(__file__).parent / "templates"
SUBMISSION_ID = r"^[A-Za-z0-9-]{1,64}$"
# Pages show only what this page itself links to; no script runs on them.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
ERROR_SCHEMA = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"check": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            }
        }
    }
}


class WithdrawRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=500)


def error_response(
    status: int, check: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"check": check, "message": message}}, status_code=status, headers=headers
    )


def create_app(settings: RegistrySettings) -> FastAPI:
    """The registry on `settings.database_url`, migrated to the newest schema first."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions: sessionmaker[Session] = make_sessions(engine)
    uploads = RateLimiter(settings.uploads_per_minute, settings.upload_burst)
    verifies = RateLimiter(settings.verifies_per_minute, max(1, int(settings.verifies_per_minute)))
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    bearer = HTTPBearer(auto_error=False, description="an API token: `puma registry token create`")

    app = FastAPI(
        title=settings.title,
        version=__version__,
        description="Re-verifies every upload and keeps a public, hash-chained log.",
    )
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    app.state.engine = engine

    @app.exception_handler(UploadRejected)
    async def _rejected(request: Request, exc: UploadRejected) -> JSONResponse:
        return error_response(exc.status, exc.check, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        status = 400 if first.get("type") == "json_invalid" else 422
        return error_response(status, "request", f"{where}: {first.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http", str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal", "an internal error; it has been logged")

    def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiToken:
        row = None
        if credentials is not None:
            with sessions() as session:
                row = authenticate(session, credentials.credentials)
        if row is None:
            missing = "an API token is needed: Authorization: Bearer <token>"
            raise UploadRejected(
                "auth",
                missing if credentials is None else "unknown or revoked API token",
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return row

    def limit(key: str, limiter: RateLimiter, what: str) -> None:
        wait = limiter.retry_after(key)
        if wait is not None:
            raise UploadRejected(
                "rate-limit",
                f"too many {what}; try again in {wait:.0f} s",
                status=429,
                headers={"Retry-After": str(max(1, round(wait)))},
            )

    rejections: dict[int | str, dict[str, Any]] = {
        status: {"description": text, **ERROR_SCHEMA}
        for status, text in (
            (400, "malformed request"),
            (401, "no or bad API token"),
            (409, "the submission id was taken by different content"),
            (413, "request too large"),
            (422, "a check failed"),
            (429, "rate limited"),
        )
    }

    @app.post(
        "/api/v1/submissions",
        status_code=201,
        responses={200: {"description": "this exact upload was already accepted"}, **rejections},
        tags=["submissions"],
    )
    def upload_submission(
        upload: Annotated[Upload, Body()],
        response: Response,
        uploader: Annotated[ApiToken, Depends(caller)],
    ) -> dict[str, Any]:
        """Upload a submission package or a contributor folder. It is re-verified before it is
        accepted and appended to the log; the same upload again answers 200 with the record."""
        limit(f"token:{uploader.id}", uploads, "uploads for this token")
        submission_id, digest = identify(upload)
        with sessions() as session:
            repeat = store.existing_answer(session, submission_id, digest)
        if repeat is None:
            repeat = store.accept(sessions, vet(upload), uploader)
        response.status_code = 201 if repeat.created else 200
        return repeat.view

    @app.get("/api/v1/submissions", tags=["submissions"])
    def list_submissions(
        status: Annotated[str | None, Query(pattern="^(accepted|withdrawn)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> dict[str, Any]:
        with sessions() as session:
            return store.listing(session, status=status, limit=limit, offset=offset)

    @app.get("/api/v1/submissions/{submission_id}", tags=["submissions"], responses=rejections)
    def get_submission(
        submission_id: Annotated[str, Depends(_submission_id)],
    ) -> dict[str, Any]:
        with sessions() as session:
            return store.find(session, submission_id)

    @app.post(
        "/api/v1/submissions/{submission_id}/withdraw", tags=["submissions"], responses=rejections
    )
    def withdraw_submission(
        submission_id: Annotated[str, Depends(_submission_id)],
        withdrawer: Annotated[ApiToken, Depends(caller)],
        body: Annotated[WithdrawRequest | None, Body()] = None,
    ) -> dict[str, Any]:
        """Withdraw a submission (its uploader or an admin token): appended to the log, and
        gone from the leaderboard. Withdrawing twice appends nothing."""
        reason = body.reason if body is not None else None
        return store.withdraw(sessions, submission_id, withdrawer, reason).view

    @app.get("/api/v1/log", tags=["log"])
    def get_log(
        after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    ) -> list[dict[str, Any]]:
        """The hash-chained log, oldest first (entries with seq > `after`)."""
        with sessions() as session:
            return log_entries(session, after=after, limit=limit)

    @app.get("/api/v1/leaderboard", tags=["log"])
    def get_leaderboard() -> list[dict[str, Any]]:
        """The leaderboard, computed from the log alone."""
        with sessions() as session:
            entries = log_entries(session)
        return [row.__dict__ for row in plain_leaderboard(leaderboard_from_log(entries))]

    @app.post(
        "/api/v1/verify",
        tags=["verify"],
        responses=rejections,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["submission", "predictions"],
                            "properties": {
                                "submission": {"type": "string", "format": "binary"},
                                "predictions": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def verify(request: Request) -> dict[str, Any]:
        """The verifier `puma verify-hash --remote` asks: recomputes the predictions hash of a
        submission and its predictions file (public; limited per client address)."""
        client = request.client.host if request.client else "unknown"
        limit(f"verify:{client}", verifies, "verifications from this address")
        body = await request.body()
        parts = multipart_parts(request.headers.get("content-type", ""), body)
        return await run_in_threadpool(verify_parts, parts)

    boards: dict[str, CatalogueView] = {}  # by log head: the board changes only with the log
    folders: dict[str, CatalogueRun | BrokenFolder] = {}  # each folder graded once, by id
    grading = threading.Lock()  # pages are served from a thread pool

    def catalogue_view() -> tuple[CatalogueView, list[dict[str, Any]], tuple[int, str]]:
        """The catalogue's board of the log's contributor folders, built once per log head
        from folders graded once each; with the log's entries and its head (entries, hash)."""
        with sessions() as session:
            entries = log_entries(session)
            head = session.execute(select(LogHead)).scalar_one()
            seq, digest = head.seq, head.hash
            with grading:
                view = boards.get(digest)
                if view is None:
                    view = catalogue_leaderboard(
                        entries, lambda sid: store.stored_files(session, sid), folders
                    )
                    boards.clear()  # one board kept: the newest
                    boards[digest] = view
        return view, entries, (seq, digest)

    @app.get("/api/v1/catalogue", tags=["log"])
    def get_catalogue() -> dict[str, Any]:
        """The catalogue's graded leaderboard (schema leaderboard-1.0) of the log's contributor
        folders: each cell's median with its bootstrap interval, rank interval and run links,
        graded exactly as `puma catalogue build` grades the same folders on disk; with the log
        head it was graded at and the folders that could not be graded."""
        view, _, (seq, digest) = catalogue_view()
        return {
            "log_head": {"seq": seq, "hash": digest},
            "leaderboard": view.board.model_dump(mode="json"),
            "broken": [b.model_dump(mode="json") for b in view.broken],
        }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        """The catalogue's leaderboard page, rendered live from the log's contributor folders,
        and below it the registry's table of submission packages."""
        view, entries, (seq, digest) = catalogue_view()
        packages = [run for run in leaderboard_from_log(entries) if run.kind == PACKAGE]
        html = render_index(
            view.board,
            view.broken,
            settings.title,
            run_prefix="/runs/",
            run_suffix="",
            data_links=False,
        )
        table = pages.get_template("packages.html").render(
            rows=plain_leaderboard(packages), n_entries=seq, head_hash=digest
        )
        html = html.replace("</body>", table + "\n</body>", 1)
        csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src '{index_script_hash()}'"
        return HTMLResponse(html, headers={**PAGE_HEADERS, "Content-Security-Policy": csp})

    @app.get("/runs/{submission_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(submission_id: Annotated[str, Depends(_submission_id)]) -> HTMLResponse:
        with sessions() as session:
            view = store.find(session, submission_id)
            run_md = session.get(SubmissionFile, (submission_id, "run.md"))
            text = run_md.content.decode("utf-8", "replace") if run_md is not None else None
        board, _, _ = catalogue_view()
        run = board.runs.get(submission_id)
        if run is not None and view["status"] == "accepted":
            outliers = board.board.outlier_index().get(run.run_id, [])
            page = render_run_page(
                run, text, outliers=outliers, index_href="/", title=settings.title
            )
            return HTMLResponse(page, headers=PAGE_HEADERS)
        html = pages.get_template("run.html").render(
            title=settings.title,
            view=view,
            record_json=dump_pretty(view["record"]),
            run_md=text,
        )
        return HTMLResponse(html, headers=PAGE_HEADERS)

    return app


def _submission_id(submission_id: str) -> str:
    """A path's submission id: a UUID-like name, checked before it reaches the database."""
    if not re.fullmatch(SUBMISSION_ID, submission_id):
        raise UploadRejected("not-found", "no such submission", status=404)
    return submission_id


def serve(settings: RegistrySettings, *, host: str, port: int) -> None:
    """Run the registry with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
