"""Phone configuration files `SEP<MAC>.cnf.xml(.sgn|.enc.sgn)` -> `events.PhoneConfig`.

Fields read (DOMAIN.md §5): capfAuthMode, capfList/capf (processNodeName, phonePort),
TVS/members/member (address, port), callManager (name, processNodeName),
deviceSecurityMode, loadInformation.

CUCM writes `xsi:type="axl:XIPPhone"` on the root element without declaring the `xsi`
prefix, which a namespace-aware parser rejects. The file is therefore read with expat in
non-namespace mode (prefixes stay part of the names; matching uses the local part), and
any DOCTYPE or entity declaration is refused before it can expand.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from capfcap.events import PhoneConfig
from capfcap.protocol import CAPF_PORT, TVS_PORT
from capfcap.trust.itl import TrustListError, parse_signed_header

MAX_CONFIG_SIZE = 4 * 1024 * 1024  # real configs are a few kB
MAX_DEPTH = 256  # element nesting (real configs: < 10)

_DEVICE_RE = re.compile(r"^(SEP[0-9A-F]{12})", re.IGNORECASE)


class ConfigError(ValueError):
    """A config file that cannot be read."""


class _Refused(Exception):
    """Raised inside expat handlers to stop on forbidden or excessive input."""


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _parse_xml(data: bytes) -> ET.Element:
    """Parse XML without namespace processing, DTDs or entities (raises ConfigError)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()  # no namespace_separator: undeclared prefixes are fine
    depth = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _Refused(f"elements nested deeper than {MAX_DEPTH}")
        builder.start(name, attrs)

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(name)

    def refuse(*_args: Any) -> Any:
        raise _Refused("DOCTYPE / entity declarations are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        root = builder.close()
    except _Refused as exc:
        raise ConfigError(f"config refused: {exc}") from None
    except expat.ExpatError as exc:
        raise ConfigError(f"config is not well-formed XML: {exc}") from None
    except Exception as exc:  # encoding errors, builder state errors
        raise ConfigError(f"config cannot be parsed: {exc}") from None
    return root


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, name: str) -> str:
    for child in _children(el, name):
        return (child.text or "").strip()
    return ""


def _first_text(root: ET.Element, name: str) -> str | None:
    for el in root.iter():
        if _local(el.tag) == name:
            return (el.text or "").strip()
    return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > 9 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _port(text: str, default: int) -> int:
    value = _int(text)
    return value if value is not None and 0 < value < 65536 else default


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _capf_servers(root: ET.Element) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for lst in (el for el in root.iter() if _local(el.tag) == "capfList"):
        for capf in _children(lst, "capf"):
            name = _text(capf, "processNodeName")
            if name:
                found.append((name, _port(_text(capf, "phonePort"), CAPF_PORT)))
    return tuple(dict.fromkeys(found))


def _capf_list(root: ET.Element) -> str:
    """How the capfList reads: absent, without <capf> entry, entries without a
    processNodeName (DOMAIN §5: empty when no operation is pending), or usable."""
    lists = [el for el in root.iter() if _local(el.tag) == "capfList"]
    if not lists:
        return "absent"
    entries = [c for lst in lists for c in _children(lst, "capf")]
    if not entries:
        return "no_entry"
    return "ok" if any(_text(c, "processNodeName") for c in entries) else "blank"


def _tvs_servers(root: ET.Element) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for tvs in (el for el in root.iter() if _local(el.tag) == "TVS"):
        for member in (m for m in tvs.iter() if _local(m.tag) == "member"):
            address = _text(member, "address")
            if address:
                found.append((address, _port(_text(member, "port"), TVS_PORT)))
    return tuple(dict.fromkeys(found))


def _callmanagers(root: ET.Element) -> tuple[str, ...]:
    names: list[str] = []
    for cm in (el for el in root.iter() if _local(el.tag) == "callManager"):
        names.append(_text(cm, "name"))
        names.append(_text(cm, "processNodeName"))
    return _unique(names)


def _device(filename: str) -> str:
    base = os.path.basename(filename.replace("\\", "/"))
    match = _DEVICE_RE.match(base)
    if match:
        return match.group(1).upper()
    return base.split(".", 1)[0]


def _looks_signed(data: bytes) -> bool:
    """A signed header starts with VERSION (01 00 02); XML starts with '<' or a BOM."""
    return data[:3] == b"\x01\x00\x02"


def parse_config(filename: str, data: bytes) -> PhoneConfig:
    """Read a phone config; `.enc.sgn` gives observable=False. Raises ConfigError."""
    data = bytes(data)
    device = _device(filename)
    lower = filename.lower()
    if len(data) > MAX_CONFIG_SIZE:
        raise ConfigError(f"config of {len(data)} bytes exceeds {MAX_CONFIG_SIZE} bytes")
    if lower.endswith(".enc.sgn"):
        signer = ""
        with contextlib.suppress(TrustListError):
            signer = parse_signed_header(data)[0].signer
        return PhoneConfig(
            device=device,
            capf_auth_mode=None,
            capf_servers=(),
            tvs_servers=(),
            callmanagers=(),
            device_security_mode=None,
            load_information="",
            signer=signer,
            observable=False,
            note="encrypted config (.enc.sgn): contents not observable",
        )
    signer = ""
    note = ""
    body = data
    if lower.endswith(".sgn") or _looks_signed(data):
        try:
            header, offset = parse_signed_header(data)
        except TrustListError as exc:
            raise ConfigError(f"signed config header: {exc}") from None
        signer = header.signer
        body = data[offset:]
        note = f"signed by {signer or '(no signer name)'}"
    if not body.strip():
        raise ConfigError("config is empty")
    root = _parse_xml(body)
    return PhoneConfig(
        device=device,
        capf_auth_mode=_int(_first_text(root, "capfAuthMode")),
        capf_servers=_capf_servers(root),
        tvs_servers=_tvs_servers(root),
        callmanagers=_callmanagers(root),
        device_security_mode=_int(_first_text(root, "deviceSecurityMode")),
        load_information=_first_text(root, "loadInformation") or "",
        signer=signer,
        observable=True,
        note=note,
        capf_list=_capf_list(root),
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def cucm_names(cfg: PhoneConfig) -> set[str]:
    """Host names (not IP literals) of the CAPF, TVS and CallManager nodes, lower-case."""
    names = [n for n, _ in cfg.capf_servers] + [n for n, _ in cfg.tvs_servers]
    names += list(cfg.callmanagers)
    out: set[str] = set()
    for name in names:
        clean = name.strip().rstrip(".").lower()
        if clean and not _is_ip(clean):
            out.add(clean)
    return out
