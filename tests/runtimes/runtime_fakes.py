"""Servers for the runtime tests: a fake Ollama, a fault-injecting OpenAI-compatible server,
and a real `python -m llama_cpp.server` process with the embedded GGUF.

The fakes are real HTTP servers on loopback (http.server in a thread), so every byte goes
through httpx exactly as it would against the real thing. conftest.py wraps them in fixtures.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

LLAMA_MODEL_ALIAS = "gemma3-270m"
LLAMA_N_CTX = 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- fake HTTP servers


@dataclass
class Reply:
    """What a fake route answers.

    `chunks` makes a chunked streaming body; after them `then` says how the body ends:
    "end" (properly), "hang" (stop sending, keep the connection open), "close" (drop the
    connection mid-body). `status=None` with then="close" drops the connection before any reply.
    """

    status: int | None = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None
    chunk_delay_s: float = 0.0
    first_chunk_delay_s: float = 0.0
    then: str = "end"

    @classmethod
    def json(cls, obj: Any, status: int = 200, **kw: Any) -> Reply:
        return cls(status=status, body=json.dumps(obj).encode(), **kw)


@dataclass
class Received:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped connections are what some fault routes do on purpose


class FakeServer:
    """A loopback HTTP server whose answers come from `route(method, path, body) -> Reply`."""

    def __init__(self, route: Callable[[str, str, Any], Reply]):
        self.route = route
        self.requests: list[Received] = []
        self.release = threading.Event()  # ends the "hang" of stalled handlers at shutdown
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw
        self.requests.append(Received(method, handler.path, body, dict(handler.headers)))
        reply = self.route(method, handler.path, body)
        if reply.status is None:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.chunks is None:
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            return
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.flush()
        for i, chunk in enumerate(reply.chunks):
            time.sleep(reply.first_chunk_delay_s if i == 0 else reply.chunk_delay_s)
            handler.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            handler.wfile.flush()
        if reply.then == "hang":
            self.release.wait(30)
            handler.close_connection = True
        elif reply.then == "close":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        else:
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()


# ----------------------------------------------------------------------------- fake Ollama

# Payloads below are taken from Ollama's API documentation (github.com/ollama/ollama,
# docs/api.md: "List Local Models", "Show Model Information", "List Running Models",
# "Generate a completion", "Generate a chat completion"; docs.ollama.com "Get version"),
# and the logprobs shape from ollama-python's logprobs examples.
OLLAMA_TAGS = {
    "models": [
        {
            "name": "codellama:13b",
            "modified_at": "2023-11-04T14:56:49.277302595-07:00",
            "size": 7365960935,
            "digest": "9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
            "details": {
                "format": "gguf",
                "family": "llama",
                "families": None,
                "parameter_size": "13B",
                "quantization_level": "Q4_0",
            },
        },
        {
            "name": "llama3:latest",
            "modified_at": "2023-12-07T09:32:18.757212583-08:00",
            "size": 3825819519,
            "digest": "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
            "details": {
                "format": "gguf",
                "family": "llama",
                "families": None,
                "parameter_size": "7B",
                "quantization_level": "Q4_0",
            },
        },
    ]
}
OLLAMA_SHOW = {
    "modelfile": '# Modelfile generated by "ollama show"\nFROM /blobs/sha256:200765e1',
    "parameters": 'num_keep 24\nstop "<|eot_id|>"',
    "template": "{{ .Prompt }}",
    "details": {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "8.0B",
        "quantization_level": "Q4_0",
    },
    "model_info": {
        "general.architecture": "llama",
        "general.parameter_count": 8030261248,
        "llama.context_length": 8192,
        "llama.embedding_length": 4096,
    },
}
OLLAMA_PS = {
    "models": [
        {
            "name": "llama3:latest",
            "model": "llama3:latest",
            "size": 5137025024,
            "digest": "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
            "details": {"format": "gguf", "family": "llama", "parameter_size": "7.2B"},
            "expires_at": "2024-06-04T14:38:31.83753-07:00",
            "size_vram": 5137025024,
        }
    ]
}
OLLAMA_FINAL_METRICS = {
    "total_duration": 10706818083,
    "load_duration": 6338219291,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 130079000,
    "eval_count": 259,
    "eval_duration": 4232710000,
}


class FakeOllama(FakeServer):
    """Speaks Ollama's native API with the documented payloads; knobs set the answers."""

    def __init__(self) -> None:
        self.version = "0.13.0"  # recent enough for logprobs (0.12.11+)
        self.answer = ["The", " sky", " is", " blue"]
        self.metrics: dict[str, Any] = dict(OLLAMA_FINAL_METRICS)
        self.done_reason = "stop"
        self.logprobs: list[dict[str, Any]] | None = None  # sent on the first chunk if asked
        self.fault: Reply | None = None  # answers every generate/chat call when set
        self.first_chunk_delay_s = 0.0
        super().__init__(self._route)

    def _route(self, method: str, path: str, body: Any) -> Reply:
        if path == "/api/version":
            return Reply.json({"version": self.version})
        if path == "/api/tags":
            return Reply.json(OLLAMA_TAGS)
        if path == "/api/ps":
            return Reply.json(OLLAMA_PS)
        if path == "/v1/models":  # Ollama's OpenAI-compatible listing (docs/openai.md)
            return Reply.json(
                {
                    "object": "list",
                    "data": [
                        {"id": m["name"], "object": "model", "created": 1, "owned_by": "library"}
                        for m in OLLAMA_TAGS["models"]
                    ],
                }
            )
        if path == "/api/show":
            if not self._known(body["model"]):
                return Reply.json({"error": f"model '{body['model']}' not found"}, 404)
            return Reply.json(OLLAMA_SHOW)
        if path in ("/api/generate", "/api/chat"):
            if self.fault is not None:
                return self.fault
            model = body["model"]
            if not self._known(model):
                return Reply.json(
                    {"error": f"model '{model}' not found, try pulling it first"}, 404
                )
            return self._stream(path, body)
        return Reply(status=404, body=b"404 page not found", content_type="text/plain")

    def _known(self, model: str) -> bool:
        full = model if ":" in model else f"{model}:latest"
        return any(m["name"] == full for m in OLLAMA_TAGS["models"])

    def _stream(self, path: str, body: dict[str, Any]) -> Reply:
        chat = path == "/api/chat"
        stamp = "2023-08-04T08:52:19.385406455-07:00"
        lines = []
        answer = self.answer
        stops = [s for s in body.get("options", {}).get("stop") or [] if s]
        text = "".join(answer)
        found = [i for i in (text.find(s) for s in stops) if i >= 0]
        if found:  # Ollama applies a stop from the answer's first character
            answer = [text[: min(found)]] if min(found) else []
        for i, piece in enumerate(answer):
            chunk: dict[str, Any] = {"model": body["model"], "created_at": stamp, "done": False}
            if chat:
                chunk["message"] = {"role": "assistant", "content": piece, "images": None}
            else:
                chunk["response"] = piece
            if i == 0 and body.get("logprobs") and self.logprobs is not None:
                chunk["logprobs"] = self.logprobs
            lines.append(json.dumps(chunk).encode() + b"\n")
        final: dict[str, Any] = {
            "model": body["model"],
            "created_at": "2023-08-04T19:22:45.499127Z",
            "done": True,
            "done_reason": self.done_reason,
            **self.metrics,
        }
        if chat:
            final["message"] = {"role": "assistant", "content": ""}
        else:
            final["response"] = ""
            final["context"] = [1, 2, 3]
        lines.append(json.dumps(final).encode() + b"\n")
        return Reply(
            chunks=lines,
            content_type="application/x-ndjson",
            first_chunk_delay_s=self.first_chunk_delay_s,
        )


# ------------------------------------------------------------ fault-injecting OpenAI server


def sse(*events: Any) -> list[bytes]:
    """Server-sent events, one chunk each; a str is sent as is (e.g. "[DONE]")."""
    return [
        b"data: " + (e.encode() if isinstance(e, str) else json.dumps(e).encode()) + b"\n\n"
        for e in events
    ]


def completion_event(text: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
    }


def chat_event(content: str | None, finish_reason: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def usage_event(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FakeOpenAI(FakeServer):
    """An OpenAI-compatible server serving model 'm'; `reply` answers completion calls."""

    def __init__(self) -> None:
        self.models = ["m"]
        self.reply: Reply = Reply(
            chunks=sse(
                completion_event(" High"),
                completion_event("", "stop"),
                usage_event(12, 1),
                "[DONE]",
            ),
            content_type="text/event-stream",
        )
        super().__init__(self._route)

    def _route(self, method: str, path: str, body: Any) -> Reply:
        if path == "/v1/models":
            return Reply.json(
                {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]}
            )
        if path in ("/v1/completions", "/v1/chat/completions"):
            return self.reply
        return Reply.json({"detail": "Not Found"}, 404)


# ------------------------------------------------------------------ real llama.cpp server


class LlamaServer:
    """A real `python -m llama_cpp.server` process on a free loopback port."""

    def __init__(
        self,
        model_path: Path,
        *,
        port: int | None = None,
        log: Path | None = None,
        interrupt_requests: bool = False,
    ):
        self.model_path = model_path
        self.port = port or free_port()
        self.log = log
        # The server's own default is True: it cuts a streaming answer short whenever another
        # request arrives. Most tests want it off; the test of PUMA's adaptation wants it on.
        self.interrupt_requests = interrupt_requests
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> LlamaServer:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(self.model_path),
                "--model_alias", LLAMA_MODEL_ALIAS,
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--n_ctx", str(LLAMA_N_CTX),
                # One thread: llama.cpp threads spin while they wait, and on a busy 2-core
                # machine (tests run in parallel) two of them run several times slower.
                "--n_threads", "1",
                "--n_threads_batch", "1",
                "--interrupt_requests", str(self.interrupt_requests),
                "--verbose", "False",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/v1/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL: the server dies mid-answer, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
