"""Structured claims a finding rests on, kept in ``Finding.extra["_facts"]``.

`capfcap.crosscheck` compares each fact with Wireshark's own fields. Facts are plain JSON
values (dicts of ints, strings and lists) so they survive any reporter; keys starting with
"_" are internal and reporters do not print them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from capfcap.events import DnsTransaction, FileTransfer, IcmpError, TcpConnection, TlsSession

Fact = dict[str, object]


def dns(t: DnsTransaction) -> Fact:
    """RFC 1035 §4.1: ID, question, RCODE and ANCOUNT of the response; None rcode =
    unanswered."""
    return {
        "kind": "dns", "txid": t.txid, "qname": t.qname, "qtype": t.qtype,
        "query_frames": list(t.query_frames),
        "response_frame": t.response_frame, "rcode": t.rcode, "answers": t.answer_count,
    }


def tcp(c: TcpConnection) -> Fact:
    return {
        "kind": "tcp", "frames": list(c.frames), "syn_frames": list(c.syn_frames),
        "synack_frames": list(c.synack_frames), "rst_frames": list(c.rst_frames),
        "completeness": c.completeness,
    }


def icmp(i: IcmpError) -> Fact:
    return {"kind": "icmp", "frame": i.frame, "version": i.version, "type": i.icmp_type,
            "code": i.icmp_code}


def tls(s: TlsSession) -> Fact:
    """ClientHello legacy_version and the cleartext alerts (RFC 5246 §7.2)."""
    return {
        "kind": "tls", "client_hello_frame": s.client_hello_frame,
        "client_version": s.client_version,
        "alerts": [[a.frame, a.level, a.description] for a in s.alerts if not a.encrypted],
    }


def cert(frame: int | None, sha256: str) -> Fact:
    return {"kind": "cert", "frame": frame, "sha256": sha256}


def records(s: TlsSession) -> Fact:
    """Application-data records (type 23, or TLS 1.3 opaque_type 23) by frame and length."""
    return {"kind": "records",
            "records": [[r.frame, r.content_type, r.length] for r in s.records]}


def transfer(t: FileTransfer) -> Fact:
    return {
        "kind": "transfer", "protocol": t.protocol, "filename": t.filename,
        "status": t.status, "request_frames": list(t.request_frames), "frames": list(t.frames),
        "size": t.size, "error_code": t.error_code, "http_status": t.http_status,
        "sha256": hashlib.sha256(t.data).hexdigest()
        if t.status == "complete" and t.data is not None else None,
    }


def sender(ips: Collection[str], frames: list[int], received: bool = False) -> Fact:
    """Every cited frame was sent by (or, `received`, sent to) one of these addresses."""
    return {"kind": "sender", "ips": sorted(ips), "frames": sorted(set(frames)),
            "received": received}


def unchecked(why: str) -> Fact:
    return {"kind": "unchecked", "why": why}


def itl_content() -> Fact:
    return unchecked("the ITL content (Wireshark has no ITL dissector)")
