"""Files and certificates seen on the wire, carved for the ticket bundle (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Iterable

from capfcap.correlator.state import PhoneState, State
from capfcap.filenames import phone_file
from capfcap.report import CarvedObject

MAX_OBJECTS = 1000  # a hostile capture cannot make the bundle unbounded


def carve(st: State, phones: Iterable[PhoneState]) -> tuple[list[CarvedObject], int]:
    """Complete trust-list/config downloads and server certificates of the given phones,
    in frame order, each once (same bytes from the same server), and how many were left
    out: at most MAX_OBJECTS are kept, trust lists and certificates (few, and the evidence
    of the trust findings) before the per-phone configs."""
    addrs = {a for p in phones for a in p.addrs}
    out: list[CarvedObject] = []
    seen: set[tuple[str, str, bytes]] = set()
    for t in st.transfers:
        if t.status != "complete" or not t.data or t.client not in addrs:
            continue
        pf = phone_file(t.filename)
        if pf is None:
            continue
        key = (t.server, t.filename, t.data)
        if key in seen:
            continue
        seen.add(key)
        frame = t.request_frames[0] if t.request_frames else (t.frames[0] if t.frames else 0)
        out.append(CarvedObject(pf[0], t.protocol, t.server, t.filename, frame, t.data,
                                tuple(t.frames)))
    for s in st.tls:
        if s.key.client not in addrs or not s.server_certs:
            continue
        for c in s.server_certs:
            if not c.der:
                continue
            key = (s.key.server, str(s.key.server_port), c.der)
            if key in seen:
                continue
            seen.add(key)
            frame = s.cert_frame or (s.frames[0] if s.frames else 0)
            out.append(CarvedObject("CERT", str(s.key.server_port), s.key.server, c.subject,
                                    frame, c.der, (frame,) if frame else ()))
    out.sort(key=_in_frame_order)
    if len(out) <= MAX_OBJECTS:
        return out, 0
    kept = sorted(out, key=lambda o: o.kind == "CONFIG")[:MAX_OBJECTS]  # stable: frame order
    return sorted(kept, key=_in_frame_order), len(out) - MAX_OBJECTS


def _in_frame_order(o: CarvedObject) -> tuple[int, str, str]:
    return o.frame, o.kind, o.name
