"""`--phone` values: an IP address, or a MAC in any common notation, or SEP<MAC>.

MAC notations accepted (IEEE 802 canonical and the vendors' own): `00:23:ab:12:cd:34`,
`00-23-AB-12-CD-34`, `0023.ab12.cd34` (Cisco IOS), `0023AB12CD34`, and the Cisco device
name `SEP0023AB12CD34`. All become twelve lower-case hex digits.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

_HEX12 = re.compile(r"[0-9a-f]{12}")
_SEPARATED = re.compile(r"([0-9a-f]{2})([:-][0-9a-f]{2}){5}|([0-9a-f]{4}\.){2}[0-9a-f]{4}")


def key(value: str) -> str:
    """The canonical form of one `--phone` value: a compressed IP address, or 12 hex
    digits for a MAC; anything else lower-cased as given (it will match nothing)."""
    v = value.strip()
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        pass
    low = v.lower()
    if low.startswith("sep"):
        low = low[3:]
    if _SEPARATED.fullmatch(low):
        low = re.sub(r"[:.\-]", "", low)
    return low if _HEX12.fullmatch(low) else v.lower()


def phone_keys(addrs: Iterable[str], mac: str, device: str) -> set[str]:
    """The canonical keys one phone answers to (its IPs and its MAC)."""
    keys = {key(a) for a in addrs}
    for m in (mac, device):
        if m:
            keys.add(key(m))
    return keys


def unmatched(given: Iterable[str], seen: Iterable[set[str]]) -> list[str]:
    """The `given` values that match none of the `seen` phones' key sets."""
    all_keys = set().union(*seen)
    return [g for g in given if g.strip() and key(g) not in all_keys]
