"""What the privacy scan looks for: one declaration per kind of private value, in a registry.

Each detector finds the spans of one kind in one line of text. Specific kinds are declared
before generic ones; where two spans overlap, the longer wins, and on a tie the earlier
declaration (so a GitHub token next to a `token:` label is a github-token, not a generic secret).
Precision rules (version fields, loopback addresses, generic machine names, public service
domains) are documented in docs/commands/privacy.md.
"""

from __future__ import annotations

import getpass
import ipaddress
import math
import platform
import re
import socket
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# A name thousands of machines share identifies no one: the default user of a cloud image,
# a CI runner, a container, the name this very VM has. Flagging them would refuse clean runs.
GENERIC_NAMES = frozenset(
    {
        "",
        "admin",
        "administrator",
        "anonymous",
        "builder",
        "codespace",
        "container",
        "debian",
        "default",
        "docker",
        "ec2-user",
        "example",
        "guest",
        "host",
        "hostname",
        "jovyan",
        "localhost",
        "localhost.localdomain",
        "me",
        "name",
        "nobody",
        "pi",
        "raspberrypi",
        "root",
        "runner",
        "sandbox",
        "server",
        "shared",
        "ubuntu",
        "user",
        "username",
        "vagrant",
        "vm",
        "you",
        "your-name",
        "yourname",
    }
)

# `hostname: str` in code a model wrote is a type, not a name.
_TYPE_NAMES = frozenset({"str", "string", "int", "bool", "any", "text", "optional", "none"})
# Placeholders a writer puts where a value would go: never a value.
_NOT_A_VALUE = re.compile(
    r"(?i)^(?:null|none|nil|true|false|n/?a|unknown|not[ _-]?(?:specified|available|set)|"
    r"to be filled by o\.?e\.?m\.?|default string|system serial number|0+|x+|\*+|changeme-?\w*|"
    r"redacted|<[^>]*>|\$\{?\w+\}?|%\w+%|\{\{.*\}\}|your[_-].*|example.*|placeholder)$"
)
PLACEHOLDER = re.compile(r"<redacted:[a-z0-9-]+:\d+>")

Span = tuple[int, int]


@dataclass(frozen=True)
class Identity:
    """This machine's own names, flagged wherever they appear: its host names and its user's
    login. Tests pass a fixed identity so their figures do not depend on the machine."""

    hostnames: tuple[str, ...] = ()
    usernames: tuple[str, ...] = ()

    @classmethod
    def of_this_machine(cls) -> Identity:
        names = {socket.gethostname(), platform.node()}
        hosts = {n for name in names for n in (name, name.split(".")[0]) if n}
        try:
            users = {getpass.getuser()}
        except (KeyError, OSError):  # no login name (a container with an unnamed uid)
            users = set()
        return cls(tuple(sorted(hosts)), tuple(sorted(users)))

    def specific(self) -> Identity:
        """Only the names that identify: not generic, and long enough to be told from words."""

        def keep(name: str) -> bool:
            return len(name) >= 3 and name.lower() not in GENERIC_NAMES

        return Identity(
            tuple(n for n in self.hostnames if keep(n)),
            tuple(n for n in self.usernames if keep(n)),
        )


@dataclass(frozen=True)
class Detector:
    kind: str
    description: str
    find: Callable[[str, Identity], Iterator[Span]]
    # Lower-case substrings one of which every match contains: a line without any is skipped
    # before a regular expression runs (a ledger line is ~1 KB; a run has thousands).
    needles: tuple[str, ...] = field(default=())


DETECTORS: list[Detector] = []


def detector(
    kind: str, description: str, needles: tuple[str, ...] = ()
) -> Callable[[Callable[[str, Identity], Iterator[Span]]], None]:
    def register(find: Callable[[str, Identity], Iterator[Span]]) -> None:
        DETECTORS.append(Detector(kind, description, find, needles))

    return register


def _pattern_finder(
    pattern: re.Pattern[str], group: str | int = 0
) -> Callable[[str], Iterator[Span]]:
    def find(line: str) -> Iterator[Span]:
        for m in pattern.finditer(line):
            yield m.span(group)

    return find


def _labelled(label: str, value: str) -> re.Pattern[str]:
    """`label: value`, `"label": "value"`, `label=value`, `| label | value |`: the value group."""
    return re.compile(
        rf"(?<![A-Za-z0-9])(?:{label})[\"']?[ \t]*[:=|][ \t]*[\"']?(?P<value>{value})"
    )


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


# --- keys and tokens: fixed prefixes, so declared first -----------------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[^\"']*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[^\"'\r\n]*)"
)
PRIVATE_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


@detector(
    "private-key",
    "SSH, TLS and PGP private key blocks (-----BEGIN ... PRIVATE KEY-----)",
    ("private key",),
)
def _private_key(line: str, identity: Identity) -> Iterator[Span]:
    for m in _PRIVATE_KEY.finditer(line):
        yield m.span()


def _token(kind: str, description: str, regex: str, needles: tuple[str, ...]) -> None:
    pattern = re.compile(rf"(?<![A-Za-z0-9_-]){regex}(?![A-Za-z0-9_-])")
    find = _pattern_finder(pattern)
    detector(kind, description, needles)(lambda line, identity: find(line))


_token(
    "github-token",
    "GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ and fine-grained github_pat_",
    r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,255})",
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
)
_token(
    "openai-key",
    "OpenAI (and look-alike) API keys: sk-, sk-proj-, sk-svcacct-, sk-admin-",
    r"sk-(?:proj-|svcacct-|admin-|ant-[a-z0-9]+-)?(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}",
    ("sk-",),
)
_token(
    "huggingface-token",
    "Hugging Face tokens: hf_, api_org_",
    r"(?:hf|api_org)_[A-Za-z0-9]{30,}",
    ("hf_", "api_org_"),
)
_token(
    "aws-access-key",
    "AWS access key ids: AKIA, ASIA, ABIA, ACCA + 16",
    r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}",
    ("akia", "asia", "abia", "acca"),
)
_token(
    "slack-token",
    "Slack tokens: xoxa-, xoxb-, xoxp-, xoxr-, xoxs-",
    r"xox[abprs]-[A-Za-z0-9-]{10,}",
    ("xox",),
)

_WEBHOOK = re.compile(
    r"https://(?:hooks\.slack\.com/services/[A-Za-z0-9/_-]+|"
    r"(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]+|"
    r"api\.telegram\.org/bot\d+:[A-Za-z0-9_-]+)"
)
_webhook = _pattern_finder(_WEBHOOK)
detector(
    "webhook-url",
    "Slack and Discord webhook URLs, Telegram bot URLs (they post as you)",
    ("hooks.slack.com", "discord", "api.telegram.org"),
)(lambda line, identity: _webhook(line))

_AWS_SECRET = _labelled(
    r"(?i:aws_?secret_?access_?key|secret_?access_?key|aws_?secret(?:_?key)?)",
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
)
_aws_secret = _pattern_finder(_AWS_SECRET, "value")
detector("aws-secret-key", "AWS secret access keys (40 characters after their label)", ("secret",))(
    lambda line, identity: _aws_secret(line)
)

_PASSWORD = _labelled(r"(?i:password|passwd|passphrase|pwd)", r"[^\s\"'<>,;|]{6,}")
# No word boundary before these labels: KAGGLE_KEY, authtoken and client_secret all end in one.
_SECRET_LABEL = re.compile(
    r"(?i:secret|token|key|credentials?|auth)[\"']?[ \t]*[:=|][ \t]*[\"']?"
    r"(?P<value>[A-Za-z0-9+/=_.~-]{16,})"
)
_SECRET_SEPARATOR = re.compile(r"(?:secret|token|key|credentials?|auth)[\"']?[ \t]*[:=|]")
_BEARER = re.compile(r"(?i:bearer|token)\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)")
_TELEGRAM = re.compile(r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")  # OPENAI_API_KEY: the name of a secret, not one


def _looks_random(value: str) -> bool:
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and entropy(value) >= 3.3 and not _ENV_NAME.match(value)


@detector(
    "generic-secret",
    "high-entropy values after key/secret/token/password labels, bearer tokens, any password",
    ("pass", "pwd", "key", "secret", "token", "credential", "auth", "bearer", ":aa"),
)
def _generic_secret(line: str, identity: Identity) -> Iterator[Span]:
    lower = line.lower()
    if "pass" in lower or "pwd" in lower:
        for m in _PASSWORD.finditer(line):
            value = m.group("value")
            if not _NOT_A_VALUE.match(value) and not PLACEHOLDER.fullmatch(value):
                yield m.span("value")
    if ":aa" in lower:
        for m in _TELEGRAM.finditer(line):
            yield m.span()
    # A label needs a separator after it: "token", "token:" but not "max_tokens": 16.
    labelled = _SECRET_SEPARATOR.search(lower)
    bearer = "bearer" in lower or "token " in lower
    for pattern, wanted in ((_SECRET_LABEL, labelled), (_BEARER, bearer)):
        if not wanted:
            continue
        for m in pattern.finditer(line):
            if _looks_random(m.group("value")):
                yield m.span("value")


# --- network addresses -------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Boundaries are checked in Python, where "1.2.3.4." (a full stop) and "1.2.3.4.5" differ.
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# A dotted quad in a version field is a version: "driver": "535.104.05.01", version 1.2.3.4.
_VERSION_BEFORE = re.compile(
    r"(?i)(?:(?:version|ver|release|build|driver|firmware|bios|cuda|rocm|kernel|python|"
    r"llama_cpp_python|vbios)[\w-]*[\"']?\s*[:=]\s*[\"']?(?:[\w-]+[ /])?|\bv(?:ersion)?\.?\s?)$"
)


def _ipv4_spans(line: str) -> Iterator[Span]:
    for m in _IPV4.finditer(line):
        start, end = m.span()
        before, after = line[max(0, start - 2) : start], line[end : end + 2]
        if before[-1:] in _DIGITS_DOT or (before[:1].isdigit() and before[-1:] == "-"):
            continue  # part of a longer number: 5.1.2.3.4, 2024-10.0.0.1
        if after[:1] in _DIGITS_DOT_WORD and not (after[:1] == "." and not after[1:2].isdigit()):
            continue  # goes on: 1.2.3.4.5, 1.2.3.45x, 1.2.3.4-rc1 (a full stop may end it)
        yield start, end


_DIGITS_DOT = frozenset("0123456789.")
_DIGITS_DOT_WORD = frozenset("0123456789.-_" + string.ascii_letters)


@detector(
    "ipv4",
    "IPv4 addresses, private and public (not loopback, not 0.0.0.0, not versions)",
    (".",),
)
def _ipv4(line: str, identity: Identity) -> Iterator[Span]:
    for start, end in _ipv4_spans(line):
        text = line[start:end]
        address = ipaddress.IPv4Address(text)
        if address.is_loopback or address.is_unspecified or text.startswith("255."):
            continue
        if _VERSION_BEFORE.search(line[max(0, start - 80) : start]):
            continue
        yield start, end


_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[A-Za-z0-9.]+)?(?![0-9A-Za-z:])"
)


@detector("ipv6", "IPv6 addresses, full and compressed (not ::1, not ::)", (":",))
def _ipv6(line: str, identity: Identity) -> Iterator[Span]:
    for m in _IPV6.finditer(line):
        text = m.group()
        try:
            address = ipaddress.IPv6Address(text.split("%")[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        groups = [g for g in text.split("%")[0].split(":") if g]
        # Python's a[1::2] is a valid address; real ones have three groups or a long one.
        if len(groups) < 3 and not any(len(g) >= 3 for g in groups):
            continue
        yield m.span()


# Boundaries are checked in Python.
_MAC = re.compile(
    r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
)
_HEX = frozenset(string.hexdigits)
_MAC_LABELLED = re.compile(
    r"(?<![A-Za-z0-9])(?i:mac(?:[_ -]?address)?|hwaddr|link/ether|permaddr|ether|nic)[\"']?"
    r"[ \t]*[:=|]?[ \t]*[\"']?(?P<value>[0-9A-Fa-f]{12})(?![0-9A-Za-z])"
)


@detector("mac-address", "MAC addresses (aa:bb:cc:dd:ee:ff, aa-bb-..., aabb.ccdd.eeff, labelled)")
def _mac(line: str, identity: Identity) -> Iterator[Span]:
    for m in _MAC.finditer(line):
        start, end = m.span()
        text = m.group()
        edge = ":-" if m.group(1) else "."
        if (start and (line[start - 1] in _HEX or line[start - 1] in edge)) or (
            end < len(line) and (line[end] in _HEX or line[end] in edge)
        ):
            continue
        digits = re.sub(r"[^0-9A-Fa-f]", "", text).lower()
        if not m.group(1) and digits.isdigit():
            continue  # 1234.5678.9012 is a number, not Cisco's aabb.ccdd.eeff
        if digits not in ("000000000000", "ffffffffffff"):
            yield start, end
    lower = line.lower()
    if any(label in lower for label in ("mac", "ether", "hwaddr", "nic")):
        for m in _MAC_LABELLED.finditer(line):
            yield m.span("value")


_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
# RFC 2606/6761 names are for documentation: nobody's address.
_DOCUMENTATION_DOMAIN = re.compile(
    r"(?i)(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid)$"
)


@detector("email", "e-mail addresses (not git@ remotes, not RFC 2606 example domains)", ("@",))
def _email(line: str, identity: Identity) -> Iterator[Span]:
    for m in _EMAIL.finditer(line):
        local, domain = m.group().rsplit("@", 1)
        if local == "git" or _DOCUMENTATION_DOMAIN.search(domain):
            continue
        yield m.span()


_HOME = re.compile(
    r"(?:/home/|/Users/|(?<![A-Za-z])[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/))"
    r"(?P<name>[A-Za-z0-9._-]+)"
)


@detector(
    "home-path", "home folders naming a user: /home/x, /Users/x, C:\\Users\\x", ("/home/", "users")
)
def _home(line: str, identity: Identity) -> Iterator[Span]:
    for m in _HOME.finditer(line):
        if m.group("name").lower() not in GENERIC_NAMES:
            yield m.span()


_USER_LABELLED = re.compile(
    r"(?<![A-Za-z0-9])(?:user|username|user_name|login|logname|USER|USERNAME|LOGNAME)[\"']?"
    r"[ \t]*[:=][ \t]*[\"']?(?P<value>[A-Za-z][A-Za-z0-9._-]{1,31})(?=[\"']?[ \t]*(?:[,;}|]|$))"
)


@detector("username", "this machine's user name anywhere; user names in user/login fields")
def _username(line: str, identity: Identity) -> Iterator[Span]:
    for name in identity.usernames:
        if name in line:
            for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line):
                yield m.span()
    lower = line.lower()
    if "user" not in lower and "log" not in lower:
        return
    for m in _USER_LABELLED.finditer(line):
        if m.group("value").lower() not in GENERIC_NAMES | _TYPE_NAMES:
            yield m.span("value")


# Curated: top-level domains that are not also file extensions (md, py, sh, rs, pl, so, zip) or
# words a dotted identifier ends in (id, in, is, it, to, do, no, me, at, as).
_PUBLIC_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "io",
        "ai",
        "co",
        "dev",
        "cloud",
        "tech",
        "info",
        "biz",
        "xyz",
        "online",
        "site",
        "uk",
        "de",
        "fr",
        "nl",
        "ch",
        "se",
        "fi",
        "dk",
        "es",
        "pt",
        "cz",
        "be",
        "jp",
        "cn",
        "kr",
        "tw",
        "hk",
        "sg",
        "au",
        "nz",
        "ca",
        "us",
        "eu",
        "ru",
        "br",
        "ar",
        "mx",
        "za",
        "ie",
        "il",
        "gr",
        "hu",
        "ro",
        "bg",
        "ua",
        "tr",
        "lt",
        "lv",
        "ee",
        "sk",
        "si",
        "hr",
        "lu",
        "nu",
    ]
)
_INTERNAL_TLDS = frozenset(
    ["local", "lan", "internal", "intranet", "corp", "home", "localdomain", "private"]
)
# Public services everyone names in docs and configs; a host under them is no one's machine,
# unless one of its labels spells an address (ec2-203-0-113-25.compute-1.amazonaws.com).
_PUBLIC_DOMAINS = (
    "github.com",
    "githubusercontent.com",
    "github.io",
    "huggingface.co",
    "hf.co",
    "openai.com",
    "anthropic.com",
    "python.org",
    "pypi.org",
    "readthedocs.io",
    "zenodo.org",
    "kaggle.com",
    "discord.com",
    "telegram.org",
    "slack.com",
    "google.com",
    "googleapis.com",
    "amazonaws.com",
    "microsoft.com",
    "nvidia.com",
    "ollama.com",
    "json-schema.org",
    "schema.org",
    "w3.org",
)
# Dotted words, linear to find; the rules (labels, top-level domain, boundaries) are in Python.
# The look-behind makes a dotless word fail at once instead of at each of its letters.
_DOTTED = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)+")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# A bare name in a URL is a host: http://gpu-box:11434/.
_URL_HOST = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?P<host>[A-Za-z][A-Za-z0-9-]{0,62})(?=[:/?#]|$|[\s\"'])"
)
_ADDRESS_LABEL = re.compile(r"(?:^|[.-])\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(?:[.-]|$)")
_HOST_LABELLED = _labelled(
    r"(?i:hostname|host_name|nodename|node_name|fqdn|computer_?name|machine_?name)",
    r"(?=[0-9.-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9.-]{0,252}(?![A-Za-z0-9._(-])",
)


def _is_public_service(host: str) -> bool:
    host = host.lower()
    if _ADDRESS_LABEL.search(host):
        return False
    return any(host == d or host.endswith("." + d) for d in _PUBLIC_DOMAINS)


@detector(
    "hostname",
    "host names: FQDNs (3+ labels, or any .local/.lan/.internal name), hostname fields, "
    "this machine's own name",
)
def _hostname(line: str, identity: Identity) -> Iterator[Span]:
    for m in _DOTTED.finditer(line):
        host = m.group()
        tld = host[host.rfind(".") + 1 :].lower()
        internal = tld in _INTERNAL_TLDS or (tld == "arpa" and host.lower().endswith(".home.arpa"))
        if not internal and (tld not in _PUBLIC_TLDS or host.count(".") < 2):
            continue  # first, as it rules out the numbers and file names that fill a ledger
        start, end = m.span()
        if start and line[start - 1] in "@_":  # an e-mail's domain; a_b.c identifiers
            continue
        if end < len(line) and (line[end] in "_(" or line[end : end + 2] == ".."):
            continue  # an identifier, a call: Path.home(), not a host
        if line[max(0, start - 7) : start].endswith(("from ", "import ")):
            continue  # a module: from puma.suites.local import ...
        labels = host.split(".")
        if not tld.isalpha() or not all(_LABEL.match(label) for label in labels):
            continue
        if _is_public_service(host):
            continue
        yield start, end
    for m in _URL_HOST.finditer(line) if "://" in line else ():
        if len(m.group("host")) >= 3 and m.group("host").lower() not in GENERIC_NAMES:
            yield m.span("host")
    for m in _HOST_LABELLED.finditer(line):
        value = m.group("value")
        if (
            value.lower() in GENERIC_NAMES
            or value.lower() in _TYPE_NAMES
            or _IPV4.fullmatch(value)
            or PLACEHOLDER.fullmatch(value)
        ):
            continue
        yield m.span("value")
    lower = line.lower()
    for name in identity.hostnames:
        if name.lower() not in lower:
            continue
        for m in re.finditer(rf"(?i)(?<![\w-]){re.escape(name)}(?![\w-])", line):
            yield m.span()


_SERIAL = _labelled(
    r"(?i:serial(?:[_ -]?(?:number|no|num|nr))?|serialnumber|s/n|sn|"
    r"(?:hardware|product|system|platform|board|machine)[_ -]?(?:uuid|id)|machine-id|"
    r"(?:provisioning[_ -])?udid|imei|asset[_ -]?tag)",
    r"[A-Za-z0-9][A-Za-z0-9-]{4,63}(?![A-Za-z0-9-])",
)


@detector(
    "serial-number",
    "hardware serial numbers, UUIDs and machine ids in labelled fields",
    (
        "serial",
        "s/n",
        "sn",
        "uuid",
        "udid",
        "machine",
        "imei",
        "asset",
        "hardware",
        "product",
        "system",
        "platform",
        "board",
    ),
)
def _serial(line: str, identity: Identity) -> Iterator[Span]:
    for m in _SERIAL.finditer(line):
        value = m.group("value")
        if re.search(r"[0-9]", value) and not _NOT_A_VALUE.match(value):
            yield m.span("value")


KINDS: tuple[str, ...] = tuple(d.kind for d in DETECTORS)
UNSCANNED = "unscanned-file"  # a file the scan could not read as text or Parquet


def line_hits(line: str, identity: Identity) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every private value in `line`, non-overlapping, left to right.
    Placeholders left by a redaction are blanked first, so a redacted file scans clean."""
    blanked = (
        PLACEHOLDER.sub(lambda m: " " * len(m.group()), line) if "<redacted:" in line else line
    )
    lower = blanked.lower()
    candidates: list[tuple[int, int, int, str]] = []  # (-length, priority, start, kind)
    for priority, det in enumerate(DETECTORS):
        if det.needles and not any(n in lower for n in det.needles):
            continue
        for start, end in det.find(blanked, identity):
            if end > start:
                candidates.append((start - end, priority, start, det.kind))
    chosen: list[tuple[int, int, str]] = []
    for negative_length, _, start, kind in sorted(candidates):
        end = start - negative_length
        if all(end <= s or start >= e for s, e, _ in chosen):
            chosen.append((start, end, kind))
    return sorted(chosen)
