"""Where results go: the five community channels and the registry, one declaration each.

A channel is configured when its environment variable is set; nothing here touches the network.
Each declaration names the function that sends to it (`module:function`), loaded only when a
publish goes there, so `puma community status` stays fast.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from puma.errors import InputFileError

if TYPE_CHECKING:
    from puma.community.publish import Prepared, PublishOutcome

ChannelKind = Literal["mirror", "notification", "registry"]
Sender = Callable[["Prepared", Mapping[str, str]], "PublishOutcome"]


@dataclass(frozen=True)
class Channel:
    slug: str  # what --channel takes
    name: str
    kind: ChannelKind
    env_var: str  # set: the channel is configured
    target: str  # where it publishes, for people
    sender: str  # "module:function"

    def configured(self, env: Mapping[str, str] | None = None) -> bool:
        return bool((os.environ if env is None else env).get(self.env_var))

    def send(self) -> Sender:
        module, function = self.sender.split(":")
        sender: Sender = getattr(importlib.import_module(module), function)
        return sender


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "huggingface",
        "Hugging Face Datasets",
        "mirror",
        "HF_TOKEN",
        "a dataset repository (PUMA_HF_DATASET, default pumacp/puma-community)",
        "puma.community.mirrors:upload_huggingface",
    ),
    Channel(
        "zenodo",
        "Zenodo",
        "mirror",
        "ZENODO_TOKEN",
        "a draft deposition on zenodo.org (published by a person)",
        "puma.community.mirrors:upload_zenodo",
    ),
    Channel(
        "kaggle",
        "Kaggle",
        "mirror",
        "KAGGLE_KEY",
        "a Kaggle dataset (PUMA_KAGGLE_DATASET, default <KAGGLE_USERNAME>/puma-community)",
        "puma.community.mirrors:upload_kaggle",
    ),
    Channel(
        "discord",
        "Discord",
        "notification",
        "DISCORD_WEBHOOK",
        "the channel of the webhook in DISCORD_WEBHOOK",
        "puma.community.notify:post_discord",
    ),
    Channel(
        "telegram",
        "Telegram",
        "notification",
        "TELEGRAM_BOT_TOKEN",
        "the chat TELEGRAM_CHAT_ID, as the bot",
        "puma.community.notify:post_telegram",
    ),
)
REGISTRY = Channel(
    "registry",
    "PUMA registry",
    "registry",
    "PUMA_REGISTRY_URL",
    "POST <PUMA_REGISTRY_URL>/api/v1/submissions (token PUMA_REGISTRY_TOKEN)",
    "puma.community.registry_upload:upload_to_registry",
)
DESTINATIONS: dict[str, Channel] = {c.slug: c for c in (*CHANNELS, REGISTRY)}


def channel_named(slug: str) -> Channel:
    try:
        return DESTINATIONS[slug.lower()]
    except KeyError:
        raise InputFileError(
            f"unknown channel {slug!r}",
            hint=f"choose one of: {', '.join(DESTINATIONS)} (`puma community channels`)",
        ) from None
