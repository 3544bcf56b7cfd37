"""Rendering for `capfcap itl`: a `show itl`-like table and a deterministic JSON dict."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.table import Table

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


def render_text(tl: TrustList, console: Console) -> None:
    """Print records (like `show itl`), then the header, signature verdict and checksums."""
    title = f"{tl.kind} {tl.filename or '(no FILENAME)'}: {len(tl.records)} record(s)"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("role")
    table.add_column("subject", overflow="fold")
    table.add_column("issuer", overflow="fold")
    table.add_column("serial", overflow="fold")
    table.add_column("validity (UTC)")
    table.add_column("SHA-256")
    for rec in tl.records:
        table.add_row(
            str(rec.index),
            rec.role_name,
            rec.subject or (rec.cert.subject if rec.cert else ""),
            rec.issuer or (rec.cert.issuer if rec.cert else ""),
            rec.serial,
            _validity(rec.cert),
            rec.cert.der_sha256[:16] if rec.cert else "",
        )
    console.print(table)
    for rec in tl.records:
        extra = [f"DNSNAME {rec.dns_name}"] if rec.dns_name else []
        extra += [f"IPADDRESS {rec.ip_address}"] if rec.ip_address else []
        extra += [f"CERTHASH {rec.cert_hash}"] if rec.cert_hash else []
        extra += [rec.note] if rec.note else []
        if extra:
            console.print(f"  record {rec.index}: " + "; ".join(extra), highlight=False)
    style = _VERDICT_STYLE.get(tl.signature_status, "")
    lines = [
        (
            "version",
            tl.version + (f" (signer version {tl.signer_version})" if tl.signer_version else ""),
        ),
        ("signer", tl.signer),
        ("issuer", tl.issuer),
        ("signer serial", tl.signer_serial),
        ("timestamp", _iso(tl.timestamp)),
        ("hash algorithm", tl.hash_algorithm),
    ]
    for label, value in lines:
        console.print(f"{label:>15}: {value}", highlight=False, markup=False)
    console.print(
        f"{'signature':>15}: [{style}]{tl.signature_status}[/] ({tl.signature_note})"
        if style
        else f"{'signature':>15}: {tl.signature_status} ({tl.signature_note})",
        highlight=False,
    )
    if tl.unknown_tags:
        tags = ", ".join(f"tag {t} at byte {o}" for t, o in tl.unknown_tags)
        console.print(f"{'unknown tags':>15}: {tags}", highlight=False, markup=False)
    console.print(f"{'checksum':>15}: {tl.md5}(MD5) {tl.sha1}(SHA1)", highlight=False, markup=False)
    console.print(f"{'size':>15}: {tl.size} bytes, SHA-256 {tl.sha256}", highlight=False)


def _cert_json(cert: CertInfo | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "key_type": cert.key_type,
        "key_bits": cert.key_bits,
        "is_ca": cert.is_ca,
        "key_cert_sign": cert.key_cert_sign,
        "sha1": cert.der_sha1,
        "sha256": cert.der_sha256,
    }


def _record_json(rec: TrustRecord) -> dict[str, Any]:
    return {
        "index": rec.index,
        "offset": rec.offset,
        "role": rec.role,
        "role_name": rec.role_name,
        "subject": rec.subject,
        "issuer": rec.issuer,
        "serial": rec.serial,
        "dns_name": rec.dns_name,
        "ip_address": rec.ip_address,
        "cert_hash": rec.cert_hash,
        "certificate": _cert_json(rec.cert),
        "note": rec.note,
    }


def to_json(tl: TrustList) -> dict[str, Any]:
    """Plain-JSON form of a trust list (same input, same output; no run-time data)."""
    return {
        "kind": tl.kind,
        "filename": tl.filename,
        "version": tl.version,
        "signer_version": tl.signer_version,
        "signer": tl.signer,
        "signer_serial": tl.signer_serial,
        "issuer": tl.issuer,
        "timestamp": _iso(tl.timestamp),
        "hash_algorithm": tl.hash_algorithm,
        "signature": {"status": tl.signature_status, "note": tl.signature_note},
        "size": tl.size,
        "md5": tl.md5,
        "sha1": tl.sha1,
        "sha256": tl.sha256,
        "unknown_tags": [{"tag": t, "offset": o} for t, o in tl.unknown_tags],
        "records": [_record_json(r) for r in tl.records],
    }
