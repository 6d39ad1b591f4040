"""The community side: the channels results go out on, the local history of what was sent, the
status panel, and publishing a validated, privacy-scanned folder to a channel or the registry.

Public: `CHANNELS`, `collect_status`, `publish`, `record_submission`, `last_submission`.
"""

from __future__ import annotations

from puma.community.channels import CHANNELS, Channel, channel_named
from puma.community.history import HistoryEntry, last_submission, record_submission
from puma.community.publish import PublishOutcome, publish
from puma.community.status import CommunityStatus, collect_status

__all__ = [
    "CHANNELS",
    "Channel",
    "CommunityStatus",
    "HistoryEntry",
    "PublishOutcome",
    "channel_named",
    "collect_status",
    "last_submission",
    "publish",
    "record_submission",
]
