"""Schemathesis (v4) generates requests from the registry's own OpenAPI spec, valid and not,
with a live API token: no request may make the server fail (no 5xx), on SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from registry.conftest import make_registry

EXAMPLES_PER_OPERATION = 60


@pytest.mark.slow
def test_no_generated_request_makes_the_registry_fail(database_url: str):
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (a dev dependency)")
    from hypothesis import HealthCheck, given, settings

    failures: list[str] = []
    calls = 0

    def fuzz(operation: Any, headers: dict[str, str]) -> None:
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}")

        call()

    for registry in make_registry(database_url, uploads_per_minute=1e6, upload_burst=10**6):
        schema = schemathesis.openapi.from_asgi("/openapi.json", registry.client.app)
        headers = {"Authorization": f"Bearer {registry.uploader}"}
        for result in schema.get_all_operations():
            fuzz(result.ok(), headers)
    print(f"\nschemathesis: {calls} generated requests, {len(failures)} server errors")
    assert calls > 100 and failures == [], failures[:5]
