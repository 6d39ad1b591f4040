"""Notification channels: a short message about an accepted submission.

Discord: POST the webhook URL with `{"content": TEXT}` (Discord's "Execute Webhook"; answers
204, or 200 with `?wait=true`). Telegram: POST `<api>/bot<TOKEN>/sendMessage` with
`{"chat_id": ..., "text": ...}` (Bot API; answers `{"ok": true, "result": {...}}`).
PUMA_TELEGRAM_API overrides `https://api.telegram.org` (tests, a local Bot API server).
"""

from __future__ import annotations

from collections.abc import Mapping

from puma.community.http import expect_success, request
from puma.community.publish import Prepared, PublishOutcome
from puma.errors import InputFileError, RemoteUnavailable

TELEGRAM_API = "https://api.telegram.org"
DISCORD_LIMIT = 2000  # characters of `content`
TELEGRAM_LIMIT = 4096


def message(prepared: Prepared) -> str:
    what = "run" if prepared.kind == "contributor-folder" else "submission"
    return f"New PUMA {what} accepted: {prepared.summary} ({prepared.identifier})"


def post_discord(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    text = message(prepared)[:DISCORD_LIMIT]
    response = request("POST", env["DISCORD_WEBHOOK"], service="Discord", json={"content": text})
    expect_success(response, "Discord")
    return PublishOutcome("discord", prepared.identifier, "Discord webhook", {"content": text})


def post_telegram(prepared: Prepared, env: Mapping[str, str]) -> PublishOutcome:
    chat = env.get("TELEGRAM_CHAT_ID")
    if not chat:
        raise InputFileError(
            "Telegram needs the chat to post in: TELEGRAM_CHAT_ID is not set",
            hint="set TELEGRAM_CHAT_ID to the chat's id or @channelusername",
        )
    text = message(prepared)[:TELEGRAM_LIMIT]
    base = env.get("PUMA_TELEGRAM_API", TELEGRAM_API).rstrip("/")
    url = f"{base}/bot{env['TELEGRAM_BOT_TOKEN']}/sendMessage"
    body = expect_success(
        request("POST", url, service="Telegram", json={"chat_id": chat, "text": text}),
        "Telegram",
    )
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise RemoteUnavailable('Telegram did not confirm the message (no "ok": true)')
    result = body.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    return PublishOutcome(
        "telegram", prepared.identifier, f"Telegram chat {chat}", {"message_id": message_id}
    )
