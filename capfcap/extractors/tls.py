"""TLS metadata of one TCP connection on a TLS port (CAPF, TVS, 6971/6972, ...).

Wireshark's port table does not matter here: every connection on these ports is read as
TLS from the first byte (DOMAIN §3.1, §4.3). With a key log the application records are
decrypted and, on a CAPF connection (the caller knows the CAPF ports: 3804 or the
config's phonePort), the CAPF dialogue decoded (DOMAIN §3.2).
"""

from __future__ import annotations

from capfcap.events import (
    CapfMessage,
    CertInfo,
    Direction,
    Event,
    FlowKey,
    TcpConnection,
    TlsAlert,
    TlsHole,
    TlsRecordInfo,
    TlsSession,
)
from capfcap.extractors import tlsitems as ti
from capfcap.extractors.tlsdecrypt import DecryptError, KeyLog, SessionDecryptor
from capfcap.extractors.tlshandshake import certificate13
from capfcap.extractors.tlsparse import TlsDirectionParser

MAX_KEEP = 4096  # encrypted records kept per connection for decryption


MAX_CERT_CACHE = 256  # distinct certificates remembered (a server shows its chain to all)
_cert_cache: dict[bytes, CertInfo | str] = {}


def _certs(ders: tuple[bytes, ...]) -> tuple[tuple[CertInfo, ...], str]:
    """Each DER certificate summarised once per run: the CAPF/TVS servers present the same
    chain to every phone, and a CertInfo is immutable."""
    from capfcap.trust.certs import CertError, cert_info

    out: list[CertInfo] = []
    bad = ""
    for d in ders:
        info = _cert_cache.get(d)
        if info is None:
            try:
                info = cert_info(d)
            except CertError as e:
                info = f"unparsable certificate in chain: {e}"
            if len(_cert_cache) < MAX_CERT_CACHE:
                _cert_cache[bytes(d)] = info
        if isinstance(info, str):
            bad = info
        else:
            out.append(info)
    return tuple(out), bad


class TlsHandler:
    def __init__(self, key: FlowKey, keylog: object | None = None,
                 show_secrets: bool = False, capf: bool = False) -> None:
        self.key = key
        self.capf = capf  # decode the decrypted records as CAPF messages
        self.keylog = keylog if isinstance(keylog, KeyLog) else None
        self.show_secrets = show_secrets
        self.parsers: dict[Direction, TlsDirectionParser] = {
            "c2s": TlsDirectionParser(sslv2_hello=True), "s2c": TlsDirectionParser()}
        self.items: list[tuple[Direction, ti.TlsItem]] = []
        self.encrypted: dict[Direction, list[ti.EncryptedItem]] = {"c2s": [], "s2c": []}
        self.first_client_frame: int | None = None

    def data(self, direction: Direction, frame: int, ts: int, data: bytes) -> None:
        if direction == "c2s" and self.first_client_frame is None:
            self.first_client_frame = frame
        self._items(direction, self.parsers[direction].feed(frame, ts, data))

    def gap(self, direction: Direction, frame: int, ts: int, missing: int) -> None:
        """A capture hole in this direction: the parser resynchronises after it."""
        self._items(direction, self.parsers[direction].gap(frame, ts, missing))

    def _items(self, direction: Direction, items: list[ti.TlsItem]) -> None:
        for it in items:
            if isinstance(it, ti.ServerHello) and it.tls13:
                self.parsers["c2s"].version = it.version
            self.items.append((direction, it))
            if self.keylog is not None and isinstance(
                it, (ti.EncryptedHandshake, ti.AppData)
            ) or (isinstance(it, ti.Alert) and it.encrypted):
                lst = self.encrypted[direction]
                if len(lst) < MAX_KEEP:
                    lst.append(it)

    def close(self, conn: TcpConnection) -> list[Event]:
        for direction, parser in self.parsers.items():
            self._items(direction, parser.finish())
        if not self.items:
            return []
        seen = _Seen()
        for d, it in self.items:
            seen.add(d, it)
        ch, sh, records, notes = seen.ch, seen.sh, seen.records, seen.notes
        tls13 = sh is not None and sh.tls13
        if tls13:
            # TLS 1.3 (RFC 8446 §5): the encrypted handshake travels in application_data
            # records; drop the server's first flight and the client's Finished.
            records = _drop_tls13_handshake(records)
            done = seen.app["c2s"] and seen.app["s2c"] and bool(records)
        else:
            done = ((seen.fin["c2s"] and seen.fin["s2c"])
                    or (seen.app["c2s"] and seen.app["s2c"]))
        capf: tuple[CapfMessage, ...] = ()
        decrypted = False
        if self.keylog is not None and ch is not None and sh is not None:
            capf, decrypted, note, hidden = self._decrypt(ch, sh)
            if note:
                notes.append(note)
            if hidden is not None and not seen.client_certs:
                infos, bad = _certs(hidden.certs)
                if bad:
                    notes.append(bad)
                seen.client_certs, seen.client_cert_frame = infos, hidden.frame
        return [TlsSession(
            key=self.key,
            frames=conn.frames,
            first_ts=conn.first_ts,
            last_ts=conn.last_ts,
            client_hello_frame=ch.frame if ch else None,
            client_version=ch.legacy_version if ch else None,
            offered_versions=ch.offered_versions if ch else (),
            client_hello_sslv2=ch.sslv2 if ch else False,
            sni=ch.sni if ch else "",
            server_hello_frame=sh.frame if sh else None,
            version=sh.version if sh else None,
            cipher=sh.cipher if sh else None,
            cert_frame=seen.cert_frame,
            server_certs=seen.certs,
            cert_request=seen.cert_req,
            client_certs=seen.client_certs,
            client_cert_frame=seen.client_cert_frame,
            alerts=tuple(seen.alerts),
            close_notify=seen.close_notify,
            handshake_done=done,
            ccs_frames=tuple(seen.ccs_frames),
            records=tuple(records),
            capf_messages=capf,
            decrypted=decrypted,
            not_tls=seen.not_tls,
            note="; ".join(notes)
            + ("; TLS 1.3: certificates are encrypted and cannot be compared" if tls13 else ""),
            holes=seen.holes,
        )]

    def _decrypt(self, ch: ti.ClientHello, sh: ti.ServerHello
                 ) -> tuple[tuple[CapfMessage, ...], bool, str, ti.Certificate | None]:
        """The CAPF dialogue, whether any record decrypted, a note, and the client's
        Certificate of a TLS 1.3 handshake (encrypted on the wire, RFC 8446 §4.4.2)."""
        from capfcap.dissectors.capf import CapfError, CapfStream

        assert self.keylog is not None
        try:
            dec = SessionDecryptor(self.keylog, ch.random, sh.random, sh.version, sh.cipher)
        except DecryptError as e:
            return (), False, f"not decrypted: {e}", None
        msgs: list[CapfMessage] = []
        ok = False
        hidden: ti.Certificate | None = None
        client_hs = bytearray()
        for d in ("c2s", "s2c"):
            direction: Direction = "c2s" if d == "c2s" else "s2c"
            stream = CapfStream(direction, self.show_secrets)
            for it in self.encrypted[direction]:
                r = dec.decrypt(direction, it)
                if (r.ok and r.content_type == ti.CT_HANDSHAKE and direction == "c2s"
                        and sh.tls13 and hidden is None):
                    client_hs += r.data
                    hidden = _client_certificate13(client_hs, r.frame, r.ts)
                if not r.ok or r.content_type != ti.CT_APPLICATION_DATA:
                    continue
                ok = True
                if not self.capf:
                    continue
                try:
                    msgs += stream.feed(r.frame, r.ts, r.data)
                except CapfError:
                    break
        msgs.sort(key=lambda m: (m.frame, m.direction))
        return tuple(msgs), ok, "" if ok else "key log did not decrypt any record", hidden


class _Seen:
    """What a connection's parsed TLS items showed, in the order they came."""

    def __init__(self) -> None:
        self.ch: ti.ClientHello | None = None
        self.sh: ti.ServerHello | None = None
        self.certs: tuple[CertInfo, ...] = ()
        self.cert_frame: int | None = None
        self.client_certs: tuple[CertInfo, ...] = ()
        self.client_cert_frame: int | None = None
        self.cert_req = False
        self.alerts: list[TlsAlert] = []
        self.records: list[TlsRecordInfo] = []
        self.ccs: dict[Direction, bool] = {"c2s": False, "s2c": False}
        self.ccs_frames: list[tuple[Direction, int, int]] = []
        self.fin: dict[Direction, bool] = {"c2s": False, "s2c": False}  # encrypted handshake
        self.app: dict[Direction, bool] = {"c2s": False, "s2c": False}
        self.close_notify = False
        self.not_tls = False
        self.notes: list[str] = []
        self.holes: tuple[TlsHole, ...] = ()  # rare: no list per session

    def add(self, d: Direction, it: ti.TlsItem) -> None:
        if isinstance(it, ti.ClientHello) and self.ch is None:
            self.ch = it
        elif isinstance(it, ti.ServerHello) and not it.hello_retry:
            self.sh = it
        elif isinstance(it, ti.Certificate):
            infos, bad = _certs(it.certs)
            if bad:
                self.notes.append(bad)
            if d == "s2c" and not self.certs:
                self.certs, self.cert_frame = infos, it.frame
            elif d == "c2s":
                self.client_certs, self.client_cert_frame = infos, it.frame
        elif isinstance(it, ti.HandshakeMessage):
            self.cert_req = self.cert_req or it.msg_type == ti.HS_CERTIFICATE_REQUEST
        elif isinstance(it, ti.ChangeCipherSpec):
            if not self.ccs[d]:
                self.ccs_frames.append((d, it.frame, it.ts))
            self.ccs[d] = True
        elif isinstance(it, ti.EncryptedHandshake):
            self.fin[d] = True
        elif isinstance(it, ti.Alert):
            self.alerts.append(TlsAlert(it.frame, it.ts, "client" if d == "c2s" else "server",
                                        it.level, it.description, it.encrypted))
            if not it.encrypted and it.description == 0:
                self.close_notify = True
        elif isinstance(it, ti.AppData):
            self.app[d] = True
            self.records.append(TlsRecordInfo(it.frame, it.ts, d, it.content_type, it.length))
        elif isinstance(it, ti.NotTls) and d == "c2s":
            self.not_tls = True
            self.notes.append(it.reason)
        elif isinstance(it, ti.Anomaly):
            self.notes.append(f"frame {it.frame}: {it.reason}")
        elif isinstance(it, ti.Hole):
            self.holes += (TlsHole(d, it.after_frame, it.missing, it.skipped,
                                   it.records_lost, it.frame if it.resynced else None,
                                   it.dialogue),)


def _client_certificate13(buf: bytearray, frame: int, ts: int) -> ti.Certificate | None:
    """The Certificate message among the client's decrypted TLS 1.3 handshake messages
    (RFC 8446 §4.4: Certificate, CertificateVerify, Finished; type u8, length u24)."""
    pos = 0
    while len(buf) - pos >= 4:
        mlen = int.from_bytes(buf[pos + 1 : pos + 4], "big")
        if len(buf) - pos < 4 + mlen:
            return None
        if buf[pos] == ti.HS_CERTIFICATE:
            try:
                return certificate13(frame, ts, bytes(buf[pos + 4 : pos + 4 + mlen]))
            except ValueError:
                return None
        pos += 4 + mlen
    return None


def _drop_tls13_handshake(records: list[TlsRecordInfo]) -> list[TlsRecordInfo]:
    """In TLS 1.3 the server's encrypted flight (EncryptedExtensions..Finished) and the
    client's Finished are application_data records too: skip the server records up to the
    client's first record, and that first client record (its Finished)."""
    out: list[TlsRecordInfo] = []
    seen_client = False
    for r in records:
        if not seen_client:
            if r.direction == "c2s":
                seen_client = True  # the client's Finished
            continue
        out.append(r)
    return out
