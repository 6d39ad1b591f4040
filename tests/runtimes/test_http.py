"""The shared pieces of the remote runtimes: Retry-After, SSE and NDJSON reading, server error
messages, the context-edge warning and choice probabilities from top-k logprobs."""

from __future__ import annotations

import email.utils
import math
import time

import httpx
import pytest

from puma.errors import SpecError
from puma.runtimes.base import RuntimeCallError
from puma.runtimes.http import (
    error_message,
    iter_ndjson,
    iter_sse_data,
    normalise_base_url,
    retry_after_seconds,
)
from puma.runtimes.remote import TokenPosition, choice_logprobs, context_warning

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), (None, None), ("soon", None)],
)
def test_retry_after_in_seconds(header: str | None, seconds: float | None):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    when = email.utils.formatdate(time.time() + 60, usegmt=True)

    assert 55 <= (retry_after_seconds(when) or 0) <= 61


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": "model \'x\' not found, try pulling it first"}', "model 'x' not found"),
        ('{"error": {"message": "bad prompt", "type": "invalid_request_error"}}', "bad prompt"),
        ('{"detail": "Not Found"}', "Not Found"),
        ("<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
    ],
)
def test_error_message_is_the_servers_own_words(body: str, message: str):
    assert message in error_message(body)


async def test_sse_reader_joins_multiline_data_and_skips_comments_and_other_fields():
    body = (
        b": ping - 2024-01-01\r\n\r\n"
        b'event: message\nid: 1\ndata: {"a":\ndata: 1}\n\n'
        b"data:[DONE]\n\n"
    )
    response = httpx.Response(200, content=body)

    payloads = [data async for data in iter_sse_data(response)]

    assert payloads == ['{"a":\n1}', "[DONE]"]


async def test_ndjson_reader_rejects_a_malformed_line_as_retryable():
    response = httpx.Response(200, content=b'{"done": false}\n\n{"done": tr\n')
    seen = []

    with pytest.raises(RuntimeCallError) as caught:
        async for obj in iter_ndjson(response, what="ollama /api/generate"):
            seen.append(obj)

    assert seen == [{"done": False}]
    assert caught.value.retryable is True


def test_context_warning_only_near_the_edge():
    assert context_warning(100, 10, 4096) is None
    assert "near the context limit" in (context_warning(3700, 10, 4096) or "")
    assert "context full" in (context_warning(4000, 96, 4096) or "")
    assert context_warning(None, 10, 4096) is None


def test_choice_probabilities_sum_case_variants_and_skip_a_leading_space():
    positions = [
        TokenPosition(token=" ", top={" ": -0.5, "\n": -2.0}),
        TokenPosition(token="High", top={"High": -0.5, "high": -1.5, "Low": -1.0, "the": -6.0}),
    ]

    scores = choice_logprobs(positions, ("Low", "High", "Critical")) or {}

    high = math.log(math.exp(-0.5) + math.exp(-1.5))
    assert math.isclose(scores["High"] - scores["Low"], high + 1.0)
    assert math.isclose(scores["Critical"] - scores["Low"], -6.0 + 1.0)  # the top-k floor
    assert math.isclose(sum(math.exp(v) for v in scores.values()), 1.0)


def test_a_token_that_starts_two_choices_counts_for_neither():
    positions = [TokenPosition(token="1", top={"1": -0.1, "13": -2.0, "2": -3.0})]

    scores = choice_logprobs(positions, ("1", "13", "2")) or {}

    # "1" spells choice "1" exactly; it is not also counted as the start of "13".
    assert math.isclose(scores["1"] - scores["13"], 1.9)


def test_no_choice_probabilities_when_the_answer_starts_elsewhere():
    positions = [TokenPosition(token="The", top={"The": -0.1, "A": -2.0})]

    assert choice_logprobs(positions, ("Low", "High")) is None


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1:8000", "http://exa mple:80", "http://:80", "http://h:port"]
)
def test_a_url_that_is_not_http_is_a_spec_error_naming_runtime_url(url: str):
    with pytest.raises(SpecError) as caught:
        normalise_base_url(url)

    assert caught.value.where == "runtime.url"


def test_a_url_without_scheme_gets_http():
    assert normalise_base_url(" localhost:11434/ ") == "http://localhost:11434"
