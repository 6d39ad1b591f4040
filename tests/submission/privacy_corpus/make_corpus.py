"""Write the privacy scan's measurement corpus: run-folder-shaped files with planted private values.

    python tests/submission/privacy_corpus/make_corpus.py

Every value is fake: tokens are random strings in each service's published shape (seeded, so the
corpus is the same each time), addresses come from private and documentation ranges or are made
up, names and domains are invented. Each run-NN/ holds manifest.json, hardware.json, run.jsonl and
run.md shaped like tests/fixtures/demo-run, with clean look-alikes (versions, hashes, loopback,
example.com, generic names) beside the planted values, so the test measures precision too.
answer_key.json lists (file, line, kind) of every planted value. The machine identity the test
passes is IDENTITY below (the corpus plants its names as this machine's own).
"""

from __future__ import annotations

import copy
import json
import random
import string
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[1] / "fixtures" / "demo-run"
IDENTITY = {"hostnames": ["heron-ws"], "usernames": ["mkowalski"]}
N_FOLDERS = 10

rng = random.Random(20261129)


def rand(chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
UPPER32 = string.ascii_uppercase + "234567"


def pem(kind: str, lines: int = 4) -> list[str]:
    label = f"{kind} PRIVATE KEY" + (" BLOCK" if kind == "PGP" else "")
    label = label.replace("  ", " ").strip()
    body = [rand(B64, 64) for _ in range(lines)]
    return [f"-----BEGIN {label}-----", *body, f"-----END {label}-----"]


# kind -> the planted values (strings; a private key is its lines)
VALUES: dict[str, list[Any]] = {
    "ipv4": [
        "192.168.1.20",
        "10.0.3.17",
        "172.16.8.4",
        "203.0.113.77",
        "198.51.100.23",
        "81.2.69.142",
        "34.120.55.8",
        "100.64.12.9",
        "192.168.178.41",
        "52.14.201.3",
    ],
    "ipv6": [
        "2001:db8:85a3::8a2e:370:7334",
        "fe80::1ff:fe23:4567:890a%eth0",
        "fd12:3456:789a:1::1",
        "2a02:8108:4c40:2e00:d1f3:9a2b:44c1:7e01",
        "2600:1f18:24e6:b900::5",
        "fe80::a00:27ff:fe4e:66a1",
        "::ffff:192.0.2.128",
        "2001:db8:1f70::999:de8:7648:6e8",
        "2606:4700:4700::1111",
    ],
    "hostname": [
        "gpu01.lab.acme-research.net",
        "alice-mbp.local",
        "dgx-a100-07.cluster.uni-hamburg.de",
        "ip-10-0-3-17.ec2.internal",
        "build-box.corp",
        "nas.home.arpa",
        "ws-042.intranet",
        "heron-ws",
        "rig-3090",
        "ec2-203-0-113-25.compute-1.amazonaws.com",
    ],
    "username": [
        "mkowalski",
        "jdoe42",
        "priya.r",
        "tkaneko",
        "sven_b",
        "olu",
        "mkowalski",
        "hgarcia",
    ],
    "home-path": [
        "/home/alice",
        "/Users/bob.smith",
        "C:\\Users\\Chen",
        "C:/Users/fatima",
        "/home/dmitri",
        "/var/home/lena",
        "/mnt/c/Users/Kwame",
        "/home/ngozi",
        "/Users/JensH",
    ],
    "email": [
        "alice.novak@fastmail.fm",
        "j.doe+puma@gmail.com",
        "ops@acme-research.net",
        "12345678+devuser@users.noreply.github.com",
        "Priya.Raman@uni-hamburg.de",
        "kwame_a@outlook.com",
        "li.wei@tsinghua.edu.cn",
        "s.mueller@posteo.de",
        "m.rossi@libero.it",
    ],
    "mac-address": [
        "3c:22:fb:9a:41:0e",
        "00-1A-2B-3C-4D-5E",
        "a4:83:e7:12:bc:90",
        "b8:27:eb:45:67:89",
        "001a.2b3c.4d5e",
        "f01898a3c4d2",
        "52:54:00:12:34:56",
        "ac:de:48:00:11:22",
        "DC:A6:32:01:02:03",
    ],
    "serial-number": [
        "C02XK1ABJG5H",
        "1322017034851",
        "PM1LS0B9K6A012",
        "4c4c4544-0042-3510-8052-b4c04f4e3332",
        "8E3B1A52-6F2D-5C4B-9D11-2A7F0C6E4B19",
        "3f9c2a7b1e8d4c6f9a0b5e2d7c1f8a34",
        "CZC1234XYZ",
        "1650320012345",
        "SN-7781-AC44",
    ],
    "github-token": [
        *(f"gh{p}_{rand(ALNUM, 36)}" for p in "pousrppos"),
        f"github_pat_{rand(ALNUM, 22)}_{rand(ALNUM, 59)}",
    ],
    "openai-key": [
        *(f"sk-{rand(ALNUM, 48)}" for _ in range(4)),
        *(f"sk-proj-{rand(ALNUM + '_-', 100)}{rand(string.digits, 2)}" for _ in range(3)),
        f"sk-svcacct-{rand(ALNUM + '_-', 60)}7",
        f"sk-admin-{rand(ALNUM, 40)}9",
    ],
    "huggingface-token": [f"hf_{rand(string.ascii_letters, 34)}" for _ in range(9)],
    "aws-access-key": [f"{p}{rand(UPPER32, 16)}" for p in ("AKIA", "ASIA") * 4 + ("AKIA",)],
    "aws-secret-key": [rand(B64, 40) for _ in range(9)],
    "slack-token": [
        f"xox{p}-{rand(string.digits, 11)}-{rand(string.digits, 12)}-{rand(ALNUM, 24)}"
        for p in "bpabrsbpb"
    ],
    "webhook-url": [
        *(
            f"https://discord.com/api/webhooks/{rand(string.digits, 19)}/{rand(ALNUM + '_-', 68)}"
            for _ in range(4)
        ),
        *(
            f"https://hooks.slack.com/services/T{rand(UPPER32, 8)}/B{rand(UPPER32, 10)}/"
            f"{rand(ALNUM, 24)}"
            for _ in range(4)
        ),
    ],
    "generic-secret": [
        "Tr0ub4dor&3",
        "correct-horse-9-battery",
        rand(HEX, 32),
        rand(HEX, 32),
        rand(ALNUM, 40),
        "eyJhbGciOiJIUzI1NiJ9." + rand(ALNUM, 36) + "." + rand(ALNUM + "_-", 43),
        rand(ALNUM, 64),
        f"{rand(string.digits, 10)}:AA{rand(ALNUM + '_-', 33)}",
        rand(ALNUM, 28),
    ],
    "private-key": [
        pem("OPENSSH"),
        pem("RSA"),
        pem("PGP", 6),
        pem("EC", 3),
        pem("ENCRYPTED"),
        pem("OPENSSH", 5),
        pem("DSA", 3),
        pem("", 4),
    ],
}

# Where a value goes: (file, template). JSON files take "path.to.field=template" (the template
# is the field's value); run.jsonl takes "field=template" on a call line; run.md takes a line.
# {v} is the value; private keys in run.md take several lines, in JSON one escaped string.
PLACES: dict[str, list[tuple[str, str]]] = {
    "ipv4": [
        ("manifest.json", "runtime.url=http://{v}:11434"),
        ("run.jsonl", "error=httpx.ConnectError: [Errno 111] Connection refused ({v}:8000)"),
        ("run.md", "The model was served from {v} on the office LAN."),
        ("hardware.json", "network.address={v}"),
        ("run.md", "| server | {v} | ollama 0.5.7 |"),
        ("run.md", "    export OLLAMA_HOST={v}:11434"),
    ],
    "ipv6": [
        ("manifest.json", "runtime.url=http://[{v}]:8080/v1"),
        ("run.md", "Reached the box at {v} (link-local)."),
        ("hardware.json", "network.address6={v}"),
        ("run.jsonl", "error=ConnectTimeout: timed out connecting to {v} port 11434"),
    ],
    "hostname": [
        ("manifest.json", "runtime.url=http://{v}:11434"),
        ("run.md", "Ran overnight on {v} with the lid closed."),
        ("manifest.json", "hostname={v}"),
        ("run.jsonl", "error=ReadTimeout: {v}:8000 did not answer in 60 s"),
    ],
    "username": [
        ("run.md", "Launched by {v} from a tmux session."),
        ("manifest.json", "user={v}"),
        ("run.md", "    USER={v}"),
        ("run.md", "login: {v}"),
        ("hardware.json", "username={v}"),
        ("run.md", "    LOGNAME={v}"),
    ],
    "home-path": [
        ("manifest.json", "overrides.output={v}/runs/demo"),
        ("run.md", "Model file: `{v}/models/gemma-3-270m-q4_k_m.gguf`"),
        ("manifest.json", "spec.output={v}\\puma\\runs"),
        ("run.jsonl", "error=FileNotFoundError: [Errno 2] No such file: '{v}/.cache/puma/x.gguf'"),
        ("run.md", "cache under {v}/.cache/huggingface"),
    ],
    "email": [
        ("run.md", "Questions about this run: {v}"),
        ("manifest.json", "contact={v}"),
        ("run.md", "Reviewed-by: Someone <{v}>"),
        ("run.jsonl", "output_text= Please email {v} for access."),
    ],
    "mac-address": [
        ("hardware.json", "network.mac={v}"),
        ("run.md", "    link/ether {v} brd ff:ff:ff:ff:ff:ff"),
        ("run.md", "NIC {v} on the dock"),
    ],
    "serial-number": [
        ("hardware.json", "serial_number={v}"),
        ("run.md", "    Serial Number                   : {v}"),
        ("hardware.json", "board_serial={v}"),
        ("hardware.json", "product_uuid={v}"),
        ("run.md", "Hardware UUID: {v}"),
        ("run.md", "machine-id: {v}"),
        ("hardware.json", "chassis_serial={v}"),
        ("hardware.json", "gpu_serial={v}"),
        ("run.md", "Serial: {v}"),
    ],
    "github-token": [
        ("run.md", "    export GITHUB_TOKEN={v}"),
        ("manifest.json", "notes=pushed with {v} by mistake"),
        ("run.jsonl", "output_text= token {v}"),
    ],
    "openai-key": [
        ("run.md", "    OPENAI_API_KEY={v} puma run spec.yaml"),
        ("manifest.json", "runtime.api_key={v}"),
        ("run.jsonl", "error=AuthenticationError: Incorrect API key provided: {v}"),
    ],
    "huggingface-token": [
        ("run.md", "    huggingface-cli login --token {v}"),
        ("manifest.json", "notes=HF {v}"),
        ("run.jsonl", "output_text= use {v} to download"),
    ],
    "aws-access-key": [
        ("run.md", "    aws_access_key_id = {v}"),
        ("manifest.json", "notes=bucket creds {v}"),
        ("run.jsonl", "error=botocore InvalidAccessKeyId: {v}"),
    ],
    "aws-secret-key": [
        ("run.md", "    aws_secret_access_key = {v}"),
        ("manifest.json", "aws_secret_access_key={v}"),
        ("run.md", "    AWS_SECRET_ACCESS_KEY={v}"),
        ("hardware.json", "SecretAccessKey={v}"),
    ],
    "slack-token": [
        ("run.md", "    SLACK_BOT={v}"),
        ("manifest.json", "notes=notify via {v}"),
        ("run.jsonl", "output_text= slack {v}"),
    ],
    "webhook-url": [
        ("run.md", "Results posted to {v}"),
        ("manifest.json", "notes={v}"),
        ("run.jsonl", "error=HTTPStatusError: 429 for url {v}"),
    ],
    "generic-secret": [
        ("manifest.json", "password={v}"),
        ("run.md", "    DB_PASSWORD={v}"),
        ("hardware.json", "api_key={v}"),
        ("run.md", "    KAGGLE_KEY={v}"),
        ("manifest.json", "client_secret={v}"),
        (
            "run.md",
            "    curl -H 'Authorization: Bearer {v}' https://puma-registry.example/api/v1/submissions",
        ),
        ("run.md", "    ZENODO_TOKEN={v}"),
        ("run.md", "    TELEGRAM_BOT_TOKEN={v}"),
        ("run.jsonl", "output_text= secret: {v}"),
    ],
    "private-key": [
        ("run.md", "{v}"),
        ("manifest.json", "notes={v}"),
        ("run.md", "{v}"),
        ("run.jsonl", "output_text={v}"),
    ],
}

# Clean look-alikes, in every folder: none of these is a private value.
CLEAN_MD = [
    "# Run notes",
    "",
    "Runtime llama-cpp-python 0.3.36 on Python 3.11.7; CUDA 12.4.1, driver 550.54.15.",
    "Ollama listens on http://127.0.0.1:11434, http://localhost:11434 and [::1]:11434.",
    "See https://github.com/ggml-org/llama.cpp and https://huggingface.co/google/gemma-3-270m.",
    "Firmware version 1.2.3.4, BIOS v2.17.1.249; the spec hash is e44827bcf3a6b600de94125.",
    "Docs use user@example.com and /home/user/runs; a CI runner writes to /home/runner/work.",
    "In Python a[1::2] takes every other item; max_tokens: 16, api_key_env: OPENAI_API_KEY.",
    "Started 2026-11-29T12:37:02Z, finished 12:41:48; 15 calls, 27.771 tokens/s.",
    "Package com.halyard.app.trips and module puma.submission.privacy; file manifest.json.",
    "| metric | value |",
    "| accuracy | 0.467 [0.248, 0.699] |",
    "Netmask 255.255.255.0, bind 0.0.0.0, token count 532, password policy: see docs.",
]


def set_path(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        doc = doc.setdefault(key, {})
    doc[leaf] = value


def main() -> None:
    manifest0 = json.loads((DEMO / "manifest.json").read_text())
    hardware0 = json.loads((DEMO / "hardware.json").read_text())
    ledger0 = [json.loads(line) for line in (DEMO / "run.jsonl").read_text().splitlines()]
    folders: list[dict[str, Any]] = [
        {
            "manifest.json": copy.deepcopy(manifest0),
            "hardware.json": copy.deepcopy(hardware0),
            "run.jsonl": [copy.deepcopy(e) for e in ledger0[:4]],
            "run.md": list(CLEAN_MD),
            "planted": [],  # (file, needle or line number, kind)
            "fields": set(),
        }
        for _ in range(N_FOLDERS)
    ]
    slot = 0
    for kind, values in VALUES.items():
        places = PLACES[kind]
        for i, value in enumerate(values):
            file, template = places[i % len(places)]
            folder = folders[slot % N_FOLDERS]
            slot += 1
            if file.endswith(".json"):  # a JSON field holds one value: nest a repeat one level
                field, pattern = template.split("=", 1)
                depth = 0
                while (file, field) in folder["fields"]:
                    depth += 1
                    field = f"extra{depth}.{template.split('=', 1)[0]}"
                folder["fields"].add((file, field))
                template = f"{field}={pattern}"
            _plant(folder, file, template, value, kind)
    key: list[dict[str, Any]] = []
    for n, folder in enumerate(folders, start=1):
        out = HERE / f"run-{n:02d}"
        out.mkdir(exist_ok=True)
        texts = {
            "manifest.json": json.dumps(folder["manifest.json"], indent=2, sort_keys=True) + "\n",
            "hardware.json": json.dumps(folder["hardware.json"], indent=2, sort_keys=True) + "\n",
            "run.jsonl": "".join(
                json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n"
                for e in folder["run.jsonl"]
            ),
            "run.md": "\n".join(folder["run.md"]) + "\n",
        }
        for name, text in texts.items():
            (out / name).write_text(text, encoding="utf-8")
        for file, needle, kind in folder["planted"]:
            if isinstance(needle, int):
                line = needle
            else:
                lines = texts[file].splitlines()
                found = [i for i, text in enumerate(lines, start=1) if needle in text]
                assert len(found) == 1, (file, needle, found)
                line = found[0]
            key.append({"file": f"run-{n:02d}/{file}", "line": line, "kind": kind})
    key.sort(key=lambda k: (k["file"], k["line"], k["kind"]))
    (HERE / "answer_key.json").write_text(json.dumps(key, indent=1) + "\n", encoding="utf-8")
    print(f"{len(key)} planted values in {N_FOLDERS} folders")


def _plant(folder: dict[str, Any], file: str, template: str, value: Any, kind: str) -> None:
    lines = value if isinstance(value, list) else None
    needle = lines[1][:24] if lines else value
    if file == "run.md":
        md = folder["run.md"]
        if lines:  # a fenced block; the BEGIN line carries the finding
            md.extend(["", "```"])
            line_number = len(md) + 1
            md.extend([*lines, "```", ""])
        else:
            md.append(template.format(v=value))
            line_number = len(md)
        folder["planted"].append(("run.md", line_number, kind))
        return
    text_value = "\n".join(lines) if lines else value
    field, pattern = template.split("=", 1)
    filled = pattern.format(v=text_value)
    if file == "run.jsonl":
        event = copy.deepcopy(folder["run.jsonl"][1])
        event["seq"] = len(folder["run.jsonl"])
        event[field] = filled
        folder["run.jsonl"].append(event)
    else:
        set_path(folder[file], field, filled)
    folder["planted"].append((file, json.dumps(needle, ensure_ascii=False)[1:-1], kind))


if __name__ == "__main__":
    main()
