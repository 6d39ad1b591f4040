"""What the runner records in `manifest.json` besides the spec: the time, the host, the tool.
The file's model is puma.runfolder.manifest.Manifest."""

from __future__ import annotations

import datetime as dt
import platform
import socket

from puma import __version__


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def short_hostname() -> str:
    return socket.gethostname().split(".")[0]


def tool_record() -> dict[str, str]:
    return {"name": "puma", "version": __version__}


def platform_record() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
