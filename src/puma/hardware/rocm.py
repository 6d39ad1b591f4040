"""AMD GPUs from `rocm-smi --showproductname --showmeminfo vram --showdriverversion --json`:
one object per card ("card0", ...) plus "system" with the driver version."""

from __future__ import annotations

import re
from typing import Any

from puma.hardware.commands import ProbeParseError, parse_json_object, read_tool
from puma.runfolder.hardware import Gpu, ProbeStatus

QUERY = ["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--showdriverversion", "--json"]
# rocm-smi's product keys have changed spelling across releases; the first present names the card.
_NAME_KEYS = ("market name", "card series", "card model", "card sku")


def _lower_keys(record: dict[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in record.items()}


def parse_rocm_smi(text: str) -> list[Gpu]:
    document = parse_json_object(text)
    system = _lower_keys(document.get("system") or {})
    driver = system.get("driver version")
    gpus = []
    for key in sorted(document, key=_card_number):
        if not key.lower().startswith("card") or not isinstance(document[key], dict):
            continue
        card = _lower_keys(document[key])
        name = next((str(card[k]).strip() for k in _NAME_KEYS if str(card.get(k, "")).strip()), "")
        # Older releases say "Navi 31 [Radeon RX 7900 XT/7900 XTX]": the brackets hold the name
        # people know (of the family: the board's exact model is not in the text).
        bracketed = re.search(r"\[(.+)\]", name)
        if bracketed:
            name = bracketed.group(1).split("/")[0].strip()
        vram = card.get("vram total memory (b)")
        gpus.append(
            Gpu(
                name=name or "AMD GPU",
                vendor="amd",
                vram_bytes=int(str(vram).strip()) if str(vram).strip().isdigit() else None,
                driver=str(driver) if driver else None,
                source="rocm-smi",
            )
        )
    if not gpus:
        raise ProbeParseError("no card entries")
    return gpus


def _card_number(key: str) -> tuple[int, str]:
    digits = "".join(c for c in key if c.isdigit())
    return (int(digits) if digits else 1 << 30, key)


def probe_rocm() -> tuple[list[Gpu], ProbeStatus]:
    return read_tool("rocm-smi", QUERY, parse_rocm_smi, [])
