"""Names of the files a phone downloads (DOMAIN §1.9): trust lists and its config.

Neutral ground: the extractors name the objects they parse and the correlator joins
transfers to phones by the same rules.
"""

from __future__ import annotations

import re

# MAC is upper-case hex in every observed trace; accept both cases
_MAC = r"([0-9A-Fa-f]{12})"
RE_TRUST = re.compile(r"^(?:ext_)?(CTL|ITL)(?:SEP" + _MAC + r"|File)\.tlv$", re.I)
RE_CONFIG = re.compile(r"^SEP" + _MAC + r"\.cnf\.xml(\.sgn|\.enc\.sgn)?$", re.I)


def basename(name: str) -> str:
    """The last component of a TFTP/HTTP path, with either separator."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def phone_file(name: str) -> tuple[str, str] | None:
    """(kind, MAC) for a phone's trust-list or config file name; MAC may be ''."""
    b = basename(name)
    m = RE_TRUST.match(b)
    if m:
        return m.group(1).upper(), (m.group(2) or "").upper()
    m = RE_CONFIG.match(b)
    if m:
        return "CONFIG", m.group(1).upper()
    return None


def mac_colon(mac12: str) -> str:
    """`SEP<mac12>`'s MAC written as aa:bb:cc:dd:ee:ff."""
    m = mac12.lower()
    return ":".join(m[i : i + 2] for i in range(0, 12, 2))
