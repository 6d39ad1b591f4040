"""The device tag a probe suggests: `<chip-or-platform>-<key-spec>` (`ryzen-7950x-cpu`,
`rtx-4090-pc`, `mac-m1-8gb`), from chip names with the vendors' noise removed.

Pure functions over names and numbers, so the tag of a machine can be checked on a table of real
names; every result passes puma.submission.cells.check_device_tag.
"""

from __future__ import annotations

import re
from collections import Counter

from puma.runfolder.hardware import GIB, Gpu
from puma.submission.cells import NAME_MAX, check_device_tag

CHIP_SLUG_MAX = 40  # leaves room for a count prefix and the key spec within NAME_MAX

# Marketing words, trademarks and clock speeds that say nothing a buyer would use to name the
# chip. Order matters: the phrases go before the single words they contain.
_NOISE = [
    r"\((?:tm|r|c)\)",
    r"[®™©]",
    r"\bw/.*$",  # "AMD Ryzen 7 7840U w/ Radeon 780M Graphics"
    r"\bwith radeon.*$",
    r"@.*$",  # "CPU @ 3.00GHz"
    r"\b\d+(?:\.\d+)?\s*[gm]hz\b",
    r"\b\d+th gen\b",
    r"\b\d+(?:st|nd|rd)? gen(?:eration)?\b",
    r"\b(?:\w+-)?cores?\b(?= processor|$)",  # "16-Core Processor", "Eight-Core Processor"
    r"\b\d+-cores?\b",
    r"\bprocessor\b",
    r"\bcpu\b",
    r"\bgpu\b",
    r"\bgraphics\b",
    r"\bnvidia\b",
    r"\bgeforce\b",
    r"\bintel\b",
    r"\bcore\b(?=\s+i\d)",  # "Core i9-13900K" -> "i9-13900K"; "Core Ultra 7" keeps "Core"
    r"\bamd\b",
    r"\badvanced micro devices,? inc\.?",
    r"\bqualcomm\b",
    r"\bapple\b",
    r"\bsilicon\b",
    r"\bmodel [a-z]\b",  # "Raspberry Pi 4 Model B Rev 1.4": the board revision is noise
    r"\brev \d+(?:\.\d+)?\b",
]
_NOISE_RE = [re.compile(p, re.IGNORECASE) for p in _NOISE]
# "Ryzen 9 7950X": the tier digit repeats what the model number says.
_RYZEN_TIER = re.compile(r"\b(ryzen(?: ai)?(?: threadripper)?)\s+\d\b", re.IGNORECASE)


def clean_chip_name(name: str) -> str:
    """A chip's name as people say it: "Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz" -> "i9-13900K",
    "NVIDIA GeForce RTX 4090" -> "RTX 4090", "AMD Ryzen 9 7950X 16-Core Processor" -> "Ryzen
    7950X"."""
    text = name
    for pattern in _NOISE_RE:
        text = pattern.sub(" ", text)
    text = _RYZEN_TIER.sub(r"\1", text)
    return " ".join(text.replace("+", " ").split()).strip(" -,")


def slug(text: str, limit: int = CHIP_SLUG_MAX) -> str:
    """Lower-case letters, digits and single hyphens, cut at a word boundary within `limit`."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) <= limit:
        return words
    cut = words[:limit]
    return cut.rsplit("-", 1)[0] if "-" in cut else cut


def suggest_device_tag(
    cpu_model: str,
    gpus: list[Gpu],
    ram_bytes: int | None,
    *,
    system: str,
    power_source: str | None,
) -> str:
    """`<chip-or-platform>-<key-spec>`: a Mac by its chip and memory (`mac-m3-max-64gb`), a
    discrete GPU by its card and form (`rtx-4090-pc`, `2x-rtx-3090-pc`, `rtx-4070-laptop`), else
    the CPU (`ryzen-7950x-cpu`). A machine with a battery is a laptop."""
    discrete = [g for g in gpus if not g.integrated]
    apple = [g for g in gpus if g.vendor == "apple"]
    laptop = power_source is not None
    if apple and not discrete:
        chip = slug(clean_chip_name(apple[0].name)) or slug(clean_chip_name(cpu_model))
        memory = f"-{round(ram_bytes / GIB)}gb" if ram_bytes else ""
        tag = f"mac-{chip or 'apple'}{memory}"
    elif discrete:
        # The card with the most memory names the machine; identical cards are counted.
        best = max(discrete, key=lambda g: g.vram_bytes or 0)
        count = Counter(g.name for g in discrete)[best.name]
        chip = slug(clean_chip_name(best.name)) or "gpu"
        form = "mac" if system == "Darwin" else "laptop" if laptop else "pc"
        # "RTX 4090 Laptop GPU" already says its form.
        tag = chip if chip.endswith(("-laptop", f"-{form}")) else f"{chip}-{form}"
        if count > 1:
            tag = f"{count}x-{tag}"
    else:
        chip = slug(clean_chip_name(cpu_model)) or "unknown"
        tag = f"{chip}-mac" if system == "Darwin" else f"{chip}-cpu"
    tag = slug(tag, NAME_MAX)
    return check_device_tag(tag)
