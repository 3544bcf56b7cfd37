"""A phone's exchanges finer than its timeline, for the ladder diagram: TLS handshake
messages and alerts (RFC 5246 §7.3-7.4, RFC 8446 §4), runs of application_data records
by sender (one arrow per turn of the CAPF or TVS dialogue) and each file transfer's block
and byte counts (RFC 1350 §6, RFC 2348 blksize). Not part of the JSON report."""

from __future__ import annotations

import sys
from dataclasses import replace

from capfcap.correlator.common import Context
from capfcap.correlator.ports import service
from capfcap.correlator.rules_tls import alert_name, version_name
from capfcap.correlator.state import PhoneState
from capfcap.events import FileTransfer, TlsRecordInfo, TlsSession
from capfcap.report import WireStep

TFTP_BLKSIZE = 512  # RFC 1350 block size when no blksize option was acknowledged
MAX_RUNS = 16  # record runs drawn per session; the rest are one summary arrow


def wire_steps(ctx: Context, p: PhoneState) -> list[WireStep]:
    out = [_transfer(t) for t in p.transfers]
    mine = {c.key for c in p.conns if c.key.client in p.addrs}
    for s in p.tls:
        if s.key not in mine:
            continue
        # the texts repeat across the phones of a rollout: one copy each
        out += [replace(w, what=sys.intern(w.what)) for w in _handshake(ctx, s)]
        role = service(p, s.key.server_port)
        if role is not None and not s.capf_messages:  # decrypted: the timeline has them
            out += _record_runs(s, role)
    out.sort(key=lambda w: (w.ts, w.frame))
    return out


def _blocks(t: FileTransfer) -> int:
    """DATA blocks of a TFTP transfer: a file of n bytes takes n // blksize + 1 blocks, the
    last one shorter than blksize (RFC 1350 §6); an unfinished one, the blocks its bytes
    fill plus those the phone ACKed but the capture lacks."""
    opts = dict(t.options)
    bs = int(opts["blksize"]) if opts.get("blksize", "").isdigit() else TFTP_BLKSIZE
    bs = bs or TFTP_BLKSIZE
    if t.status == "complete":
        return t.size // bs + 1
    return -(-t.size // bs) + t.acked_unseen_blocks


def _transfer(t: FileTransfer) -> WireStep:
    req = t.request_frames[0] if t.request_frames else t.frames[0]
    got = t.status in ("complete", "complete_gaps", "incomplete") or t.size > 0
    if t.protocol == "tftp" and got:
        n = _blocks(t)
        what = f"{n} block{'s' if n != 1 else ''}, {t.size:,} B"
    elif got:
        n = len(t.frames)
        what = f"{t.size:,} B in {n} packets"
    else:
        n = len(t.frames)
        what = f"{n} packet{'s' if n != 1 else ''}"
    oc = "ok" if t.status in ("complete", "complete_gaps") else "failed"
    return WireStep(req, t.first_ts, t.server, False, sys.intern(what), "transfer", oc,
                    max(t.frames, default=req))


def _at(ctx: Context, s: TlsSession, frame: int) -> int:
    return ctx.frame_ts.get(frame, s.first_ts)


def _handshake(ctx: Context, s: TlsSession) -> list[WireStep]:
    srv = s.key.server
    out: list[WireStep] = []
    if s.client_hello_frame is not None:
        offered = max(s.offered_versions, default=s.client_version or 0) or None
        what = ("SSLv2-compatible ClientHello" if s.client_hello_sslv2 else "ClientHello") \
            + f" offering up to {version_name(offered)}" + (f", SNI {s.sni}" if s.sni else "")
        out.append(WireStep(s.client_hello_frame, _at(ctx, s, s.client_hello_frame), srv,
                            True, what, "tls"))
    leaf = s.server_certs[0].subject if s.server_certs else ""
    if s.server_hello_frame is not None:
        what = f"ServerHello {version_name(s.version)}"
        if leaf and s.cert_frame == s.server_hello_frame:
            what += f", Certificate {leaf}"
        if s.cert_request:
            what += ", CertificateRequest"
        out.append(WireStep(s.server_hello_frame, _at(ctx, s, s.server_hello_frame), srv,
                            False, what, "tls"))
    if leaf and s.cert_frame is not None and s.cert_frame != s.server_hello_frame:
        out.append(WireStep(s.cert_frame, _at(ctx, s, s.cert_frame), srv, False,
                            f"Certificate {leaf}", "tls"))
    if s.client_cert_frame is not None:
        subj = s.client_certs[0].subject if s.client_certs else "(empty)"
        out.append(WireStep(s.client_cert_frame, _at(ctx, s, s.client_cert_frame), srv, True,
                            f"Certificate (phone's) {subj}", "tls"))
    tls13 = s.version == 0x0304
    for d, frame, ts in s.ccs_frames:
        what = ("ChangeCipherSpec (compatibility), encrypted handshake" if tls13
                else "ChangeCipherSpec, Finished")
        out.append(WireStep(frame, ts, srv, d == "c2s", what, "tls"))
    for a in s.alerts:
        level = {1: "warning ", 2: "fatal "}.get(a.level, "")
        name = "encrypted alert" if a.encrypted else f"alert {level}{alert_name(a.description)}"
        bad = not a.encrypted and a.description != 0
        out.append(WireStep(a.frame, a.ts, srv, a.sender == "client", name, "alert",
                            "failed" if bad else "info"))
    return out


def _run_step(s: TlsSession, role: str, run: list[TlsRecordInfo]) -> WireStep:
    n, size = len(run), sum(r.length for r in run)
    c2s = run[0].direction == "c2s"
    arrow = f"phone -> {role}" if c2s else f"{role} -> phone"
    return WireStep(run[0].frame, run[0].ts, s.key.server, c2s,
                    sys.intern(f"{arrow}: {n} record{'s' if n != 1 else ''}, {size:,} B"),
                    "records", "info", run[-1].frame)


def _record_runs(s: TlsSession, role: str) -> list[WireStep]:
    """Consecutive application_data records one way, one step each (a turn of the
    dialogue); past MAX_RUNS, the rest as one step."""
    runs: list[list[TlsRecordInfo]] = []
    for r in s.records:
        if runs and runs[-1][0].direction == r.direction:
            runs[-1].append(r)
        else:
            runs.append([r])
    out = [_run_step(s, role, run) for run in runs[:MAX_RUNS]]
    rest = [r for run in runs[MAX_RUNS:] for r in run]
    if rest:
        size = sum(r.length for r in rest)
        out.append(WireStep(rest[0].frame, rest[0].ts, s.key.server, True,
                            f"phone <-> {role}: {len(rest)} more records, {size:,} B",
                            "records", "info", rest[-1].frame))
    return out
