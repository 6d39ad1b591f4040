"""Where the model runs: in-process, local (with the serving process found) or remote."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from puma.speed.endpoint import classify_endpoint


def test_no_url_is_the_embedded_runtime_in_this_process() -> None:
    assert classify_endpoint(None).where == "in-process"


def test_a_loopback_server_is_local_and_its_listening_process_is_found() -> None:
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = classify_endpoint(f"http://localhost:{server.server_port}/v1")
    finally:
        server.shutdown()
        server.server_close()
    assert endpoint.where == "local" and endpoint.local_reason == "loopback"
    assert endpoint.port == server.server_port
    assert endpoint.process is not None and endpoint.process["pid"] == os.getpid()


def test_an_address_of_another_machine_is_remote() -> None:
    endpoint = classify_endpoint("http://192.0.2.10:8080")  # TEST-NET-1: never this machine
    assert endpoint.where == "remote" and endpoint.addresses == ["192.0.2.10"]
    assert "not this machine's" in endpoint.note


def test_a_host_that_does_not_resolve_is_remote_and_says_so() -> None:
    endpoint = classify_endpoint("http://no-such-host.invalid:11434")
    assert endpoint.where == "remote" and endpoint.note == "the host did not resolve"
