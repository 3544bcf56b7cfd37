"""Downloaded files (TFTP/HTTP transfers) parsed into trust lists and configs (DOMAIN §1, §5);
not the bundle's carved objects (`correlator/objects.py`)."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from capfcap.events import ConfigSeen, Event, FileTransfer, PhoneConfig, TrustList, TrustListSeen
from capfcap.filenames import phone_file

MEMO = 64  # distinct files remembered: a TFTP server hands the same ITL to every phone


class ObjectStage:
    """Parses every complete trust-list and config download once.

    `keep_bytes`: whether the transfers keep their bytes after parsing. Only the ticket
    bundle (objects/) and --crosscheck (the downloads' SHA-256) read them again; without
    those a rollout's per-phone configs are a tenth of the analysis's memory."""

    def __init__(self, keep_bytes: bool = True) -> None:
        self.keep_bytes = keep_bytes
        self._contents: dict[bytes, bytes] = {}
        self._lean = False

    def take(self, evs: list[Event]) -> list[Event]:
        """The events, each download with its bytes shared (or dropped), then the trust
        lists and configs parsed from the complete ones."""
        out = evs
        parsed: list[Event] = []
        for i, ev in enumerate(evs):
            if not isinstance(ev, FileTransfer) or ev.data is None:
                continue
            data = bytes(ev.data)
            if not data:
                kept: bytes | None = ev.data
            elif self.keep_bytes:
                kept = self._share(data)
            else:
                kept = None  # parsed below; nothing reads the bytes again
            t = ev
            if kept is not ev.data:
                if out is evs:
                    out = list(evs)
                out[i] = t = replace(ev, data=kept)
            if t.status == "complete":
                pf = phone_file(t.filename)
                if pf is not None:
                    parsed.append(self._config(t, data) if pf[0] == "CONFIG"
                                  else self._trust(t, data))
        return out + parsed if parsed else out

    def _share(self, data: bytes) -> bytes:
        """One copy of identical downloads (the same ITL served to every phone): the
        correlator holds every transfer until the report."""
        kept = self._contents.get(data)
        if kept is None:
            if len(self._contents) >= MEMO:
                self._contents.clear()
            self._contents[data] = kept = data
        return kept

    def _trust(self, t: FileTransfer, data: bytes) -> TrustListSeen:
        tl, err, off = _parse_trust(data, t.filename)
        if not self._lean:  # the trust-list dissectors have imported scapy by now
            from capfcap.dissectors.tlv import drop_vendor_table

            self._lean = True
            drop_vendor_table()
        return TrustListSeen(t, tl) if tl is not None else TrustListSeen(t, None, err, off)

    @staticmethod
    def _config(t: FileTransfer, data: bytes) -> ConfigSeen:
        cfg, err = _parse_config(data, t.filename)
        return ConfigSeen(t, cfg) if cfg is not None else ConfigSeen(t, None, err)


# The parsers are pure functions of (bytes, name) returning frozen dataclasses, so the
# result for identical downloads is shared.
@lru_cache(maxsize=MEMO)
def _parse_trust(data: bytes, name: str) -> tuple[TrustList | None, str, int | None]:
    from capfcap.trust.itl import TrustListError, parse_trust_list

    try:
        return parse_trust_list(data, name), "", None
    except TrustListError as e:
        return None, str(e), e.offset


@lru_cache(maxsize=MEMO)
def _parse_config(data: bytes, name: str) -> tuple[PhoneConfig | None, str]:
    from capfcap.trust.config import ConfigError, parse_config

    shared = _shared_config(data, name)
    if shared is not None:
        return shared, ""
    try:
        return parse_config(name, data), ""
    except ConfigError as e:
        return None, str(e)


# SEP<MAC>.cnf.xml: the phone's MAC (12 hex digits) in the file name
_NAME_MAC = re.compile(r"SEP([0-9A-F]{12})", re.IGNORECASE)
_MASK = "~MAC~MASKED~"  # as long as 12 hex digits; '~' is in no MAC and no XML name


def _shared_config(data: bytes, name: str) -> PhoneConfig | None:
    """An unsigned XML config that differs between phones only by their MAC (in
    phoneLabel, GUIDs, ...) parsed once: the MAC masked in the name and the bytes (same
    length, so the XML keeps its structure), the device named after the real file. None
    (parse the file itself) when it is signed, when masking breaks it or when a parsed
    field holds the mask."""
    m = _NAME_MAC.search(name)
    if m is None or name.lower().endswith(".sgn") or data[:3] == b"\x01\x00\x02":
        return None
    mac = m.group(1)
    masked = data.replace(mac.encode(), _MASK.encode())
    cfg = _parse_masked(masked, name.replace(mac, _MASK))
    if cfg is None:
        return None
    from capfcap.trust.config import _device

    return replace(cfg, device=_device(name))


@lru_cache(maxsize=MEMO)
def _parse_masked(masked: bytes, name: str) -> PhoneConfig | None:
    from capfcap.trust.config import ConfigError, parse_config

    try:
        cfg = parse_config(name, masked)
    except ConfigError:
        return None
    return None if _MASK in repr(replace(cfg, device="")) else cfg
