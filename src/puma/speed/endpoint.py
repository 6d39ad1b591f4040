"""Where the model runs: in this process, on this machine, or elsewhere.

A runtime URL whose host resolves to a loopback address or to an address of one of this
machine's interfaces (psutil.net_if_addrs) is local; the process listening on its port is looked
up among this machine's sockets (psutil.net_connections) and named when found. Anything else is
remote, so a remote GPU's speed is never credited to the hardware in hardware.json.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

Where = Literal["in-process", "local", "remote"]


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    where: Where
    host: str | None = None
    port: int | None = None
    addresses: list[str] = []  # what the host resolved to
    local_reason: str | None = None  # loopback, or the interface holding the address
    process: dict[str, Any] | None = None  # the listening process, when found locally
    note: str


def local_addresses() -> dict[str, str]:
    """Every address of this machine's interfaces -> the interface's name."""
    import psutil

    found = {}
    for name, entries in psutil.net_if_addrs().items():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found[entry.address.split("%")[0]] = name
    return found


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]).split("%")[0] for info in infos})


def _listener(port: int) -> dict[str, Any] | None:
    """The process listening on this TCP port here, when the OS lets us see it."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            record: dict[str, Any] = {"pid": conn.pid}
            if conn.pid is not None:
                with contextlib.suppress(psutil.Error, OSError):
                    record["name"] = psutil.Process(conn.pid).name()
            return record
    return None


def classify_endpoint(url: str | None) -> Endpoint:
    """In-process (no URL: the embedded runtime), local or remote."""
    if url is None:
        return Endpoint(where="in-process", note="the model runs inside the puma process")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    mine = local_addresses()
    reason = None
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.is_loopback:
            reason = "loopback"
            break
        if address in mine:
            reason = f"address of local interface {mine[address]}"
            break
    if reason is None:
        note = (
            "the host did not resolve"
            if not addresses
            else "no address of this machine: the model runs elsewhere, so its speed is not "
            "this machine's"
        )
        return Endpoint(where="remote", host=host, port=port, addresses=addresses, note=note)
    process = _listener(port)
    note = (
        f"served by {process.get('name', 'pid ' + str(process['pid']))} on this machine"
        if process
        else "a local address, but no listening process was found here (a container or a "
        "forwarded port?)"
    )
    return Endpoint(
        where="local",
        host=host,
        port=port,
        addresses=addresses,
        local_reason=reason,
        process=process,
        note=note,
    )
