"""Generate the bundled suites into src/puma/suites/data/<id>/, deterministically and offline.

Every text comes from the templates below, filled from a seeded random.Random: same script, same
bytes. `python scripts/make_suites.py` rewrites the bundled data; `--out DIR` writes elsewhere and
`--check` compares a fresh generation with the committed files (exit 1 on any difference).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from puma.hashing import sha256_hex
from puma.jsonio import dumps_line, write_json, write_text_atomic
from puma.suites.bundled import (
    DATA_DIR,
    DATASHEET_NAME,
    EXAMPLES_NAME,
    HASHED_FILES,
    ITEMS_NAME,
    MANIFEST_NAME,
    SCHEMA_NAME,
    SuiteCounts,
    SuiteManifest,
    suite_content_hash,
)
from puma.suites.model import FIBONACCI_POINTS, PAIR_LABELS, TRIAGE_LABELS, TaskKind

SEED = 20240611
VERSION = "1.0.0"
LICENSE = "CC-BY-4.0"
GENERATOR = "scripts/make_suites.py"

# Items per label (test pool, examples pool). Shares stay within 15-35% so macro-F1 means something.
TRIAGE_COUNTS = {"Critical": (72, 10), "Major": (96, 10), "Minor": (90, 10), "Trivial": (62, 10)}
ESTIMATION_COUNTS = {
    1: (25, 5),
    2: (39, 6),
    3: (49, 6),
    5: (59, 6),
    8: (54, 6),
    13: (44, 6),
    21: (30, 5),
}
PAIR_COUNTS = (320, 24)  # test pairs, example pairs
PAIR_MAX_USES = 3  # how many pairs one triage issue may appear in
DEMO_PREFIX = 15  # demo specs take `limit: 15`; the first 15 items must cover every label


# --------------------------------------------------------------------------------------------
# Invented projects: the vocabulary every template draws from.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entity:
    """A thing users work with, the page or screen that lists it, and some of its fields."""

    singular: str
    plural: str
    page: str
    fields: tuple[str, ...]
    endpoint: str  # the API call that reads or writes it


@dataclass(frozen=True)
class Project:
    key: str
    name: str
    stack: str  # java | kotlin | python | go | typescript | dotnet: decides the stack traces
    surfaces: dict[str, tuple[str, ...]]  # surface -> components
    entities: tuple[Entity, ...]
    roles: dict[str, str]  # admin | user | dev | ops -> role name
    versions: tuple[str, ...]
    frames: tuple[tuple[str, str], ...]  # (module or class, function) for stack traces
    jobs: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


PROJECTS: tuple[Project, ...] = (
    Project(
        key="ORBIT",
        name="Orbit Pay",
        stack="java",
        surfaces={
            "api": ("Checkout API", "Refunds", "Webhooks", "Auth"),
            "web": ("Merchant Dashboard", "Reporting"),
            "batch": ("Settlement", "Payouts"),
        },
        entities=(
            Entity(
                "payment",
                "payments",
                "Payments",
                ("statement descriptor", "amount", "customer email"),
                "POST /v2/payments",
            ),
            Entity(
                "refund",
                "refunds",
                "Refunds",
                ("refund reason", "amount", "original payment ID"),
                "POST /v2/refunds",
            ),
            Entity(
                "payout",
                "payouts",
                "Payouts",
                ("payout schedule", "bank account", "settlement currency"),
                "GET /v2/payouts/{id}",
            ),
            Entity(
                "invoice",
                "invoices",
                "Invoice editor",
                ("billing email", "due date", "tax ID"),
                "POST /v2/invoices/{id}/finalize",
            ),
            Entity(
                "dispute",
                "disputes",
                "Disputes inbox",
                ("dispute reason", "evidence due date"),
                "GET /v2/disputes",
            ),
            Entity(
                "subscription",
                "subscriptions",
                "Subscriptions",
                ("billing interval", "trial end date", "plan"),
                "PATCH /v2/subscriptions/{id}",
            ),
        ),
        roles={
            "admin": "merchant admin",
            "user": "finance analyst",
            "dev": "developer integrating Orbit Pay",
            "ops": "payments platform engineer",
        },
        versions=("4.11.3", "4.12.0", "4.12.1", "4.13.0", "4.14.2"),
        frames=(
            ("com.orbitpay.refunds.RefundService", "apply"),
            ("com.orbitpay.payments.PaymentController", "create"),
            ("com.orbitpay.ledger.LedgerWriter", "append"),
            ("com.orbitpay.payouts.PayoutBatcher", "run"),
            ("com.orbitpay.webhooks.DeliveryWorker", "dispatch"),
            ("com.orbitpay.auth.TokenFilter", "doFilterInternal"),
        ),
        jobs=("nightly-settlement", "payout-batcher", "fx-rate-sync", "invoice-reminder"),
    ),
    Project(
        key="HALYARD",
        name="Halyard Travel",
        stack="kotlin",
        surfaces={
            "mobile": ("Android App", "iOS App", "Offline Sync", "Push Notifications"),
            "api": ("Booking Service", "Search API", "Loyalty"),
            "batch": ("Fare Alerts Worker",),
        },
        entities=(
            Entity(
                "booking",
                "bookings",
                "Checkout",
                ("passport number", "seat preference", "date of birth"),
                "POST /v1/bookings",
            ),
            Entity(
                "itinerary",
                "itineraries",
                "Trips",
                ("home airport", "trip name"),
                "GET /v1/trips/{id}",
            ),
            Entity(
                "boarding pass",
                "boarding passes",
                "Boarding pass",
                ("gate", "seat number"),
                "GET /v1/boarding-passes/{id}",
            ),
            Entity(
                "traveller profile",
                "traveller profiles",
                "Profile",
                ("loyalty number", "emergency contact"),
                "PATCH /v1/profile",
            ),
            Entity(
                "fare alert",
                "fare alerts",
                "Fare alerts",
                ("price threshold", "departure airport"),
                "POST /v1/fare-alerts",
            ),
            Entity(
                "hotel reservation",
                "hotel reservations",
                "Trips",
                ("check-in date", "room type"),
                "POST /v1/hotels/reservations",
            ),
        ),
        roles={
            "admin": "travel agency admin",
            "user": "traveller",
            "dev": "partner developer",
            "ops": "site reliability engineer",
        },
        versions=("7.2.1", "7.3.0", "7.4.0", "7.4.2", "8.0.0"),
        frames=(
            ("com.halyard.app.trips.TripsViewModel", "load"),
            ("com.halyard.app.booking.CheckoutFragment", "onViewCreated"),
            ("com.halyard.app.sync.OfflineSyncWorker", "doWork"),
            ("com.halyard.app.profile.ProfileRepository", "save"),
            ("com.halyard.app.alerts.FareAlertAdapter", "onBindViewHolder"),
        ),
        jobs=("fare-alert-scanner", "itinerary-sync"),
    ),
    Project(
        key="LUMEN",
        name="Lumen Analytics",
        stack="python",
        surfaces={
            "batch": ("Ingestion", "Scheduler", "Transform Engine"),
            "web": ("Dashboards", "Query Editor"),
            "cli": ("lumen CLI",),
            "api": ("Query API",),
        },
        entities=(
            Entity(
                "dataset",
                "datasets",
                "Dataset catalog",
                ("owner", "retention period", "column description"),
                "GET /api/datasets/{id}",
            ),
            Entity(
                "pipeline run",
                "pipeline runs",
                "Run history",
                ("schedule", "run parameters"),
                "POST /api/runs",
            ),
            Entity(
                "dashboard",
                "dashboards",
                "Dashboard editor",
                ("refresh interval", "owner"),
                "GET /api/dashboards/{id}",
            ),
            Entity(
                "saved query",
                "saved queries",
                "Query editor",
                ("query name", "default row limit"),
                "POST /api/queries",
            ),
            Entity(
                "partition",
                "partitions",
                "Dataset catalog",
                ("partition key", "retention period"),
                "GET /api/datasets/{id}/partitions",
            ),
            Entity(
                "alert rule",
                "alert rules",
                "Alerts",
                ("threshold", "notification channel"),
                "PUT /api/alerts/{id}",
            ),
        ),
        roles={
            "admin": "workspace admin",
            "user": "data analyst",
            "dev": "data engineer",
            "ops": "platform on-call engineer",
        },
        versions=("2.8.0", "2.9.1", "2.10.0", "3.0.0", "3.0.1"),
        frames=(
            ("lumen/ingest/loader.py", "load_partition"),
            ("lumen/transform/engine.py", "apply_step"),
            ("lumen/scheduler/runner.py", "execute"),
            ("lumen/api/queries.py", "run_query"),
            ("lumen/cli/main.py", "backfill"),
            ("lumen/storage/writer.py", "write_batch"),
        ),
        jobs=("daily_events_rollup", "crm_sync", "warehouse_compaction", "retention_sweeper"),
        commands=("lumen run", "lumen deploy", "lumen backfill", "lumen validate"),
    ),
    Project(
        key="KESTREL",
        name="Kestrel CI",
        stack="go",
        surfaces={
            "api": ("Pipeline Engine", "Artifact Store", "Secrets"),
            "cli": ("kestrel CLI",),
            "web": ("Web UI",),
            "batch": ("Runner Pool", "Log Archiver"),
        },
        entities=(
            Entity(
                "build",
                "builds",
                "Build log",
                ("timeout", "environment variables"),
                "POST /api/v1/builds",
            ),
            Entity(
                "pipeline",
                "pipelines",
                "Pipeline view",
                ("branch filter", "concurrency limit", "retry count"),
                "POST /api/v1/pipelines/{id}/trigger",
            ),
            Entity(
                "artifact",
                "artifacts",
                "Artifacts",
                ("retention days", "artifact name"),
                "GET /api/v1/artifacts/{id}",
            ),
            Entity(
                "runner",
                "runners",
                "Runner fleet",
                ("runner labels", "max concurrent jobs"),
                "GET /api/v1/runners",
            ),
            Entity(
                "deploy key",
                "deploy keys",
                "Project settings",
                ("key name", "expiry date"),
                "POST /api/v1/deploy-keys",
            ),
            Entity(
                "cache entry",
                "cache entries",
                "Project settings",
                ("cache key", "size limit"),
                "DELETE /api/v1/cache/{key}",
            ),
        ),
        roles={
            "admin": "organisation admin",
            "user": "developer",
            "dev": "platform engineer",
            "ops": "site reliability engineer",
        },
        versions=("1.17.4", "1.18.0", "1.19.2", "1.20.0", "1.20.1"),
        frames=(
            ("internal/runner/pool.go", "(*Pool).Acquire"),
            ("internal/artifacts/store.go", "(*Store).Put"),
            ("internal/engine/scheduler.go", "(*Scheduler).dispatch"),
            ("internal/secrets/vault.go", "(*Vault).Resolve"),
            ("internal/cli/logs.go", "runLogs"),
            ("internal/api/builds.go", "(*Handler).CreateBuild"),
        ),
        jobs=("artifact-gc", "runner-autoscaler", "log-archiver"),
        commands=("kestrel run", "kestrel logs", "kestrel secrets set", "kestrel cache prune"),
    ),
    Project(
        key="TIDEPOOL",
        name="Tidepool CMS",
        stack="typescript",
        surfaces={
            "web": ("Editor", "Media Library", "Localization", "Permissions"),
            "api": ("Content API", "Publishing"),
            "batch": ("Image Pipeline", "Search Indexer"),
            "cli": ("tidepool CLI",),
        },
        entities=(
            Entity(
                "article",
                "articles",
                "Content list",
                ("slug", "publish date", "excerpt"),
                "GET /content/v1/entries",
            ),
            Entity(
                "page",
                "pages",
                "Editor",
                ("canonical URL", "meta description"),
                "PUT /content/v1/entries/{id}",
            ),
            Entity(
                "media asset",
                "media assets",
                "Media library",
                ("alt text", "caption"),
                "POST /content/v1/assets",
            ),
            Entity(
                "draft",
                "drafts",
                "Editor",
                ("author", "review due date"),
                "POST /content/v1/drafts",
            ),
            Entity(
                "content type",
                "content types",
                "Content model",
                ("field label", "API identifier"),
                "GET /content/v1/types",
            ),
            Entity(
                "redirect",
                "redirects",
                "Redirects",
                ("source path", "target URL"),
                "POST /content/v1/redirects",
            ),
        ),
        roles={
            "admin": "site administrator",
            "user": "content editor",
            "dev": "frontend developer",
            "ops": "platform engineer",
        },
        versions=("5.4.0", "5.5.1", "5.6.0", "6.0.0", "6.0.3"),
        frames=(
            ("dist/publishing/render.js", "renderEntry"),
            ("dist/media/upload.js", "storeAsset"),
            ("dist/api/entries.js", "updateEntry"),
            ("dist/i18n/resolve.js", "resolveLocale"),
            ("dist/jobs/scheduler.js", "publishDue"),
        ),
        jobs=("scheduled-publisher", "image-resizer", "search-indexer"),
        commands=("tidepool import", "tidepool migrate", "tidepool export"),
    ),
    Project(
        key="MERIDIAN",
        name="Meridian HR",
        stack="dotnet",
        surfaces={
            "web": ("Payroll Run", "Time Off", "Employee Directory", "Reports", "SSO"),
            "batch": ("Payroll Engine", "Integrations"),
            "api": ("Public API",),
        },
        entities=(
            Entity(
                "payslip",
                "payslips",
                "Payroll summary",
                ("tax code", "bank account"),
                "GET /api/payslips/{id}",
            ),
            Entity(
                "leave request",
                "leave requests",
                "Leave calendar",
                ("start date", "leave type"),
                "POST /api/leave-requests",
            ),
            Entity(
                "employee record",
                "employee records",
                "Employee profile",
                ("manager", "job title", "cost centre"),
                "GET /api/employees/{id}",
            ),
            Entity(
                "timesheet",
                "timesheets",
                "Approvals inbox",
                ("hours worked", "project code"),
                "POST /api/timesheets",
            ),
            Entity(
                "expense claim",
                "expense claims",
                "Expense review",
                ("amount", "cost centre", "receipt"),
                "POST /api/expenses",
            ),
            Entity(
                "onboarding checklist",
                "onboarding checklists",
                "Onboarding",
                ("start date", "buddy"),
                "GET /api/onboarding/{id}",
            ),
        ),
        roles={
            "admin": "HR administrator",
            "user": "employee",
            "dev": "integration developer",
            "ops": "HR systems engineer",
        },
        versions=("2024.3", "2024.4", "2024.5.1", "2024.6", "2024.7"),
        frames=(
            ("Meridian.Payroll.PayslipBuilder", "Build"),
            ("Meridian.TimeOff.AccrualCalculator", "Recalculate"),
            ("Meridian.Directory.EmployeeService", "Update"),
            ("Meridian.Integrations.HrisExporter", "Export"),
            ("Meridian.Expenses.ClaimValidator", "Validate"),
        ),
        jobs=("monthly-payroll", "accrual-recalc", "hris-export", "pension-upload"),
    ),
)

REPORTERS = (
    "Priya Raman", "Tomasz Nowak", "Aisha Bello", "Lars Eriksen", "Mei Lin", "Carlos Mendoza",
    "Sofia Rossi", "Kwame Mensah", "Hannah Schmidt", "Diego Alvarez", "Yuki Tanaka",
    "Fatima Zahra", "Oliver Bennett", "Ana Costa", "Ravi Kumar", "Emily Clarke", "Jonas Weber",
    "Leila Haddad", "Marcus Johnson", "Chloe Martin", "Ibrahim Yusuf", "Nadia Petrova",
    "Samuel Okoro", "Grace Kim", "Mateo Silva", "Ingrid Larsen", "Arjun Mehta", "Zoe Williams",
    "Hiroshi Sato", "Amara Nwosu", "Lucas Fischer", "Elena Popescu", "Daniel Cohen",
    "Maya Goldberg", "Pedro Santos", "Sara Lindqvist", "Kenji Watanabe", "Olivia Brown",
    "Yusuf Demir", "Isabel Moreno", "Noah Anderson", "Aaliyah Thomas", "Wei Zhang",
    "Freya Nilsson", "Omar Farouk", "Julia Novak", "Ethan Wright", "Chiara Bianchi",
)  # fmt: skip

CUSTOMERS = (
    "Brightwater Foods", "Northwind Logistics", "Calder & Finch", "Helios Energy",
    "Bluebird Clinics", "Quarry Lane Books", "Mosaic Retail", "Redfern Insurance",
    "Sable Outdoor", "Tallis Education",
)  # fmt: skip

BROWSERS = ("Chrome 125", "Firefox 126", "Safari 17.4", "Edge 124", "Chrome 124")
DESKTOPS = ("Windows 11", "macOS 14.5", "Ubuntu 22.04", "Windows 10", "macOS 13.6")
DEVICES = (
    "Pixel 7, Android 14",
    "iPhone 13, iOS 17.5",
    "Galaxy S22, Android 13",
    "iPhone 15 Pro, iOS 17.4",
    "iPad Air, iPadOS 17.4",
    "Pixel 6a, Android 14",
)
REGIONS = ("eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2", "us-west-2")
DATES = ("4 March", "12 March", "2 April", "19 April", "7 May", "21 May", "3 June", "10 June")
TIMES = ("02:10", "07:42", "09:15", "11:03", "14:37", "16:50", "21:26", "23:58")
TYPOS = (
    ("Recieve payments", "Receive payments"),
    ("Adress details", "Address details"),
    ("Occured at", "Occurred at"),
    ("Seperate by comma", "Separate by comma"),
    ("Calender view", "Calendar view"),
    ("Succesful", "Successful"),
    ("Acount settings", "Account settings"),
    ("Aproved by", "Approved by"),
    ("Definately", "Definitely"),
    ("Untill", "Until"),
)
RENAMES = (
    ("Archive", "Move to archive"),
    ("Settings", "Preferences"),
    ("Export", "Download CSV"),
    ("Team", "Members"),
    ("History", "Activity"),
)
HUGE = ("400 million", "1.2 billion", "900 million", "2.5 billion")


def article(phrase: str) -> str:
    """'a' or 'an' before a phrase (good enough for the vocabulary above)."""
    return "an" if phrase[:1].lower() in "aeio" or phrase.startswith("HR") else "a"


def environment(surface: str, project: Project, version: str, rng: random.Random) -> str:
    if surface == "web":
        return f"{rng.choice(BROWSERS)} on {rng.choice(DESKTOPS)}, {project.name} {version}"
    if surface == "mobile":
        return f"{rng.choice(DEVICES)}, app {version}"
    if surface == "cli":
        return f"{project.commands[0].split()[0]} {version} on {rng.choice(DESKTOPS)}"
    if surface == "batch":
        return f"production scheduler ({rng.choice(REGIONS)}), {project.name} {version}"
    return f"production, {rng.choice(REGIONS)}, {project.name} {version}"


def fill_slots(project: Project, surface: str, rng: random.Random) -> dict[str, str]:
    """The slot values of one rendered item; a template naming a missing slot fails loudly."""
    chosen = rng.choice(project.entities)
    entity, entities = chosen.singular, chosen.plural
    v = rng.randrange(len(project.versions) - 1)
    version = project.versions[v + 1]
    typo_wrong, typo_right = rng.choice(TYPOS)
    rename_old, rename_new = rng.choice(RENAMES)
    slots = {
        "project": project.name,
        "component": rng.choice(project.surfaces[surface]),
        "entity": entity,
        "entities": entities,
        "Entity": entity[0].upper() + entity[1:],
        "Entities": entities[0].upper() + entities[1:],
        "a_entity": f"{article(entity)} {entity}",
        "field": rng.choice(chosen.fields),
        "page": chosen.page,
        "view": "screen" if surface == "mobile" else "page",
        "version": version,
        "prev_version": project.versions[v],
        "env": environment(surface, project, version, rng),
        "n": str(rng.randint(2, 9)),
        "big": f"{rng.choice((1, 2, 5, 10, 12, 25, 40)) * 1000:,}",
        "huge": rng.choice(HUGE),
        "pct": str(rng.choice((3, 5, 8, 12, 20, 30, 40))),
        "minutes": str(rng.choice((10, 15, 20, 35, 45, 90))),
        "customer": rng.choice(CUSTOMERS),
        "ticket": f"SUP-{rng.randint(1200, 9800)}",
        "region": rng.choice(REGIONS),
        "date": rng.choice(DATES),
        "time": rng.choice(TIMES),
        "typo_wrong": typo_wrong,
        "typo_right": typo_right,
        "rename_old": rename_old,
        "rename_new": rename_new,
    }
    for kind, role in project.roles.items():
        slots[kind] = role
        slots[f"a_{kind}"] = f"{article(role)} {role}"
    if "api" in project.surfaces:
        slots["endpoint"] = chosen.endpoint
    if project.jobs:
        slots["job"] = rng.choice(project.jobs)
    if project.commands:
        slots["cmd"] = rng.choice(project.commands)
    return slots


def fill(text: str, slots: dict[str, str]) -> str:
    return text.format_map(slots)


# --------------------------------------------------------------------------------------------
# Stack traces, in the style of each project's language.
# --------------------------------------------------------------------------------------------

EXCEPTIONS: dict[str, dict[str, str]] = {
    "java": {
        "null": 'java.lang.NullPointerException: Cannot invoke "Account.getId()" because '
        '"owner" is null',
        "timeout": "org.springframework.dao.QueryTimeoutException: PreparedStatementCallback; "
        "SQL state [57014]; canceling statement due to statement timeout",
        "constraint": "org.postgresql.util.PSQLException: ERROR: duplicate key value violates "
        'unique constraint "ledger_entries_pkey"',
        "oom": "java.lang.OutOfMemoryError: Java heap space",
        "parse": "com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize "
        'value of type `java.time.LocalDate` from String "31/04/2024"',
        "io": "java.io.IOException: Broken pipe",
        "auth": "org.springframework.security.authentication.BadCredentialsException: "
        "Signature verification failed",
    },
    "kotlin": {
        "null": "kotlin.UninitializedPropertyAccessException: lateinit property adapter has not "
        "been initialized",
        "timeout": "java.net.SocketTimeoutException: timeout",
        "constraint": "android.database.sqlite.SQLiteConstraintException: UNIQUE constraint "
        "failed: bookings.id (code 1555 SQLITE_CONSTRAINT_PRIMARYKEY)",
        "oom": "java.lang.OutOfMemoryError: Failed to allocate a 48234512 byte allocation with "
        "25165824 free bytes",
        "parse": "com.squareup.moshi.JsonDataException: Expected a string but was NULL at path "
        "$.trips[0].gate",
        "io": "java.io.IOException: unexpected end of stream on https://api.halyard.example/...",
        "auth": "retrofit2.HttpException: HTTP 401 Unauthorized",
    },
    "python": {
        "null": "AttributeError: 'NoneType' object has no attribute 'partition_key'",
        "timeout": "psycopg.errors.QueryCanceled: canceling statement due to statement timeout",
        "constraint": "sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate "
        'key value violates unique constraint "events_daily_pkey"',
        "oom": "MemoryError",
        "parse": "ValueError: time data '2024-03-31T24:00:00' does not match format "
        "'%Y-%m-%dT%H:%M:%S'",
        "io": "OSError: [Errno 28] No space left on device",
        "auth": "jwt.exceptions.InvalidSignatureError: Signature verification failed",
    },
    "go": {
        "null": "panic: runtime error: invalid memory address or nil pointer dereference\n"
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x9c4f21]",
        "timeout": "error: context deadline exceeded",
        "constraint": 'error: pq: duplicate key value violates unique constraint "builds_pkey"',
        "oom": "fatal error: runtime: out of memory",
        "parse": "error: json: cannot unmarshal string into Go struct field Step.timeout of "
        "type int",
        "io": "error: write /var/lib/kestrel/artifacts/tmp-8812: no space left on device",
        "auth": "error: oidc: id token signed with unsupported algorithm",
    },
    "typescript": {
        "null": "TypeError: Cannot read properties of undefined (reading 'slug')",
        "timeout": "KnexTimeoutError: Knex: Timeout acquiring a connection. The pool is probably "
        "full.",
        "constraint": 'error: duplicate key value violates unique constraint "entries_slug_key"',
        "oom": "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        "parse": "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
        "io": "Error: write EPIPE",
        "auth": "JsonWebTokenError: invalid signature",
    },
    "dotnet": {
        "null": "System.NullReferenceException: Object reference not set to an instance of an "
        "object.",
        "timeout": "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.",
        "constraint": "Microsoft.EntityFrameworkCore.DbUpdateException: An error occurred while "
        "saving the entity changes. Cannot insert duplicate key row in object 'dbo.Payslips'.",
        "oom": "System.OutOfMemoryException: Exception of type 'System.OutOfMemoryException' "
        "was thrown.",
        "parse": "System.FormatException: String '31/04/2024' was not recognized as a valid "
        "DateTime.",
        "io": "System.IO.IOException: The process cannot access the file because it is being "
        "used by another process.",
        "auth": "System.Security.Cryptography.CryptographicException: Signature is not valid.",
    },
}


def stack_trace(project: Project, kind: str, rng: random.Random) -> str:
    """A short, plausible trace: the exception line and three or four frames of the project."""
    head = EXCEPTIONS[project.stack][kind]
    frames = rng.sample(project.frames, k=min(len(project.frames), rng.choice((3, 4))))
    lines = [rng.randint(40, 480) for _ in frames]
    stack = project.stack
    if stack == "python":
        body = ["Traceback (most recent call last):"]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f'  File "/srv/app/{path}", line {line}, in {func}')
        return "\n".join([*body, head])
    if stack == "go":
        body = [head, "", f"goroutine {rng.randint(7, 900)} [running]:"]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f"github.com/kestrel-ci/kestrel/{path.rsplit('/', 1)[0]}.{func}(...)")
            body.append(f"\t/src/{path}:{line} +0x{rng.randint(16, 4095):x}")
        return "\n".join(body)
    if stack == "typescript":
        body = [head]
        for (path, func), line in zip(frames, lines, strict=True):
            body.append(f"    at {func} (/app/{path}:{line}:{rng.randint(5, 60)})")
        return "\n".join(body)
    if stack == "dotnet":
        body = [head]
        for (cls, func), line in zip(frames, lines, strict=True):
            source = "/".join(cls.split(".")[1:]) + ".cs"
            body.append(f"   at {cls}.{func}() in /src/{source}:line {line}")
        return "\n".join(body)
    body = [head] if stack == "java" else ["FATAL EXCEPTION: main", head]
    ext = "java" if stack == "java" else "kt"
    for (cls, func), line in zip(frames, lines, strict=True):
        body.append(f"\tat {cls}.{func}({cls.rsplit('.', 1)[1]}.{ext}:{line})")
    return "\n".join(body)


# --------------------------------------------------------------------------------------------
# Issue templates. The label follows from the impact (data loss, outage or security: Critical;
# a broken feature with no workaround: Major; a workaround exists or the effect is small: Minor;
# cosmetic: Trivial), never from a single keyword.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueTemplate:
    surfaces: tuple[str, ...]  # where it can happen; "any" = every surface of the project
    titles: tuple[str, ...]
    context: tuple[str, ...]
    impact: tuple[str, ...]
    steps: tuple[str, ...] = ()
    expected: str = ""
    actual: str = ""
    trace: str | None = None  # exception kind for a stack trace, see EXCEPTIONS
    projects: tuple[str, ...] = ()  # restrict to these project keys; empty = any


ANY = ("any",)

CRITICAL: tuple[IssueTemplate, ...] = (
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Saving {a_entity} deletes its attachments",
            "Attachments on {entities} disappear after any edit since {version}",
            "Editing {a_entity} wipes previously uploaded files",
        ),
        context=(
            "Since the {version} deploy, editing any field of {a_entity} on the {page} {view} and "
            "saving removes every attachment that was on it. The files are gone from storage too, "
            "not just unlinked.",
            "We noticed that {entities} edited after the upgrade to {version} have lost all of "
            "their attached files. I checked the bucket: the objects were deleted by the save "
            "request itself.",
        ),
        steps=(
            "Open {a_entity} that has at least one attachment",
            "Change the {field}",
            "Click Save",
            "Reload the {view}: the attachment list is empty",
        ),
        expected="Only the {field} changes; the attachments stay.",
        actual="All attachments are deleted from the {entity} and from object storage.",
        impact=(
            "Every customer who edited {a_entity} since the upgrade has lost files, and the "
            "nightly backup does not cover object storage. The loss continues with every save.",
            "{customer} alone reports several hundred files gone. We cannot restore the deleted "
            "objects and it keeps happening for everyone who edits.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "{endpoint} returns 503 for every request after the {version} rollout",
            "{component} down: all calls to {endpoint} fail",
            "All requests to {endpoint} failing in {region}",
        ),
        context=(
            "Since {time} UTC every call to {endpoint} fails with HTTP 503. Health checks are "
            "green, but the handler times out waiting for a database connection.",
            "After the {version} rollout, {component} stopped serving requests entirely: "
            "{endpoint} answers 503 within a few milliseconds for all clients.",
        ),
        expected="Requests succeed as they did before the rollout.",
        actual="100% of requests fail; the connection pool reports 0 available connections.",
        trace="timeout",
        impact=(
            "No customer can use {component} right now. The status page is red and every "
            "integration that calls it is failing.",
            "This is a full production outage of {component} for all tenants in {region}; "
            "support has {n}0 tickets open in the last half hour.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Users can open {entities} that belong to other accounts",
            "Changing the id in the URL shows another customer's {entity}",
            "Missing account check when loading {a_entity}",
        ),
        context=(
            "If you take the URL of {a_entity} and change the numeric id, the {page} {view} shows "
            "{entities} from completely unrelated accounts, including their {field}.",
            "While testing I noticed that the {entity} detail view does not check which account "
            "the record belongs to. Any id works.",
        ),
        steps=(
            "Log in as any user of account A",
            "Open one of your {entities} and note the id in the address bar",
            "Replace it with a nearby id",
            "The {entity} of another account is displayed and can be edited",
        ),
        expected="Records of other accounts return 404.",
        actual="Full details of another customer's {entity} are shown and can be changed.",
        impact=(
            "Any authenticated user can read and modify other customers' data. This needs to be "
            "handled as a security incident.",
            "This exposes personal data of all customers to every logged-in user; legal has been "
            "told because it is reportable.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "{endpoint} returns data of other tenants",
            "Tenant isolation missing on {endpoint}",
            "API key of one account can read another account's {entities}",
        ),
        context=(
            "{endpoint} only checks that the API key is valid, not that the {entity} belongs to "
            "the key's account. With any valid key you can read and change {entities} of every "
            "other customer by iterating ids.",
        ),
        expected="403 or 404 for ids of other accounts.",
        actual="200 with the full record, including {field}.",
        impact=(
            "Every customer's data is readable and writable by every other customer. We have "
            "already seen suspicious sequential requests in the access logs.",
            "This is a breach of tenant isolation affecting all customers and has to be treated "
            "as an incident.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Script in {field} runs for everyone who opens the {entity}",
            "Stored XSS through the {field} field",
            "HTML in {field} rendered unescaped on {page}",
        ),
        context=(
            "The {field} value is rendered as raw HTML on the {page} {view}. An image tag with an "
            "onerror handler runs JavaScript in the browser of every user who opens the "
            "{entity}, administrators included.",
            "Reported through the bug bounty programme: the {field} of {a_entity} is inserted "
            "into the page without escaping.",
        ),
        steps=(
            "Edit {a_entity}",
            "Put an img tag with an onerror attribute into {field}",
            "Save, then open the {entity} as a different user",
        ),
        expected="The text is shown escaped.",
        actual="The script runs and can read the session cookie, which is not HttpOnly.",
        impact=(
            "Anyone with edit rights can take over administrator sessions. The reporter has "
            "given us 30 days before public disclosure.",
            "This is not a cosmetic rendering glitch: it allows account takeover of any user "
            "who views the record, including admins.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        titles=(
            "{job} overwrites {entities} with values from the previous run",
            "{job} corrupts {entity} totals since {version}",
            "Overwritten rows after {job} on {date}",
        ),
        context=(
            "Last night's {job} run wrote {entity} rows with the key of the previous day, "
            "overwriting about {big} correct rows. The original values are not in the audit "
            "table.",
            "Since {version}, {job} upserts by the wrong key, so every run replaces existing "
            "{entities} instead of adding new ones.",
        ),
        expected="New rows are added and existing rows are left alone.",
        actual="Existing rows are overwritten; roughly {pct}% of {entities} now hold wrong values.",
        trace="constraint",
        impact=(
            "Customer-facing numbers are wrong for everybody and we cannot tell which rows were "
            "right without restoring the database from backup.",
            "Every run makes it worse, and finance will sign off wrong figures at month end "
            "unless the job is stopped and the data repaired.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        projects=("ORBIT",),
        titles=(
            "Customers charged twice when the client retries a payment",
            "Idempotency-Key ignored on {endpoint}",
            "Duplicate charges after network timeouts",
        ),
        context=(
            "Since {version}, the Idempotency-Key header is no longer honoured. Any client retry "
            "after a timeout creates a second charge for the same order.",
            "Several merchants report that cardholders see two identical charges. In our logs "
            "both requests carry the same Idempotency-Key, and both were captured.",
        ),
        expected="A retried request with the same key returns the original result.",
        actual="A second, independent charge is created and captured.",
        impact=(
            "Real money is being taken twice from cardholders; {customer} already has dozens of "
            "disputes open and the card schemes can fine us for this.",
            "Every merchant whose client retries is double charging its customers right now.",
        ),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "App crashes on launch after updating to {version}",
            "Crash at startup on {version} for all users",
            "{version}: app closes immediately after the splash screen",
        ),
        context=(
            "After updating to {version} the app closes right after the splash screen, every "
            "time. Reinstalling does not help and neither does clearing the app data.",
            "Crash reporting shows {version} crashing at startup in every session since it was "
            "released to 100% of users.",
        ),
        trace="null",
        impact=(
            "Nobody on {version} can open the app at all, and the stores do not let people roll "
            "back. Crash-free sessions dropped to {pct}%.",
            "Everyone who updated is locked out of their {entities}, including travellers who "
            "need their boarding pass today.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "Revoked API keys are still accepted by {component}",
            "Key revocation has no effect on {endpoint}",
            "Deleted API tokens keep working for days",
        ),
        context=(
            "We revoked an API key after it leaked in a public repository. Requests signed with "
            "it are still accepted by {endpoint} {n} hours later.",
            "The cache of valid API keys in {component} is never invalidated, so revoking a key "
            "in the dashboard changes nothing until the service restarts.",
        ),
        expected="A revoked key is rejected at once with 401.",
        actual="The revoked key keeps full access.",
        impact=(
            "Customers who rotate a leaked key believe they are safe while whoever has the key "
            "keeps full access to their account.",
            "A leaked credential cannot be shut off, which defeats the whole revocation feature "
            "for every customer.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "{component} writes API keys and personal data to the logs in plain text",
            "Request bodies including credentials logged at INFO since {version}",
            "Sensitive data in {component} logs",
        ),
        context=(
            "The {version} release turned on request body logging at INFO. Every request to "
            "{component} is logged in full, including API keys, session tokens and {field}, and "
            "the logs are shipped to our external log provider.",
        ),
        impact=(
            "Credentials and personal data of all customers are leaving our infrastructure; "
            "security wants the logs purged and every key rotated.",
            "This is a compliance breach that grows with every request until logging is turned "
            "off.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        titles=(
            "{job} deleted {entities} newer than the retention window",
            "Retention cleanup removes current {entities}",
            "{job} ignores the retention period and deletes recent data",
        ),
        context=(
            "The {job} run at {time} deleted about {big} {entities}, including ones created this "
            "week. The retention period is 90 days, but the job compared the dates in the wrong "
            "unit.",
        ),
        impact=(
            "The deletes are hard deletes and the only copy is yesterday's snapshot, so "
            "everything created today is lost for all affected customers.",
            "Customers are losing current data every night the job runs.",
        ),
    ),
    IssueTemplate(
        surfaces=("api", "batch"),
        titles=(
            "{component} fails to start after migrating to {version}",
            "Schema migration in {version} aborts halfway and leaves the database unusable",
            "Upgrade to {version} takes {component} down",
        ),
        context=(
            "The {version} migration fails on step {n} with a constraint error. The service then "
            "refuses to start because the schema version is marked dirty, and {prev_version} "
            "does not start against the half-migrated schema either.",
        ),
        trace="constraint",
        impact=(
            "Production is down for everyone and neither rolling forward nor rolling back works.",
            "{component} has been unavailable since {time} and we have no way to bring it back "
            "without a manual database repair.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Password reset link works for any account",
            "Reset token not bound to the user",
            "Anyone can reset another user's password",
        ),
        context=(
            "The password reset link carries the token and the email address as separate query "
            "parameters, and the server only checks the token. Changing the email in the link "
            "resets the password of that other account.",
        ),
        impact=(
            "Any account, administrators included, can be taken over without any action by the "
            "victim.",
            "Full account takeover for every user of {project}.",
        ),
    ),
    IssueTemplate(
        surfaces=("api", "batch"),
        titles=(
            "{component} instances are OOM-killed every few minutes",
            "Memory leak in {version} takes down {component} repeatedly",
            "{component} crash-loops under normal load",
        ),
        context=(
            "Since {version}, the memory of every {component} instance grows by roughly 50 MB a "
            "minute until the kernel kills it. All replicas restart at about the same time, so "
            "the service is gone for several minutes out of every {minutes}.",
        ),
        trace="oom",
        impact=(
            "Customers see repeated full outages, and requests in flight are lost, including "
            "writes that were already acknowledged to the client.",
            "Nothing that depends on {component} works reliably; we lose acknowledged writes "
            "at every restart.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "{Entity} emails sent to the wrong person",
            "Emails about {entities} go to other customers",
            "Notification emails mix up recipients since {version}",
        ),
        context=(
            "Since {version}, the email sent when {a_entity} is updated goes to the previous "
            "recipient in the queue instead of the owner. Several people forwarded us messages "
            "that contain someone else's {field}.",
        ),
        impact=(
            "Personal data is being sent to strangers with every notification; this is a "
            "reportable data breach and it is still happening.",
            "Each notification leaks one customer's data to another customer.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "Typo in default config turns off webhook signature checks",
            "Misspelled setting disables signature verification in {version}",
            "Unsigned payloads accepted with the default configuration",
        ),
        context=(
            "The default configuration shipped with {version} spells the key as "
            "verfy_signatures, so the real setting falls back to false and {component} accepts "
            "unsigned payloads.",
        ),
        impact=(
            "Anyone on the internet can forge events against every installation that uses the "
            "default configuration, for example marking {entities} as completed.",
            "Every default installation trusts forged requests.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        projects=("ORBIT", "MERIDIAN"),
        titles=(
            "{component} run sent the same bank transfers twice",
            "Duplicate bank transfers after the {component} run was restarted",
            "{component} resubmits payments after a retry",
        ),
        context=(
            "The {component} run crashed halfway through and was restarted by the scheduler. It "
            "does not record which transfers it already submitted, so it sent all of them to the "
            "bank again.",
        ),
        trace="io",
        impact=(
            "About {big} transfers went out twice; the money has left our account and has to be "
            "recovered from each recipient one by one.",
            "Real money was paid out twice and the next scheduled run will do the same.",
        ),
    ),
)

MAJOR: tuple[IssueTemplate, ...] = (
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "CSV export of {entities} fails above {big} rows",
            "Export on {page} returns 500 for large accounts",
            "Cannot export {entities} since {version}",
        ),
        context=(
            "Exporting {entities} from the {page} {view} fails with a generic error as soon as "
            "the result has more than about {big} rows, including when a filter is applied. "
            "Smaller exports still work.",
        ),
        expected="A CSV with every row is downloaded.",
        actual="After about a minute the request fails with HTTP 500.",
        trace="timeout",
        impact=(
            "Large customers cannot get this data out at all; there is no API for it, so "
            "month-end reporting at {customer} is stuck.",
            "The export is the only way our finance users get these numbers, and we have "
            "nothing else to offer them.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Filtering {entities} by {field} returns nothing",
            "{field} filter on {page} always shows an empty list",
            "Search by {field} broken since {version}",
        ),
        context=(
            "Since {version}, applying any {field} filter on the {page} {view} returns an empty "
            "list, even for values that clearly exist.",
        ),
        steps=(
            "Open the {page} {view}",
            "Add a filter on {field} with a value copied from an existing {entity}",
            "Apply the filter",
        ),
        expected="The matching {entities} are listed.",
        actual='"No results" for every value.',
        impact=(
            "Users with hundreds of {entities} can no longer find them; scrolling through the "
            "whole list is not realistic for them.",
            "Filtering is how people work with this list every day, and it does not work at all.",
        ),
    ),
    IssueTemplate(
        surfaces=("web", "api"),
        titles=(
            "Uploads larger than 10 MB fail on {component}",
            "Large files cannot be attached to {entities}",
            "Upload stops at 99% for big files",
        ),
        context=(
            "Any file over roughly 10 MB fails to upload. The progress bar reaches 99% and then "
            "the request is rejected with 413 by the gateway.",
        ),
        trace="io",
        impact=(
            "Customers who work with large files (scans, recordings) cannot attach them at all, "
            "and compressing is not possible for their formats.",
            "Attaching anything but small files is impossible for every customer.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "Notifications for {entities} stopped being sent",
            "No emails when {a_entity} changes since {version}",
            "Webhook deliveries for {entity} events missing",
        ),
        context=(
            "Since the {version} release nobody receives notifications when {a_entity} changes. "
            "The delivery log shows nothing queued at all.",
        ),
        impact=(
            "Teams that rely on these notifications miss changes entirely, and there is no way to "
            "resend or trigger them by hand.",
            "{customer} noticed only because a deadline passed without anyone being told.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Changes to {field} are not saved",
            "{field} reverts after saving {a_entity}",
            "Editing {field} has no effect since {version}",
        ),
        context=(
            'Changing the {field} of an existing {entity} shows "Saved", but after a reload the '
            "old value is back. The request carries the new value; the response already has the "
            "old one.",
        ),
        steps=("Open any existing {entity}", "Change the {field}", "Save and reload"),
        expected="The new {field} is kept.",
        actual="The previous {field} is shown again.",
        impact=(
            "Nobody can correct the {field} of an existing {entity}; deleting and re-creating is "
            "not possible because of the history attached to them.",
            "Users keep wrong data in {entities} because they cannot change it.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "{page} times out for accounts with many {entities}",
            "{page} takes over 40 seconds to load since {version}",
            "Severe slowdown of the {page} {view} after the upgrade",
        ),
        context=(
            "For accounts with more than {big} {entities}, the {page} {view} now takes 40 to 60 "
            "seconds and usually ends in a gateway timeout. Before {version} it loaded in about "
            "two seconds.",
        ),
        trace="timeout",
        impact=(
            "For our larger customers the {page} {view} is unusable, and it is the main screen "
            "they work from.",
            "{customer} cannot open the {page} {view} at all any more.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        titles=(
            "{job} does not run on the last day of the month",
            "{job} silently skipped in months with 31 days",
            "Missing {job} runs at month end",
        ),
        context=(
            "{job} has not run on the 31st for the last two months. The scheduler log shows the "
            "next trigger computed as the 1st of the following month instead.",
        ),
        trace="parse",
        impact=(
            "Month-end {entities} are missing until someone notices, and there is no supported "
            "way to trigger the job for a past date.",
            "The month-end numbers are incomplete every time and have to be chased by hand.",
        ),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "Push notifications not received on Android 14",
            "No push notifications on iOS since {version}",
            "{Entity} alerts never arrive as push notifications",
        ),
        context=(
            "Since {version}, push notifications about {entities} are not delivered on {env}. "
            "The in-app inbox lists them, but nothing shows up on the lock screen.",
        ),
        impact=(
            "Travellers are no longer warned about gate changes and delays in time; the push is "
            "the whole point of the alert feature.",
            "Users only see alerts when they happen to open the app, which is too late for them.",
        ),
    ),
    IssueTemplate(
        surfaces=("cli",),
        titles=(
            "`{cmd}` fails with 'unexpected EOF' when the config uses includes",
            "`{cmd}` exits 1 on configs that use includes",
            "Cannot run `{cmd}` since {version}",
        ),
        context=(
            "Running `{cmd}` with a config file that uses includes fails at once with "
            '"unexpected EOF" since {version}. The same config worked with {prev_version}.',
        ),
        trace="parse",
        impact=(
            "All of our projects use includes, so nobody on the team can run `{cmd}` after "
            "upgrading, and pinning the old version is not possible because of the server API "
            "change.",
            "Every project with a split config is stuck; there is no flag to get the old parser "
            "back.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "Pagination on {endpoint} returns the same page forever",
            "next_cursor never advances on {endpoint}",
            "Cannot fetch more than the first 100 {entities} through the API",
        ),
        context=(
            "The cursor returned by {endpoint} is the same on every page, so clients loop over "
            "the first 100 {entities} and never see the rest.",
        ),
        impact=(
            "Integrations cannot read beyond the first 100 {entities}, and no other endpoint "
            "returns them.",
            "Every sync job of {customer} is stuck on the first page.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Editors can no longer update {entities}",
            "403 for non-admin users when saving {a_entity}",
            "Role permissions for {entities} broken in {version}",
        ),
        context=(
            "Since {version}, users with the Editor role get a 403 when they save {a_entity}. "
            "Admins can still do it.",
        ),
        expected="Editors can save {entities} as before.",
        actual="403 Forbidden, and the change is lost.",
        impact=(
            "Most teams work with editor accounts and we cannot make everyone an admin, so their "
            "daily work on {entities} has stopped.",
            "Whole teams are unable to do their job in {project}.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "{Entities} created late in the evening get the wrong date",
            "Dates on {entities} shift by one day for users outside UTC",
            "{Entities} recorded under the previous day",
        ),
        context=(
            "{Entities} created by users east of UTC shortly after midnight are stored with the "
            "previous day's date, because the date is taken from the server clock in UTC.",
        ),
        impact=(
            "Daily reports are wrong for every customer outside UTC, and there is no setting "
            "that changes it.",
            "Anything grouped by day is off for most of our customers in Asia and Europe.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Importing {entities} from XLSX fails with 'unsupported format'",
            "{Entity} import rejects files exported by Excel",
            "Bulk import broken since {version}",
        ),
        context=(
            'Uploading any .xlsx file to the {entity} import fails with "unsupported format" '
            "since {version}. CSV import fails with the same message.",
        ),
        trace="parse",
        impact=(
            "New customers cannot bring in their existing {entities}; typing hundreds by hand is "
            "not an option.",
            "Onboarding of {customer} is on hold until import works again.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Totals on {page} do not match the underlying {entities}",
            "Summary figures wrong when a date filter is applied",
            "{page} double-counts {entities} in the totals",
        ),
        context=(
            "The totals at the top of the {page} {view} include {entities} from before the "
            "selected date range. The list itself is right; the summary is off by about {pct}%.",
        ),
        impact=(
            "It looks cosmetic, but managers take these totals into their reporting and no "
            "other screen shows them.",
            "People are making decisions on wrong totals, and there is no alternative view.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "{endpoint} rejects requests that worked in {prev_version}",
            "Breaking change in {version}: new required field on {endpoint}",
            "Existing clients get 422 from {endpoint}",
        ),
        context=(
            "After {version}, {endpoint} returns 422 unless the request includes {field}, which "
            "was optional before and is still documented as optional.",
        ),
        impact=(
            "Every integration built against the documented API broke at once, and many "
            "customers use third-party tools they cannot change quickly.",
            "Customer integrations are failing and they can't fix it on their side.",
        ),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "Offline changes are never synced",
            "Edits made offline stay 'pending' forever",
            "Offline sync stuck since {version}",
        ),
        context=(
            "Changes to {entities} made while offline stay pending after the device is back "
            "online. The sync worker logs a failure and gives up after one attempt.",
        ),
        trace="timeout",
        impact=(
            "Offline mode is why field staff use the app, and pending changes cannot be pushed "
            "by any means.",
            "Nothing edited offline reaches the server, and there is no manual sync.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        projects=("KESTREL",),
        titles=(
            "Builds for arm64 stay queued forever",
            "Queued builds never get a runner since {version}",
            "{component} ignores the arm64 label",
        ),
        context=(
            "Builds that request the arm64 runner label stay queued since {version}; x86 builds "
            "are picked up as usual. The autoscaler never starts arm64 machines.",
        ),
        impact=(
            "Teams that ship arm64 images cannot build or release at all.",
            "All arm64 pipelines are blocked; there is no other runner pool they can use.",
        ),
    ),
)

MINOR: tuple[IssueTemplate, ...] = (
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "{page} forgets the sort order after going back",
            "Sort by {field} resets when returning to the list",
            "Sorting on the {page} {view} not kept between visits",
        ),
        context=(
            "If I sort the {page} {view} by {field}, open {a_entity} and press back, the list is "
            "sorted by date again.",
        ),
        impact=(
            "Annoying when working through a long list, but clicking the column header again "
            "restores the order.",
            "Easy to get around by sorting again; it costs a click each time.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Typed dates ignored in the date picker on {page}",
            "Date field on {page} only accepts the calendar popup",
            "Keyboard entry in the date picker does nothing",
        ),
        context=(
            "On the {page} {view}, typing a date into the date field and pressing Enter leaves "
            "it empty. Picking the same date from the calendar popup works.",
        ),
        impact=(
            "Slower for people who prefer the keyboard, but choosing from the calendar works.",
            "Everyone has been using the popup instead; it just takes longer.",
        ),
    ),
    IssueTemplate(
        surfaces=("web", "api"),
        titles=(
            "Error for an invalid {field} just says 'Invalid input'",
            "Validation message for {field} is not helpful",
            "Unclear error when saving {a_entity} with a bad {field}",
        ),
        context=(
            'When the {field} is not in the expected format, saving shows only "Invalid input" '
            "without saying which field is wrong or what format is expected.",
        ),
        impact=(
            "Users work it out after a couple of tries or ask support; the save works once the "
            "value is fixed.",
            "It generates a few support questions a week, nothing is blocked.",
        ),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "{endpoint} sometimes returns 409 on the first attempt",
            "Spurious conflict errors from {endpoint}",
            "Intermittent 409 Conflict on {endpoint}",
        ),
        context=(
            "About {pct}% of calls to {endpoint} fail with 409 Conflict although nothing else "
            "touches the {entity}. Retrying the same request a second later succeeds.",
        ),
        trace="constraint",
        impact=(
            "Our client already retries on 409, so it works, but it adds latency and noise to "
            "the error dashboards.",
            "A retry always succeeds, so this is mostly noise for us.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Filters on {page} reset after opening {a_entity}",
            "Losing filters when navigating from {page}",
            "Filter state not preserved on the {page} {view}",
        ),
        context=(
            "When I open {a_entity} from a filtered {page} {view} and come back, every filter is "
            "cleared.",
        ),
        impact=(
            "Opening {entities} in a new tab keeps the filtered list, so there is a way around "
            "it; it is just tedious.",
            "Workable with middle-click into a new tab, but new users keep tripping over it.",
        ),
    ),
    IssueTemplate(
        surfaces=("cli",),
        titles=(
            "`{cmd} --quiet` still prints a progress bar",
            "Quiet flag ignored by `{cmd}`",
            "`{cmd}` writes progress output to CI logs despite --quiet",
        ),
        context=(
            "Running `{cmd} --quiet` in CI still prints the progress bar, which fills our build "
            "logs with control characters.",
        ),
        impact=(
            "Redirecting stderr to /dev/null hides it, so nobody is blocked.",
            "The command itself works; only the logs are messy.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "{page} is slow with many {entities}",
            "The {page} {view} takes several seconds to render",
            "Slow load of {page} for bigger accounts",
        ),
        context=(
            "With 500 or more {entities}, the {page} {view} takes five to six seconds to become "
            "usable. It used to take about two.",
        ),
        impact=(
            "Still usable, and filtering the list first makes it fast again.",
            "Noticeable but not blocking anyone.",
        ),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "Pull to refresh on {page} needs two swipes",
            "{page} screen does not refresh on the first pull",
            "Refresh gesture unreliable on {page}",
        ),
        context=(
            "On {env}, pulling down on the {page} screen shows the spinner, but the list only "
            "updates after a second pull.",
        ),
        impact=(
            "The data is right after the second pull, and the screen also refreshes by itself "
            "every few minutes.",
            "A second swipe always works; it feels more cosmetic than broken.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "Reminder about {entities} sent twice",
            "Users get duplicate reminder emails",
            "Two identical notifications for the same {entity}",
        ),
        context=(
            "Since {version}, the reminder for an open {entity} arrives twice, a few seconds "
            "apart, with identical content including the subject line.",
        ),
        impact=(
            "Harmless apart from the annoyance; a few users asked whether something is wrong "
            "with their account.",
            "No data is affected, people just get one email too many.",
        ),
    ),
    IssueTemplate(
        surfaces=("web", "mobile"),
        titles=(
            "Counter badge on {page} does not update",
            "Count on {page} stays at the old value",
            "Badge count stale until reload",
        ),
        context=(
            "After handling {a_entity}, the counter badge next to {page} keeps the old number "
            "until the {view} is reloaded.",
        ),
        impact=(
            "A reload shows the right number; the data itself is correct.",
            "Slightly confusing, fixed by refreshing.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Ctrl+S does not save in the {component} editor",
            "Save shortcut opens the browser dialog instead",
            "Keyboard save shortcut broken on {page}",
        ),
        context=(
            "Pressing Ctrl+S (Cmd+S on macOS) on the {page} {view} opens the browser's \"Save "
            'page as" dialog instead of saving the {entity}.',
        ),
        impact=(
            "The Save button works fine; power users are just used to the shortcut.",
            "Clicking Save is the way around it for now.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "{field} column moved to the end of the CSV export",
            "Column order in the {entity} export changed in {version}",
            "CSV export column order differs from the table",
        ),
        context=(
            "Since {version}, the CSV export of {entities} puts {field} as the last column "
            "instead of after the name.",
        ),
        impact=(
            "Our spreadsheet macro expects the old order; reordering the columns by hand works "
            "for now.",
            "All data is still there, only in a different order.",
        ),
    ),
    IssueTemplate(
        surfaces=("api", "batch"),
        titles=(
            "{component} logs a WARN stack trace for every healthy request",
            "Noisy warnings in {component} logs since {version}",
            "Spurious stack traces in {component} logs",
        ),
        context=(
            "Every request to {component} logs a WARN with a full stack trace about a deprecated "
            "configuration option, even though the request succeeds.",
        ),
        trace="parse",
        impact=(
            "No functional impact, but it inflates log volume and hides real problems; we filter "
            "it out in the log pipeline for now.",
            "Only a logging problem; requests are served normally.",
        ),
    ),
    IssueTemplate(
        surfaces=("batch",),
        titles=(
            "{job} needs a retry before it succeeds on Mondays",
            "{job} fails its first attempt after the weekend",
            "First run of {job} times out on Monday mornings",
        ),
        context=(
            "On Monday mornings {job} times out on its first attempt, probably because caches "
            "are cold. The automatic retry succeeds and the data is complete, just about "
            "{minutes} minutes later than usual.",
        ),
        trace="timeout",
        impact=(
            "Data arrives a little late at the start of the week; nobody downstream has "
            "complained.",
            "The retry covers it, so this is about timing only.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Chart tooltips unreadable in dark mode",
            "Dark theme: grey text on grey background on {page}",
            "Low-contrast tooltip on {page} in dark mode",
        ),
        context=(
            "In dark mode, the tooltip on the {page} charts uses dark grey text on a dark "
            "background, so the values are hard to read.",
        ),
        impact=(
            "More than cosmetic since the numbers are hard to read, but switching to the light "
            "theme makes them readable again.",
            "The values can also be read from the table below the chart.",
        ),
    ),
    IssueTemplate(
        surfaces=("cli",),
        titles=(
            "Short flag for dry run misspelled in `{cmd}`",
            "`{cmd} -n` not recognised although documented",
            "Documented short option missing from `{cmd}`",
        ),
        context=(
            "The docs say `{cmd} -n` is the short form of --dry-run, but the alias is registered "
            "under a typo, so -n is rejected as an unknown option.",
        ),
        impact=(
            "The long form --dry-run works, so scripts can use that.",
            "Only the short alias is affected.",
        ),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "{page} screen layout broken in landscape",
            "Buttons cut off on {page} when the phone is rotated",
            "Landscape mode hides the confirm button on {page}",
        ),
        context=(
            "In landscape, the bottom of the {page} screen is cut off and the confirm button is "
            "off screen.",
        ),
        impact=(
            "Rotating back to portrait shows the button again, and most people use the app in "
            "portrait anyway.",
            "Turning the phone upright is enough to continue.",
        ),
    ),
)

TRIVIAL: tuple[IssueTemplate, ...] = (
    IssueTemplate(
        surfaces=("web", "mobile"),
        titles=(
            "Typo on the {page} {view}: '{typo_wrong}'",
            "'{typo_wrong}' should read '{typo_right}'",
            "Spelling mistake in the {page} heading",
        ),
        context=('A heading on the {page} {view} reads "{typo_wrong}" instead of "{typo_right}".',),
        impact=(
            "Only a spelling mistake, nothing is broken.",
            "Spotted while taking screenshots for the docs.",
        ),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Icon next to {field} is slightly misaligned",
            "Info icon sits a few pixels too low on {page}",
            "Misaligned help icon on {page}",
        ),
        context=(
            "The small info icon next to the {field} label on the {page} {view} is about 2 px "
            "below the text baseline.",
        ),
        impact=("Cosmetic only; I noticed it on a high-DPI screen.", "Purely visual."),
    ),
    IssueTemplate(
        surfaces=("web", "mobile"),
        titles=(
            "Inconsistent capitalisation of buttons on {page}",
            "'Save Changes' vs 'Save changes' on {page}",
            "Button labels mix title case and sentence case",
        ),
        context=(
            'On the {page} {view} one button says "Save Changes" and the other "Save changes"; '
            "the style guide uses sentence case.",
        ),
        impact=("A consistency nit; behaviour is not affected.", "Style only."),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Footer still shows last year's copyright",
            "Outdated copyright year in the footer",
            "Copyright line in footer not updated",
        ),
        context=(
            'The footer on every page of {project}, including the login page, shows "© 2023".',
        ),
        impact=("Purely cosmetic.", "Nobody is affected; it just looks a little neglected."),
    ),
    IssueTemplate(
        surfaces=("api", "batch", "cli"),
        titles=(
            "Log line from {component} misspells 'successfully'",
            "Spelling in {component} log output",
            "Misspelled word in {component} completion message",
        ),
        context=('{component} logs "{entity} saved succesfully" after each save.',),
        impact=("Only visible in the logs.", "Harmless; just a spelling fix."),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Tooltip on the {field} help icon says 'Click here'",
            "Vague tooltip text for {field}",
            "Tooltip wording on {page} could be clearer",
        ),
        context=(
            'The tooltip on the {field} help icon says "Click here for more", but clicking does '
            "nothing; the tooltip text itself is the help.",
        ),
        impact=("Wording only.", "A small copy fix."),
    ),
    IssueTemplate(
        surfaces=("cli",),
        titles=(
            "`{cmd} --help` lists options in a different order than the docs",
            "Help text of `{cmd}` not alphabetised",
            "Option order in `{cmd} --help`",
        ),
        context=(
            "The options in `{cmd} --help` appear in declaration order, while the reference docs "
            "list them alphabetically.",
        ),
        impact=("Comparing the two is slightly harder; that is all.", "Cosmetic."),
    ),
    IssueTemplate(
        surfaces=("web", "mobile"),
        titles=(
            "Placeholder in the {field} input is lorem ipsum",
            "Leftover placeholder text on {page}",
            "'Lorem ipsum' shown in the empty {field} field",
        ),
        context=(
            'The empty {field} input on the {page} {view} shows "Lorem ipsum" as placeholder.',
        ),
        impact=("Cosmetic; the field works normally once you type.", "Just leftover text."),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Secondary button hover colour off by a shade",
            "Hover colour does not match the design tokens",
            "Wrong hex value for link hover on {page}",
        ),
        context=(
            "The hover colour of secondary buttons on the {page} {view} is #2F6FEA; the design "
            "tokens say #2F6FEB.",
        ),
        impact=(
            "Barely visible; raising it so the tokens stay the single source of truth.",
            "Nobody will notice, but it should match.",
        ),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "Changelog link in the About dialog points to the old domain",
            "About dialog links to the outdated docs URL",
            "Old domain in the help link",
        ),
        context=(
            'The "What\'s new" link in the About dialog still points to the old docs domain. It '
            "redirects to the right page.",
        ),
        impact=("Works through the redirect; cosmetic.", "Tidy-up only."),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "Double space in the {entity} email subject",
            "Extra whitespace in the notification subject",
            "Subject line of {entity} emails has two spaces",
        ),
        context=(
            'The subject of the email sent for a new {entity} reads "Your {entity}  is ready".',
        ),
        impact=("Cosmetic.", "Only visible if you look closely."),
    ),
    IssueTemplate(
        surfaces=("web", "mobile"),
        titles=(
            "'1 {entities}' should be singular",
            "Wrong plural for a single {entity}",
            "Counter text says '1 {entities}'",
        ),
        context=('When exactly one {entity} is listed, the {page} {view} shows "1 {entities}".',),
        impact=("Grammar only.", "Small text fix."),
    ),
    IssueTemplate(
        surfaces=("mobile",),
        titles=(
            "Splash screen logo blurry on tablets",
            "Low-resolution logo on the splash screen",
            "Logo on the splash screen looks pixelated",
        ),
        context=(
            "On {env} the logo on the splash screen is visibly blurry, as if a low-resolution "
            "asset were scaled up.",
        ),
        impact=("It shows for about a second at launch; nothing else is affected.", "Visual."),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Language list sorted by code instead of name",
            "Order of the language dropdown looks random",
            "Sort languages by their display name",
        ),
        context=(
            "The language dropdown in the settings is sorted by ISO code rather than by name, so "
            '"Suomi" appears before "Français".',
        ),
        impact=("All languages are there; it is only the order.", "Cosmetic ordering issue."),
    ),
    IssueTemplate(
        surfaces=("api",),
        titles=(
            "Stray comma in the API reference example for {endpoint}",
            "Example request for {endpoint} is not valid JSON",
            "Docs example for {endpoint} has a syntax slip",
        ),
        context=(
            "The example request body in the API reference for {endpoint} has a trailing comma. "
            "The description and the endpoint itself are correct.",
        ),
        impact=("Documentation only.", "A one-character docs fix."),
    ),
    IssueTemplate(
        surfaces=ANY,
        titles=(
            "Some {component} error messages end with a full stop, others do not",
            "Inconsistent punctuation in {component} messages",
            "Trailing period in error messages is inconsistent",
        ),
        context=(
            "Error messages from {component} are inconsistent: about half end with a full stop.",
        ),
        impact=("Style only.", "Consistency nit."),
    ),
    IssueTemplate(
        surfaces=("web",),
        titles=(
            "Empty-state illustration on {page} slightly cropped",
            "Illustration cut off at the bottom on {page}",
            "Cropped artwork in the empty {page} {view}",
        ),
        context=(
            "When there are no {entities}, the illustration on the {page} {view} is cut off by "
            "a few pixels at the bottom on narrow windows.",
        ),
        impact=("Purely visual.", "Only seen by accounts with no {entities} yet."),
    ),
)

ISSUE_TEMPLATES: dict[str, tuple[IssueTemplate, ...]] = {
    "Critical": CRITICAL,
    "Major": MAJOR,
    "Minor": MINOR,
    "Trivial": TRIVIAL,
}

# Remarks that fit any label, so that tone carries no signal about priority.
REMARKS = (
    "Happy to provide more details.",
    "Screenshots attached.",
    "Possibly related to the {prev_version} to {version} upgrade.",
    "Reported by {customer} through {ticket}.",
    "Not sure which team owns this; please reassign if needed.",
    "Two people on our team have seen it.",
    "Let me know if you need a HAR file or more logs.",
    "First noticed on {date}.",
    "Could someone take a look this sprint?",
    "Raised in the {date} triage meeting.",
)


# --------------------------------------------------------------------------------------------
# Story templates for estimation. Size follows scope: surfaces touched, migrations, integrations
# and the number of acceptance criteria, with neighbouring sizes overlapping.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryTemplate:
    surfaces: tuple[str, ...]
    titles: tuple[str, ...]
    story: str
    criteria: tuple[str, ...]
    context: tuple[str, ...] = ("",)
    extra: tuple[str, ...] = ()  # criteria of which zero to two are added
    projects: tuple[str, ...] = ()


STORIES: dict[int, tuple[StoryTemplate, ...]] = {
    1: (
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=(
                "Show newest {entities} first on {page} by default",
                "Default sort of {page} to newest first",
            ),
            story="As {a_user}, I want the {page} list to open with the newest {entities} first "
            "so that I don't have to re-sort it every time.",
            criteria=(
                "{page} is sorted by creation date, newest first, on first load",
                "Users can still change the sort as before",
            ),
            context=("", "Only the default changes; the sort options stay the same."),
        ),
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=(
                "Update the empty-state text on {page}",
                "New copy for the empty {page} {view}",
            ),
            story="As {a_user}, I want the empty {page} {view} to explain what to do next so "
            "that I know how to add my first {entity}.",
            criteria=("The empty-state text matches the copy agreed with UX",),
            context=("", "Copy is final and attached. No layout changes."),
            extra=("The link in the text opens the help article in a new tab",),
        ),
        StoryTemplate(
            surfaces=("api", "batch"),
            titles=(
                "Raise the {component} request timeout to 60 seconds",
                "Increase timeout for {component} upstream calls",
            ),
            story="As {a_ops}, I want the {component} timeout raised from 30 to 60 seconds so "
            "that slow but valid requests stop failing.",
            criteria=(
                "The timeout is 60 s in every environment",
                "The value is documented in the runbook",
            ),
        ),
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=(
                "Rename the '{rename_old}' menu item to '{rename_new}'",
                "Menu label '{rename_old}' becomes '{rename_new}'",
            ),
            story="As {a_user}, I want the menu item called '{rename_new}' so that it matches "
            "the wording in the help centre.",
            criteria=("The menu shows '{rename_new}' in all supported languages",),
            extra=("Screenshots in the help centre are updated",),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=(
                "Log the number of processed {entities} at the end of {job}",
                "Summary log line for {job}",
            ),
            story="As {a_ops}, I want {job} to log how many {entities} it processed so that I "
            "can spot empty runs.",
            criteria=(
                "{job} logs one INFO line with the count when it finishes",
                "No other change to the job",
            ),
        ),
        StoryTemplate(
            surfaces=("cli",),
            titles=(
                "Show the config file path in `{cmd} --help`",
                "Mention the default config location in `{cmd}` help",
            ),
            story="As {a_user}, I want `{cmd} --help` to say where the config file is read from "
            "so that I don't have to look it up.",
            criteria=("`{cmd} --help` prints the resolved config path at the end",),
        ),
        StoryTemplate(
            surfaces=ANY,
            titles=("Update the support email shown on {page}", "New support address on {page}"),
            story="As {a_ops}, I want the {page} {view} to show the new support address so that "
            "questions reach the shared inbox.",
            criteria=("The old address no longer appears on the {page} {view}",),
        ),
    ),
    2: (
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=(
                "Show the {field} on the {entity} detail view",
                "Display {field} for {entities}",
            ),
            story="As {a_user}, I want to see the {field} of {a_entity} on its detail view so "
            "that I don't have to open the edit form.",
            context=("The API already returns the {field}; it is just not displayed.",),
            criteria=(
                "The {field} is shown under the title of the {entity} detail view",
                "A dash is shown when it is empty",
            ),
            extra=("Matches the mock-up attached to this ticket",),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=("Sort the {page} list by {field}", "Add {field} as a sort column on {page}"),
            story="As {a_user}, I want to sort {entities} by {field} so that I can find the ones "
            "I need quickly.",
            context=("The list endpoint already supports sorting by {field}.",),
            criteria=(
                "Clicking the {field} column header sorts ascending, a second click descending",
                "The sort survives a page reload",
                "Existing sort options keep working",
            ),
        ),
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=(
                "Validate the {field} on the {entity} form",
                "Inline validation for {field}",
            ),
            story="As {a_user}, I want to be told right away when the {field} is invalid so that "
            "I don't lose time on a failed save.",
            criteria=(
                "An invalid {field} shows an inline error under the field",
                "Save stays disabled until the error is fixed",
                "Server-side validation is unchanged",
            ),
        ),
        StoryTemplate(
            surfaces=("cli",),
            titles=("Add --json output to `{cmd}`", "Machine-readable output for `{cmd}`"),
            story="As {a_dev}, I want `{cmd}` to print JSON so that I can use it in scripts.",
            criteria=(
                "`{cmd} --json` prints one JSON object per line",
                "Human output is unchanged without the flag",
                "The flag is described in --help",
            ),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=("Notify the team channel when {job} fails", "Chat alert for failed {job} runs"),
            story="As {a_ops}, I want a chat message when {job} fails so that I don't find out "
            "from users.",
            context=("We already have a notifier that other jobs use.",),
            criteria=(
                "A failed run posts one message with the run id and the error",
                "No message for successful runs",
                "The channel is configurable through an environment variable",
            ),
        ),
        StoryTemplate(
            surfaces=("api",),
            titles=("Include {field} in the {endpoint} response", "Return {field} from {endpoint}"),
            story="As {a_dev}, I want {endpoint} to return the {field} so that I don't need a "
            "second call.",
            criteria=(
                "The response includes the {field} of every {entity}",
                "The field is in the API reference",
                "Existing fields are unchanged",
            ),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=("Remember the last filter on the {page} screen", "Persist {page} filter"),
            story="As {a_user}, I want the {page} screen to remember my last filter so that I "
            "don't set it again on every visit.",
            criteria=(
                "The last filter is restored when the screen opens",
                "It is cleared on logout",
            ),
            extra=("Works on both Android and iOS",),
        ),
    ),
    3: (
        StoryTemplate(
            surfaces=("web",),
            titles=("Filter {entities} by {field} on {page}", "Add a {field} filter to {page}"),
            story="As {a_user}, I want to filter {entities} by {field} so that I only see the ones "
            "relevant to me.",
            context=("Needs a new query parameter on the list endpoint and a filter control.",),
            criteria=(
                "A {field} filter appears in the filter bar of {page}",
                "The list endpoint accepts the filter and returns only matching {entities}",
                "The filter is part of the URL so a filtered view can be shared",
                "Clearing the filter restores the full list",
            ),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=("Bulk archive {entities}", "Archive several {entities} at once"),
            story="As {a_admin}, I want to archive many {entities} in one go so that clean-up "
            "doesn't take an afternoon.",
            criteria=(
                "Up to 100 {entities} can be selected with checkboxes",
                "One 'Archive' action archives all selected {entities} in a single request",
                "A message reports how many were archived",
                "Archived {entities} disappear from the default view",
            ),
        ),
        StoryTemplate(
            surfaces=("api",),
            titles=("Expose the {entity} {field} in the public API", "{field} in the API"),
            story="As {a_dev}, I want to read and update the {field} through the API so that our "
            "integration no longer needs the UI.",
            criteria=(
                "GET and list endpoints return the {field}",
                "PATCH accepts the {field} with the same validation as the UI",
                "API reference and changelog are updated",
            ),
            extra=("Contract tests cover the new field",),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=("Retry {job} with backoff on transient errors", "Backoff retries for {job}"),
            story="As {a_ops}, I want {job} to retry transient failures so that a short network "
            "blip doesn't need a manual rerun.",
            criteria=(
                "Transient failures are retried up to three times with exponential backoff",
                "Permanent errors fail at once",
                "Each retry is logged with its attempt number",
            ),
            extra=("The retry count is configurable",),
        ),
        StoryTemplate(
            surfaces=("web", "mobile"),
            titles=("Confirm before deleting {a_entity}", "Delete confirmation for {entities}"),
            story="As {a_user}, I want to confirm before {a_entity} is deleted so that I don't "
            "lose one by a misclick.",
            criteria=(
                "Deleting shows a dialog that names the {entity}",
                "Cancel leaves everything unchanged",
                "The dialog can be confirmed with the keyboard",
            ),
            extra=("Confirmed deletes send an analytics event",),
        ),
        StoryTemplate(
            surfaces=("cli",),
            titles=(
                "Read `{cmd}` defaults from a project config file",
                "Project defaults for `{cmd}`",
            ),
            story="As {a_user}, I want `{cmd}` to take defaults from a config file in the project "
            "so that I don't repeat the same flags.",
            criteria=(
                "A config file in the project root is read when present",
                "Flags on the command line win over the file",
                "An unknown key in the file is an error that names the key",
            ),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=("Show a badge for unread {entities}", "Unread count on the {page} tab"),
            story="As {a_user}, I want a badge with the number of unread {entities} so that I "
            "notice new ones.",
            criteria=(
                "The {page} tab shows the unread count",
                "The count updates when {a_entity} is opened",
                "The badge hides at zero",
            ),
            extra=("Works on both Android and iOS",),
        ),
    ),
    5: (
        StoryTemplate(
            surfaces=("web",),
            titles=("Export {entities} to CSV with the current filters", "CSV export for {page}"),
            story="As {a_user}, I want to export the {entities} I am looking at so that I can "
            "work with them in a spreadsheet.",
            criteria=(
                "An Export button on {page} exports exactly the filtered list",
                "Exports above {big} rows run in the background and the user gets an email "
                "with a download link",
                "Columns match the visible table columns",
                "Dates are ISO 8601 in the user's time zone",
            ),
            extra=("The download link expires after 7 days",),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=("Duplicate {a_entity}", "Copy an existing {entity}"),
            story="As {a_user}, I want to duplicate {a_entity} so that I can start from an "
            "existing one.",
            criteria=(
                "A 'Duplicate' action creates a copy with '(copy)' appended to the name",
                "Attachments are copied, not linked",
                "Permissions of the original are copied",
                "History is not copied",
            ),
            extra=("The audit log records who duplicated what",),
        ),
        StoryTemplate(
            surfaces=ANY,
            titles=("Audit log for changes to the {field}", "Track who changed the {field}"),
            story="As {a_admin}, I want every change to the {field} recorded so that I can answer "
            "auditors' questions.",
            criteria=(
                "Every change writes an entry with old value, new value, user and time",
                "Admins can see the entries on the {entity} detail view",
                "Entries cannot be edited or deleted",
                "Entries are included in the existing audit export",
            ),
            extra=("Retention follows the account's audit retention setting",),
        ),
        StoryTemplate(
            surfaces=("api",),
            titles=("Rate-limit {endpoint} per API key", "Per-key rate limits on {endpoint}"),
            story="As {a_ops}, I want {endpoint} rate-limited per key so that one noisy client "
            "cannot slow everyone down.",
            criteria=(
                "Each key is limited to a number of requests per minute, configurable per plan",
                "Over the limit the API returns 429 with Retry-After",
                "Rate-limit headers are on every response",
                "Limits are shared across all instances",
            ),
            extra=("The API reference documents the limits",),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=(
                "Cache recent {entities} for offline viewing",
                "Offline read access to {entities}",
            ),
            story="As {a_user}, I want to see my recent {entities} without a connection so that I "
            "can check them while travelling.",
            criteria=(
                "The last 50 {entities} viewed can be read offline",
                "A banner says when the data may be out of date",
                "The cache is cleared on logout",
                "Works on Android and iOS",
            ),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=("Make {job} resumable after a crash", "Checkpointing for {job}"),
            story="As {a_ops}, I want {job} to continue where it stopped so that a crash doesn't "
            "mean starting over.",
            criteria=(
                "Progress is checkpointed every 1,000 {entities}",
                "A restarted run continues from the last checkpoint",
                "No {entity} is processed twice",
                "Checkpoints older than a week are cleaned up",
            ),
        ),
        StoryTemplate(
            surfaces=("cli",),
            titles=("Profiles for several environments in `{cmd}`", "`{cmd}` --profile support"),
            story="As {a_dev}, I want named profiles in `{cmd}` so that I can switch between "
            "staging and production safely.",
            criteria=(
                "Profiles are defined in the user config with URL and credentials reference",
                "`--profile NAME` selects one; the default profile is used otherwise",
                "Production profiles ask for confirmation before destructive commands",
                "Credentials are read from the OS keychain, never from the file",
            ),
        ),
    ),
    8: (
        StoryTemplate(
            surfaces=("web",),
            titles=(
                "Scheduled {entity} reports by email",
                "Email {entities} reports on a schedule",
            ),
            story="As {a_user}, I want to receive a {entity} report on a schedule so that I stop "
            "exporting it by hand every week.",
            criteria=(
                "Users can schedule a report daily, weekly or monthly",
                "The report arrives as a PDF with a CSV attachment",
                "Send times follow the recipient's time zone",
                "Recipients can unsubscribe with one click",
                "Failed sends are retried and visible to the owner",
            ),
            extra=("Admins can see and cancel all schedules of the account",),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=("Import {entities} from CSV with a preview", "CSV import for {entities}"),
            story="As {a_admin}, I want to import {entities} from a CSV file so that moving to "
            "{project} doesn't mean typing everything again.",
            criteria=(
                "Upload a CSV of up to {big} rows",
                "A preview shows the first 20 rows with the column mapping",
                "Invalid rows are listed with their row number and the reason",
                "Valid rows are imported in the background",
                "A summary email is sent when the import is done",
            ),
            extra=("An import can be undone within 24 hours",),
        ),
        StoryTemplate(
            surfaces=("web", "api"),
            titles=("Two-step approval for large {entities}", "Approval flow for {entities}"),
            story="As {a_admin}, I want {entities} above a threshold to need a second person's "
            "approval so that mistakes and fraud are caught.",
            criteria=(
                "Admins set a threshold per account",
                "{Entities} above it wait for approval by a second user",
                "Approvers are notified and can approve or reject with a comment",
                "Requesters cannot approve their own {entities}",
                "Pending approvals are listed on {page}",
            ),
            extra=("Every decision is in the audit log",),
        ),
        StoryTemplate(
            surfaces=("api",),
            titles=("Webhooks for {entity} lifecycle events", "Outgoing webhooks for {entities}"),
            story="As {a_dev}, I want webhooks when {entities} are created, changed or deleted so "
            "that my system doesn't have to poll.",
            criteria=(
                "Customers register endpoints for created, updated and deleted events",
                "Payloads are signed with a secret per endpoint",
                "Failed deliveries are retried with backoff for 24 hours",
                "A delivery log shows the last 100 attempts per endpoint",
                "Endpoints can be paused and resumed",
            ),
            extra=("Docs include signature verification examples",),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=("Move {job} from cron to the scheduler", "Migrate {job} off the cron VM"),
            story="As {a_ops}, I want {job} to run on the shared scheduler so that we get "
            "history, alerting and backfills.",
            context=("The job runs from a crontab on a single VM today.",),
            criteria=(
                "{job} is defined in the scheduler with the same schedule",
                "Runs are visible in the run history with their logs",
                "Alerts fire on failure and on runs longer than two hours",
                "A backfill for the last 30 days can be started from the UI",
                "The crontab entry and the VM are decommissioned",
            ),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=("Share {a_entity} with another user", "In-app sharing of {entities}"),
            story="As {a_user}, I want to share {a_entity} with someone else so that we can plan "
            "together.",
            criteria=(
                "A share sheet invites by email or phone number",
                "Invitees without an account get a sign-up link that opens the {entity}",
                "The owner can revoke access at any time",
                "Shared {entities} update live for everyone",
                "Works on Android and iOS, with deep links",
            ),
        ),
        StoryTemplate(
            surfaces=("cli",),
            titles=("Interactive setup wizard for `{cmd}`", "Guided first run of `{cmd}`"),
            story="As {a_user}, I want `{cmd}` to guide me through setup the first time so that I "
            "don't need to read the whole manual.",
            criteria=(
                "The wizard asks for server URL, credentials and defaults",
                "Every answer is validated against the server before continuing",
                "The result is written to the config file with comments",
                "A non-interactive mode takes the same answers as flags",
                "Existing configs are detected and can be updated",
            ),
        ),
    ),
    13: (
        StoryTemplate(
            surfaces=("web", "api"),
            titles=(
                "Custom roles with per-{entity} permissions",
                "Fine-grained roles for {entities}",
            ),
            story="As {a_admin}, I want to define my own roles with permissions per {entity} type "
            "so that people get exactly the access they need.",
            criteria=(
                "Admins can create roles with view, edit and delete permissions per type",
                "Existing roles are migrated without changing anyone's access",
                "Permission checks are enforced in both UI and API",
                "Role changes take effect without logging out",
                "Role changes are written to the audit log",
                "Admins can assign roles to many users at once",
            ),
            extra=("Permission checks add less than 5 ms per request",),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=(
                "Localise {project} into five languages",
                "Translations including Arabic (RTL)",
            ),
            story="As {a_user}, I want {project} in my own language so that my whole team can "
            "use it.",
            criteria=(
                "All UI strings are extracted into translation files",
                "A language switcher in user settings",
                "Dates, numbers and currencies are formatted per locale",
                "Right-to-left layout works for Arabic",
                "Emails go out in the recipient's language",
                "Missing strings fall back to English",
            ),
            extra=("The workflow with the translation vendor is documented",),
        ),
        StoryTemplate(
            surfaces=("web", "api"),
            titles=("Full-text search across {entities}", "Search {entities} by any text"),
            story="As {a_user}, I want to search all {entities} by their text so that I can find "
            "anything without knowing where it lives.",
            criteria=(
                "A search box on {page} searches titles, the {field} and comments",
                "Results within 500 ms for accounts with {big} {entities}",
                "Matching terms are highlighted",
                "A new search index is kept in sync on create, update and delete",
                "A full reindex job covers existing data",
                "Results respect permissions",
            ),
            extra=("A search endpoint is available to integrations",),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=(
                "Offline editing of {entities} with conflict resolution",
                "Edit {entities} offline",
            ),
            story="As {a_user}, I want to create and edit {entities} without a connection so that "
            "I can keep working on flights.",
            criteria=(
                "{Entities} can be created and edited offline",
                "Changes sync automatically when back online",
                "Conflicts are shown side by side for the user to choose",
                "Nothing is lost when the app is killed during sync",
                "Sync status is visible per {entity}",
                "Works on Android and iOS",
            ),
            extra=("Sync failures are reported to telemetry",),
        ),
        StoryTemplate(
            surfaces=("web",),
            titles=("SAML single sign-on for enterprise accounts", "SSO with SAML 2.0"),
            story="As {a_admin}, I want my team to sign in with our identity provider so that "
            "joiners and leavers are handled in one place.",
            criteria=(
                "Admins configure SAML with a metadata URL or an XML upload",
                "Both SP- and IdP-initiated login work",
                "Users are provisioned just in time with a default role",
                "Admins can enforce SSO for every user of the account",
                "A break-glass admin login remains available",
                "Tested with Okta, Azure AD and Google Workspace",
            ),
            extra=("Set-up guides for each identity provider",),
        ),
        StoryTemplate(
            surfaces=("batch",),
            titles=("Incremental processing for {job}", "Process only changed {entities} in {job}"),
            story="As {a_ops}, I want {job} to process only what changed since the last run so "
            "that it finishes in minutes instead of hours.",
            context=("Today every run reprocesses all {entities} from scratch.",),
            criteria=(
                "Change tracking records which {entities} changed since the last run",
                "The job processes only changed {entities} and their dependants",
                "A full run can still be forced",
                "Results of incremental and full runs are identical, checked by a nightly "
                "comparison",
                "Late-arriving data within 7 days is picked up",
                "Dashboards show rows processed and lag",
            ),
        ),
    ),
    21: (
        StoryTemplate(
            surfaces=ANY,
            titles=(
                "Move {entities} to a partitioned store",
                "Re-platform {entity} storage for scale",
            ),
            story="As {a_ops}, I want {entities} stored in a partitioned database so that we can "
            "keep growing without outages.",
            context=("The {entities} table holds {huge} rows and vacuum no longer keeps up.",),
            criteria=(
                "The partitioned schema is designed and reviewed",
                "Writes go to both the old and the new store behind a flag",
                "All historical {entities} are backfilled, verified by row counts and checksums",
                "Reads switch per account, with a way to switch back",
                "Every service that reads the table is updated",
                "The old table is removed after 30 days without rollback",
                "No downtime during the migration",
            ),
            extra=("Runbook and dashboards for the new store",),
        ),
        StoryTemplate(
            surfaces=("api", "web"),
            titles=("Run {component} active-active in two regions", "Multi-region {component}"),
            story="As {a_ops}, I want {component} to run in two regions at once so that losing a "
            "region is not an outage.",
            criteria=(
                "{component} serves traffic from two regions",
                "Data is replicated with less than one minute of possible loss",
                "Automatic failover is proven in a game day",
                "Customers can choose EU or US data residency",
                "Latency dashboards per region",
                "The cost estimate is approved",
                "Runbooks are updated and on-call is trained",
            ),
        ),
        StoryTemplate(
            surfaces=("api",),
            titles=("Public API v3 for {entities}", "Design and ship API v3"),
            story="As {a_dev}, I want a consistent v3 API so that integrating {project} is "
            "predictable.",
            criteria=(
                "The resource model passes design review",
                "An OpenAPI specification is published",
                "Every v2 operation is available in v3",
                "Cursor pagination and one error format everywhere",
                "SDKs for Python, TypeScript and Java are generated and released",
                "v2 gets deprecation notices and a 12-month sunset plan",
                "A migration guide for integrators",
            ),
            extra=("Contract and load tests for every endpoint",),
        ),
        StoryTemplate(
            surfaces=ANY,
            titles=("Extract {component} from the monolith", "{component} as its own service"),
            story="As {a_dev}, I want {component} to be a separate service so that it can be "
            "deployed and scaled independently.",
            criteria=(
                "The service boundary and API are agreed with every consuming team",
                "{component} has its own database; data is migrated without downtime",
                "Calls from the monolith go through the new API behind a flag",
                "Tracing covers calls across the boundary",
                "The service has its own deploy pipeline, alerts and on-call rota",
                "The old code paths are deleted",
                "Load test at twice peak traffic",
            ),
        ),
        StoryTemplate(
            surfaces=ANY,
            titles=("Data subject requests end to end", "GDPR export and deletion for all data"),
            story="As {a_admin}, I want to fulfil data access and deletion requests in {project} "
            "so that we meet our legal deadlines.",
            criteria=(
                "All personal data of a person can be exported across every service",
                "Deletion covers the main stores, search indexes and analytics",
                "Admins track each request in a dedicated view",
                "Identity is verified before anything is released",
                "Evidence for each request is kept for the auditors",
                "Third-party processors are notified through their APIs",
                "Legal has reviewed the process",
            ),
        ),
        StoryTemplate(
            surfaces=("mobile",),
            titles=(
                "Rebuild the {page} flow on the new design system",
                "New {page} flow on both apps",
            ),
            story="As {a_user}, I want the redesigned {page} flow so that it is faster and "
            "accessible.",
            criteria=(
                "All {page} screens are rebuilt with the new components on Android and iOS",
                "Screen readers can complete the whole flow",
                "The flow works offline where it did before",
                "Analytics events are mapped to the new screens",
                "The old and new flows run side by side behind a remote flag",
                "A/B test against the old flow for two weeks",
                "Crash-free sessions at least as good as before",
            ),
        ),
    ),
}

STORY_NOTES = (
    "",
    "",
    "Design: mock-ups attached.",
    "Tech lead to review the approach before work starts.",
    "Discussed in refinement on {date}.",
    "Requested by {customer}.",
    "Out of scope: changes to billing.",
    "Related support ticket: {ticket}.",
)


# --------------------------------------------------------------------------------------------
# Rendering.
# --------------------------------------------------------------------------------------------


def pick_project(surfaces: tuple[str, ...], only: tuple[str, ...], rng: random.Random) -> Project:
    fits = [
        p
        for p in PROJECTS
        if (not only or p.key in only) and ("any" in surfaces or set(surfaces) & set(p.surfaces))
    ]
    return rng.choice(fits)


def pick_surface(surfaces: tuple[str, ...], project: Project, rng: random.Random) -> str:
    usable = (
        list(project.surfaces)
        if "any" in surfaces
        else [s for s in surfaces if s in project.surfaces]
    )
    return rng.choice(usable)


def render_issue(t: IssueTemplate, rng: random.Random) -> dict[str, Any]:
    project = pick_project(t.surfaces, t.projects, rng)
    surface = pick_surface(t.surfaces, project, rng)
    s = fill_slots(project, surface, rng)
    style = rng.choice(("markdown", "plain", "terse"))
    parts = [fill(rng.choice(t.context), s)]
    if t.steps and rng.random() < 0.8:
        steps = [fill(step, s) for step in t.steps]
        if style == "markdown":
            parts.append(
                "**Steps to reproduce**\n" + "\n".join(f"{i}. {x}" for i, x in enumerate(steps, 1))
            )
        elif style == "plain":
            parts.append(
                "Steps to reproduce:\n" + "\n".join(f"{i}. {x}" for i, x in enumerate(steps, 1))
            )
        else:
            parts.append("STR: " + " > ".join(steps))
    if t.expected:
        expected, actual = fill(t.expected, s), fill(t.actual, s)
        if style == "markdown":
            parts.append(f"**Expected:** {expected}\n**Actual:** {actual}")
        elif style == "plain":
            parts.append(f"Expected: {expected}\nActual: {actual}")
        else:
            parts.append(f"exp: {expected} / got: {actual}")
    if t.trace and rng.random() < 0.85:
        trace = stack_trace(project, t.trace, rng)
        parts.append(f"```\n{trace}\n```" if style == "markdown" else trace)
    env_line = rng.choice(("Environment: {env}", "Seen on {env}.", "Env: {env}"))
    parts.append(fill(env_line, s))
    parts.append(fill(rng.choice(t.impact), s))
    if rng.random() < 0.4:
        parts.append(fill(rng.choice(REMARKS), s))
    return {
        "project": project.key,
        "component": s["component"],
        "title": fill(rng.choice(t.titles), s),
        "description": "\n\n".join(parts),
        "reporter": rng.choice(REPORTERS),
    }


def render_story(t: StoryTemplate, rng: random.Random) -> dict[str, Any]:
    project = pick_project(t.surfaces, t.projects, rng)
    surface = pick_surface(t.surfaces, project, rng)
    s = fill_slots(project, surface, rng)
    criteria = [fill(c, s) for c in t.criteria]
    extras = [fill(c, s) for c in t.extra]
    criteria += rng.sample(extras, k=rng.randint(0, len(extras)))
    parts = [fill(t.story, s)]
    context = fill(rng.choice(t.context), s)
    if context:
        parts.append(context)
    heading = rng.choice(("Acceptance criteria:", "**Acceptance criteria**", "AC:"))
    if rng.random() < 0.5:
        listed = "\n".join(f"- {c}" for c in criteria)
    else:
        listed = "\n".join(f"{i}. {c}" for i, c in enumerate(criteria, 1))
    parts.append(f"{heading}\n{listed}")
    note = fill(rng.choice(STORY_NOTES), s)
    if note:
        parts.append(note)
    return {
        "project": project.key,
        "title": fill(rng.choice(t.titles), s),
        "description": "\n\n".join(parts),
    }


def generate_pool(
    templates: Sequence[Any],
    count: int,
    render: Callable[[Any, random.Random], dict[str, Any]],
    seen: set[tuple[str, str]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """`count` rows cycling through the templates; a (project, title) pair never repeats."""
    order = list(templates)
    rng.shuffle(order)
    rows: list[dict[str, Any]] = []
    turn = 0
    while len(rows) < count:
        template = order[turn % len(order)]
        turn += 1
        if turn > count * 50:
            raise RuntimeError("templates cannot produce enough distinct rows; add variety")
        for _ in range(20):
            row = render(template, rng)
            key = (row["project"], row["title"])
            if key not in seen:
                seen.add(key)
                rows.append(row)
                break
    return rows


def assign_keys(rows: list[dict[str, Any]], first: int, rng: random.Random) -> None:
    """Issue keys like ORBIT-1042, numbered after a shuffle so that order says nothing of gold."""
    shuffled = list(rows)
    rng.shuffle(shuffled)
    counters = {p.key: first + rng.randint(0, 400) for p in PROJECTS}
    for row in shuffled:
        counters[row["project"]] += rng.randint(1, 7)
        row["instance_id"] = f"{row['project']}-{counters[row['project']]}"


def demo_order(
    rows: list[dict[str, Any]], labels: Sequence[Any], rng: random.Random
) -> list[dict[str, Any]]:
    """A seeded shuffle whose first DEMO_PREFIX rows cover every label (reshuffle until so)."""
    ordered = list(rows)
    while True:
        rng.shuffle(ordered)
        if {r["gold"] for r in ordered[:DEMO_PREFIX]} >= set(labels):
            return ordered


def with_field_order(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: row[name] for name in fields}


TRIAGE_FIELDS = ("instance_id", "project", "component", "title", "description", "reporter", "gold")
ESTIMATION_FIELDS = ("instance_id", "project", "title", "description", "gold")
PAIR_ISSUE_FIELDS = ("project", "component", "title", "description")
PAIR_FIELDS = ("instance_id", "a", "b", "source_ids", "gold")


Rows = list[dict[str, Any]]


def build_pools(
    templates: dict[Any, Sequence[Any]],
    counts: dict[Any, tuple[int, int]],
    render: Callable[[Any, random.Random], dict[str, Any]],
    fields: Sequence[str],
    first_key: int,
    labels: Sequence[Any],
    rng: random.Random,
) -> tuple[Rows, Rows]:
    """Items and examples for every gold value, keyed and ordered (see demo_order)."""
    seen: set[tuple[str, str]] = set()
    items: Rows = []
    examples: Rows = []
    for gold, (n_items, n_examples) in counts.items():
        rows = generate_pool(templates[gold], n_items + n_examples, render, seen, rng)
        for row in rows:
            row["gold"] = gold
        # Every template reaches both pools: examples take every k-th row, not a block.
        step = (n_items + n_examples) // n_examples
        chosen = set(range(0, step * n_examples, step))
        examples += [r for i, r in enumerate(rows) if i in chosen]
        items += [r for i, r in enumerate(rows) if i not in chosen]
    assign_keys(items + examples, first_key, rng)
    items = demo_order(items, labels, rng)
    examples = demo_order(examples, labels, rng)
    return (
        [with_field_order(r, fields) for r in items],
        [with_field_order(r, fields) for r in examples],
    )


def build_pairs(
    issues: list[dict[str, Any]], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """`count` pairs of issues with different priority; each issue in at most PAIR_MAX_USES pairs.
    Exactly half the pairs have the more urgent issue first (gold "A")."""
    rank = {label: i for i, label in enumerate(TRIAGE_LABELS)}
    candidates = [
        (i, j)
        for i in range(len(issues))
        for j in range(i + 1, len(issues))
        if issues[i]["gold"] != issues[j]["gold"]
    ]
    rng.shuffle(candidates)
    uses: Counter[int] = Counter()
    chosen: list[tuple[int, int]] = []
    for i, j in candidates:
        if uses[i] < PAIR_MAX_USES and uses[j] < PAIR_MAX_USES:
            chosen.append((i, j))
            uses[i] += 1
            uses[j] += 1
            if len(chosen) == count:
                break
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} pairs possible, {count} wanted")
    pairs = []
    for k, (i, j) in enumerate(chosen):
        urgent, other = (i, j) if rank[issues[i]["gold"]] < rank[issues[j]["gold"]] else (j, i)
        first, second = (urgent, other) if k % 2 == 0 else (other, urgent)
        a, b = issues[first], issues[second]
        source_ids = [a["instance_id"], b["instance_id"]]
        pairs.append(
            {
                "instance_id": "pair-" + sha256_hex("|".join(source_ids))[:12],
                "a": with_field_order(a, PAIR_ISSUE_FIELDS),
                "b": with_field_order(b, PAIR_ISSUE_FIELDS),
                "source_ids": source_ids,
                "gold": "A" if k % 2 == 0 else "B",
            }
        )
    return demo_order(pairs, PAIR_LABELS, rng)


# --------------------------------------------------------------------------------------------
# Schemas, datasheets and files.
# --------------------------------------------------------------------------------------------

ISSUE_KEY_PATTERN = "^[A-Z][A-Z0-9]*-[0-9]+$"


def text_property(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


def item_schema(suite_id: str, task: TaskKind) -> dict[str, Any]:
    base = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://puma-bench.example/suites/{suite_id}/item.schema.json",
        "title": f"One item of the {suite_id} suite",
        "type": "object",
        "additionalProperties": False,
    }
    issue_props = {
        "project": text_property("project key"),
        "component": text_property("component the issue was filed against"),
        "title": text_property("issue summary"),
        "description": text_property("issue body: context, steps, traces, impact"),
    }
    if task is TaskKind.TRIAGE:
        return base | {
            "required": list(TRIAGE_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                **issue_props,
                "reporter": text_property("reporter's display name (a plain name)"),
                "gold": {"enum": list(TRIAGE_LABELS), "description": "priority"},
            },
        }
    if task is TaskKind.ESTIMATION:
        return base | {
            "required": list(ESTIMATION_FIELDS),
            "properties": {
                "instance_id": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                "project": text_property("project key"),
                "title": text_property("story title"),
                "description": text_property("user story with acceptance criteria"),
                "gold": {
                    "type": "integer",
                    "enum": list(FIBONACCI_POINTS),
                    "description": "story points",
                },
            },
        }
    return base | {
        "required": list(PAIR_FIELDS),
        "$defs": {
            "issue": {
                "type": "object",
                "additionalProperties": False,
                "required": list(PAIR_ISSUE_FIELDS),
                "properties": issue_props,
            }
        },
        "properties": {
            "instance_id": {"type": "string", "pattern": "^pair-[0-9a-f]{12}$"},
            "a": {"$ref": "#/$defs/issue"},
            "b": {"$ref": "#/$defs/issue"},
            "source_ids": {
                "type": "array",
                "items": {"type": "string", "pattern": ISSUE_KEY_PATTERN},
                "minItems": 2,
                "maxItems": 2,
                "description": "pm-triage instance ids of a and b",
            },
            "gold": {"enum": list(PAIR_LABELS), "description": "which issue to handle first"},
        },
    }


@dataclass
class SuiteBuild:
    id: str
    task: TaskKind
    labels: tuple[str, ...]
    description: str
    measures: str
    made: str
    limits: tuple[str, ...]
    items: list[dict[str, Any]]
    examples: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)


def jsonl_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    return "".join(dumps_line(row) + "\n" for row in rows).encode("utf-8")


def distribution(rows: Sequence[dict[str, Any]], order: Sequence[Any]) -> dict[str, int]:
    counts = Counter(str(r["gold"]) for r in rows)
    return {str(label): counts[str(label)] for label in order}


def datasheet(build: SuiteBuild, manifest: SuiteManifest) -> str:
    order = build.labels or tuple(str(p) for p in FIBONACCI_POINTS)
    items_dist = distribution(build.items, order)
    examples_dist = distribution(build.examples, order)
    table = ["| gold | items | share | examples |", "|---|---:|---:|---:|"]
    n = len(build.items)
    for label in order:
        share = 100 * items_dist[label] / n
        table.append(f"| {label} | {items_dist[label]} | {share:.1f}% | {examples_dist[label]} |")
    projects = Counter((r["project"] if "project" in r else r["a"]["project"]) for r in build.items)
    project_line = ", ".join(f"{p.key} ({p.name}, {projects[p.key]})" for p in PROJECTS)
    limits = "\n".join(f"- {limit}" for limit in build.limits)
    return f"""# {build.id} — datasheet

Version {VERSION} · task `{build.task.value}` · license {LICENSE}

## What it measures

{build.measures}

## Composition

{len(build.items)} test items in `items.jsonl` and {len(build.examples)} few-shot examples in
`examples.jsonl`. The two pools never share an instance id or a text. Items by project:
{project_line}.

{chr(10).join(table)}

The order of `items.jsonl` is a seeded shuffle whose first {DEMO_PREFIX} items cover every label,
so a run with `limit: {DEMO_PREFIX}` still sees all of them. `schema.json` is the JSON Schema of
one item.

## How it was made

{build.made}

The data is synthetic: `{GENERATOR}` fills hand-written templates from a seeded
`random.Random` ({SEED}) with the vocabulary of six invented products. No network, no
personal data, no random ids; running the script again gives the same bytes (a test checks the
committed files against a fresh generation).

## Content hash

`content_hash` in `suite.json` is the SHA-256 (lower-case hex) of the concatenation, for each file
in the order {", ".join(f"`{name}`" for name in HASHED_FILES)}, of: the file name in UTF-8, a line
feed, the file's length in bytes as decimal ASCII, a line feed, then the file's bytes. `files` in
`suite.json` holds each file's own SHA-256. PUMA refuses to load the suite when either differs
from the bytes on disk. This version's hash:

`{manifest.content_hash}`

## License

{LICENSE} (Creative Commons Attribution 4.0). The texts are generated, invented and free of
personal data; the reporter names are common given and family names chosen for variety.

## Known limits

{limits}
"""


def finish(build: SuiteBuild) -> SuiteManifest:
    build.files[ITEMS_NAME] = jsonl_bytes(build.items)
    build.files[EXAMPLES_NAME] = jsonl_bytes(build.examples)
    gold_order = build.labels or tuple(str(p) for p in FIBONACCI_POINTS)
    manifest = SuiteManifest(
        id=build.id,
        version=VERSION,
        task=build.task,
        labels=build.labels,
        description=build.description,
        license=LICENSE,
        content_hash=suite_content_hash(build.files),
        files={name: sha256_hex(build.files[name]) for name in HASHED_FILES},
        counts=SuiteCounts(
            items=len(build.items),
            examples=len(build.examples),
            gold=distribution(build.items, gold_order),
        ),
        generator=f"{GENERATOR} (seed {SEED})",
    )
    return manifest


def write_suite(build: SuiteBuild, out: Path) -> None:
    manifest = finish(build)
    folder = out / build.id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in build.files.items():
        tmp = folder / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(folder / name)
    write_json(folder / MANIFEST_NAME, manifest.model_dump(mode="json"))
    write_json(folder / SCHEMA_NAME, item_schema(build.id, build.task))
    write_text_atomic(folder / DATASHEET_NAME, datasheet(build, manifest))


COMMON_LIMITS = (
    "Synthetic text: realistic in shape, but invented. Scores on it say how well a model reads "
    "well-formed reports, not how it copes with the noise of a real tracker.",
    "English only.",
)


def build_suites() -> list[SuiteBuild]:
    rng = random.Random(SEED)
    triage_items, triage_examples = build_pools(
        ISSUE_TEMPLATES, TRIAGE_COUNTS, render_issue, TRIAGE_FIELDS, 1000, TRIAGE_LABELS, rng
    )
    estimation_items, estimation_examples = build_pools(
        STORIES, ESTIMATION_COUNTS, render_story, ESTIMATION_FIELDS, 5000, (), rng
    )
    pair_items = build_pairs(triage_items, PAIR_COUNTS[0], rng)
    pair_examples = build_pairs(triage_examples, PAIR_COUNTS[1], rng)
    return [
        SuiteBuild(
            id="pm-triage",
            task=TaskKind.TRIAGE,
            labels=TRIAGE_LABELS,
            description="Issue triage: an issue report in, a priority (Critical, Major, Minor, "
            "Trivial) out.",
            measures="Whether a model assigns the priority a careful triager would give a "
            "software issue report. Each item is an issue (project, component, title, "
            "description, reporter) whose priority follows from its impact: data loss, outage "
            "or a security hole is Critical; a broken feature with no workaround is Major; a "
            "problem with a workaround or a small functional effect is Minor; a cosmetic "
            "problem is Trivial. Scored with accuracy and macro-F1 (the classes are balanced "
            "enough for macro-F1 to mean something) and calibration where the runtime gives "
            "probabilities.",
            made="Each label has its own set of issue templates (about sixteen each: data loss, "
            "outages, tenant leaks, broken exports, stale counters, typos...). A template is "
            "filled with a project's components, entities, fields, pages, versions and, for "
            "several templates, a stack trace in the project's language. Wording, format "
            "(Markdown, plain, terse), steps to reproduce and closing remarks vary per item. "
            "The priority is carried by the described impact, not by a keyword: 'typo' appears "
            "in Critical and Minor issues too, and every label gets the same pool of neutral "
            "remarks. Instance ids are issue keys numbered after a shuffle, so they say nothing "
            "about the label.",
            limits=(
                *COMMON_LIMITS,
                "Gold labels are the template author's judgement of impact, not the priority a "
                "real team assigned; real trackers are noisier and more skewed to Major.",
                "Descriptions reuse template sentences, so a model that memorises the suite can "
                "score well; treat results as a comparison between models on the same suite.",
                "The reporter field is a plain name with no bearing on priority; the gender "
                "perturbations replace it to test that models ignore it.",
            ),
            items=triage_items,
            examples=triage_examples,
        ),
        SuiteBuild(
            id="pm-estimation",
            task=TaskKind.ESTIMATION,
            labels=(),
            description="Effort estimation: a user story with acceptance criteria in, story "
            "points (1, 2, 3, 5, 8, 13, 21) out.",
            measures="Whether a model sizes user stories the way a team using Fibonacci story "
            "points would. Each item is a story (project, title, description with acceptance "
            "criteria); the gold value follows from the scope: how many parts of the system it "
            "touches, whether it needs a migration, an integration or work on two platforms, and "
            "how many acceptance criteria it has. Scored with MAE, median absolute error, MdMRE "
            "and the share of estimates within one step of the gold value.",
            made="Each size has its own story templates (from a copy change at 1 point to a "
            "re-platforming at 21), filled with the vocabulary of the project. Zero to two "
            "optional criteria and a random note are added per item, so neighbouring sizes "
            "overlap in length and the size must be judged from the scope rather than counted.",
            limits=(
                *COMMON_LIMITS,
                "Story points are relative to a team; these golds encode one consistent, "
                "invented team's scale.",
                "The scale has no 0, 1/2, 40 or 100; local TAWOS data with such values is "
                "rejected rather than snapped.",
            ),
            items=estimation_items,
            examples=estimation_examples,
        ),
        SuiteBuild(
            id="pm-prioritization",
            task=TaskKind.PRIORITIZATION,
            labels=PAIR_LABELS,
            description="Prioritisation: two issues in, which one to handle first (A or B) out.",
            measures="Whether a model orders two issues the way their priorities do. Each item "
            "shows two pm-triage issues of different priority (without their labels or "
            "reporters); gold is the more urgent one. Scored with accuracy; a coin flip scores "
            "50%.",
            made=f"Derived from pm-triage by `{GENERATOR}`: candidate pairs of test items with "
            "different priorities are shuffled with the seed and taken in turn, each issue in "
            f"at most {PAIR_MAX_USES} pairs; exactly half the pairs put the more urgent issue "
            "first. The examples are built the same way from pm-triage's example pool only, so "
            "no test issue ever appears in a few-shot prompt. `source_ids` names the two "
            "pm-triage issues; the instance id is `pair-` and the first 12 hex digits of the "
            "SHA-256 of the two source ids joined by '|'.",
            limits=(
                *COMMON_LIMITS,
                "Pairs inherit pm-triage's labels; adjacent priorities (Major vs Minor) are "
                "harder and more debatable than distant ones.",
                "The same triage issue appears in up to three pairs, so items are not "
                "independent; bootstrap intervals are a little too narrow.",
            ),
            items=pair_items,
            examples=pair_examples,
        ),
    ]


def generate(out: Path) -> list[str]:
    builds = build_suites()
    for build in builds:
        write_suite(build, out)
    return [build.id for build in builds]


def compare_trees(fresh: Path, committed: Path) -> list[str]:
    problems = []
    for path in sorted(fresh.rglob("*")):
        if path.is_file():
            other = committed / path.relative_to(fresh)
            if not other.is_file():
                problems.append(f"missing: {other}")
            elif other.read_bytes() != path.read_bytes():
                problems.append(f"differs: {other}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="where to write <id>/ folders")
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh generation with --out; write nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            problems = compare_trees(Path(tmp), args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        print("up to date" if not problems else f"{len(problems)} file(s) out of date")
        return 1 if problems else 0
    ids = generate(args.out)
    print(f"wrote {', '.join(ids)} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
