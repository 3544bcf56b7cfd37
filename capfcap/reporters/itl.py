"""Rendering for `capfcap itl`: a `show itl`-like table and a deterministic JSON dict."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.text import Text

from capfcap.events import CertInfo, TrustList, TrustRecord

_NS = 1_000_000_000
_VERDICT_STYLE = {
    "valid": "green",
    "invalid": "bold red",
    "unverifiable": "yellow",
    "unsupported": "yellow",
}


def _iso(ns: int | None) -> str:
    if ns is None:
        return ""
    return datetime.fromtimestamp(ns // _NS, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(ns: int) -> str:
    return datetime.fromtimestamp(ns // _NS, tz=timezone.utc).strftime("%Y-%m-%d")


def _validity(cert: CertInfo | None) -> str:
    if cert is None:
        return ""
    return f"{_date(cert.not_before)} .. {_date(cert.not_after)}"


# between RDNs: "," (RFC 4514) or ";" (CUCM's ITL records); "\," is an escaped comma
_RDN_END = re.compile(r"[^,;\\]*(?:\\.[^,;\\]*)*(?:[,;]|$)")
_LABEL = 15  # "    subject    " (record field labels, then the value)


def _name_lines(name: str, room: int) -> list[str | Text]:
    """A distinguished name in lines of at most `room` characters, broken only after the
    separator between two RDNs (never inside a value); a longer RDN stays whole."""
    lines: list[str | Text] = []
    cur = ""
    for m in _RDN_END.finditer(name):
        piece = m.group(0)
        if not piece:
            continue
        if cur and len(cur) + len(piece) > room:
            lines.append(cur)
            cur = ""
        cur += piece
    return [*lines, cur] if cur or not lines else lines


def _record_fields(rec: TrustRecord) -> list[tuple[str, str]]:
    fields = [("subject", rec.subject or (rec.cert.subject if rec.cert else "")),
              ("issuer", rec.issuer or (rec.cert.issuer if rec.cert else "")),
              ("serial", rec.serial)]
    if rec.cert is not None:
        fields += [("valid", _validity(rec.cert) + " UTC"), ("SHA-256", rec.cert.der_sha256)]
    fields += [("DNSNAME", rec.dns_name)] if rec.dns_name else []
    fields += [("IPADDRESS", rec.ip_address)] if rec.ip_address else []
    fields += [("CERTHASH", rec.cert_hash)] if rec.cert_hash else []
    fields += [("note", rec.note)] if rec.note else []
    return fields


def render_text(tl: TrustList, console: Console) -> None:
    """Print records (like `show itl`, one block each: hashes and serials whole, names
    broken only between RDNs to fit the console), then the header, signature verdict and
    checksums."""
    console.print(f"{tl.kind} {tl.filename or '(no FILENAME)'}: {len(tl.records)} record(s)",
                  highlight=False, markup=False)
    room = max(20, console.width - _LABEL)
    for rec in tl.records:
        console.print(f"  record {rec.index}: {rec.role_name}", style="bold", highlight=False,
                      markup=False)
        for label, value in _record_fields(rec):
            parts = _name_lines(value, room) if label in ("subject", "issuer") else [value]
            for i, part in enumerate(parts):
                head = f"    {label:<9}  " if i == 0 else " " * _LABEL
                console.print(Text(head, no_wrap=True, overflow="ignore").append(part),
                              soft_wrap=True)
    _header(tl, console)


_HEAD = 16  # "  hash algorithm: "


def _head_line(console: Console, label: str, value: str | Text, names: bool = False) -> None:
    """`label: value`; a name breaks only between RDNs, anything else never."""
    parts: list[str | Text] = (_name_lines(value, max(20, console.width - _HEAD))
                               if names and isinstance(value, str) else [value])
    for i, part in enumerate(parts):
        t = Text(f"{label:>14}: " if i == 0 else " " * _HEAD, no_wrap=True, overflow="ignore")
        console.print(t.append(part), soft_wrap=True)


def _header(tl: TrustList, console: Console) -> None:
    """The trust list's header, signature verdict and checksums (hashes whole)."""
    signer_version = f" (signer version {tl.signer_version})" if tl.signer_version else ""
    _head_line(console, "version", tl.version + signer_version)
    _head_line(console, "signer", tl.signer, names=True)
    _head_line(console, "issuer", tl.issuer, names=True)
    _head_line(console, "signer serial", tl.signer_serial)
    _head_line(console, "timestamp", _iso(tl.timestamp))
    _head_line(console, "hash algorithm", tl.hash_algorithm)
    verdict = Text(tl.signature_status, style=_VERDICT_STYLE.get(tl.signature_status, ""))
    _head_line(console, "signature", verdict.append(f" ({tl.signature_note})", style=""))
    if tl.unknown_tags:
        _head_line(console, "unknown tags",
                   ", ".join(f"tag {t} at byte {o}" for t, o in tl.unknown_tags))
    _head_line(console, "checksum", f"{tl.md5} (MD5)")
    console.print(Text(" " * _HEAD + f"{tl.sha1} (SHA1)"), soft_wrap=True)
    _head_line(console, "size", f"{tl.size} bytes")
    _head_line(console, "SHA-256", tl.sha256)


def _attrs(obj: object, names: str) -> dict[str, Any]:
    """{name: obj.name} for the space-separated attribute names, in their order: the JSON
    keys that show an attribute as it is, under its own name."""
    return {n: getattr(obj, n) for n in names.split()}


def _cert_json(cert: CertInfo | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        **_attrs(cert, "subject issuer serial"),
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        **_attrs(cert, "key_type key_bits is_ca key_cert_sign"),
        "sha1": cert.der_sha1,
        "sha256": cert.der_sha256,
    }


def _record_json(rec: TrustRecord) -> dict[str, Any]:
    return {
        **_attrs(rec, "index offset role role_name subject issuer serial dns_name ip_address "
                      "cert_hash"),
        "certificate": _cert_json(rec.cert),
        "note": rec.note,
    }


def to_json(tl: TrustList) -> dict[str, Any]:
    """Plain-JSON form of a trust list (same input, same output; no run-time data)."""
    return {
        **_attrs(tl, "kind filename version signer_version signer signer_serial issuer"),
        "timestamp": _iso(tl.timestamp),
        "hash_algorithm": tl.hash_algorithm,
        "signature": {"status": tl.signature_status, "note": tl.signature_note},
        **_attrs(tl, "size md5 sha1 sha256"),
        "unknown_tags": [{"tag": t, "offset": o} for t, o in tl.unknown_tags],
        "records": [_record_json(r) for r in tl.records],
    }
