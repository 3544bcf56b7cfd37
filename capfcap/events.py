"""Events: the vocabulary between extractors and the correlator.

Every event is a frozen dataclass built from plain Python types only (no scapy objects),
so the correlator can be tested with hand-written event lists. Times are integer
nanoseconds since the Unix epoch (capture time, never wall-clock time). Frame numbers
are 1-based and equal Wireshark's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Transport = Literal["tcp", "udp"]
Direction = Literal["c2s", "s2c"]  # client->server, server->client


@dataclass(frozen=True, slots=True)
class FlowKey:
    """Five-tuple with the originator first (the side that sent the first SYN / datagram)."""

    transport: Transport
    client: str
    client_port: int
    server: str
    server_port: int

    def filter(self) -> str:
        """Wireshark display filter matching both directions of this flow."""
        ipf = "ipv6" if ":" in self.client else "ip"
        l4 = self.transport
        return (
            f"{ipf}.addr=={self.client} && {ipf}.addr=={self.server} && "
            f"{l4}.port=={self.client_port} && {l4}.port=={self.server_port}"
        )


@dataclass(frozen=True, slots=True)
class HostSeen:
    """Link-layer identity of an IP address (source MAC of frames it sent)."""

    ip: str
    mac: str
    frame: int
    ts: int
    ttl: int = 0  # IPv4 TTL / IPv6 hop limit of that first frame


@dataclass(frozen=True, slots=True)
class LinkReached:
    """The capture holds a frame sent to this MAC at layer 2 (an ARP reply to it, RFC 826):
    proof that the direction towards that host is captured (DESIGN §4 rule 2)."""

    mac: str
    frame: int
    ts: int
    sender_ip: str  # who answered (ARP sender protocol address)


@dataclass(frozen=True, slots=True)
class DnsTransaction:
    """One DNS query (and its retransmissions) matched with its response, if any.

    Matching key: client, server, client port, server port, transport, query ID and
    question (name, type, class; RFC 1035 §4.1.2, RFC 5452 §9.1): an A and an AAAA query
    sent under one ID are two transactions.
    """

    client: str
    server: str
    client_port: int
    server_port: int
    transport: Transport
    txid: int
    qname: str  # lower-case, no trailing dot
    qtype: int  # 1 A, 28 AAAA, 33 SRV ...
    query_frames: tuple[int, ...]
    query_times: tuple[int, ...]
    response_frame: int | None
    response_ts: int | None
    rcode: int | None  # None = no response captured
    addresses: tuple[str, ...] = ()  # A/AAAA answers (any owner name, CNAME chain followed)
    answer_count: int = 0
    truncated: bool = False  # TC set (RFC 1035 §4.1.1): the answer did not fit, ask over TCP
    # responses with this ID, ports and question from another address than the one asked
    # (frame, source): a resolver drops them (RFC 5452 §9.1)
    foreign_responses: tuple[tuple[int, str], ...] = ()

    @property
    def answered(self) -> bool:
        return self.response_frame is not None

    @property
    def nodata(self) -> bool:
        return (self.rcode == 0 and not self.addresses and self.qtype in (1, 28)
                and not self.truncated)

    @property
    def frames(self) -> tuple[int, ...]:
        rf = (self.response_frame,) if self.response_frame is not None else ()
        return tuple(sorted(self.query_frames + rf))

    @property
    def first_ts(self) -> int:
        return self.query_times[0]

    @property
    def last_ts(self) -> int:
        return self.response_ts if self.response_ts is not None else self.query_times[-1]


@dataclass(frozen=True, slots=True)
class TcpHole:
    """Bytes of one direction the capture lacks inside the stream (a segment between two
    captured ones), skipped by the reassembler. `ack_frame`: the receiver's first captured
    ACK at or past the hole's end, proof that the data was delivered and only the capture
    lost it (DESIGN §4 rule 3); None: never acknowledged in the capture. `snap`: the hole
    is a segment cut by the capture's snap length, not a lost one."""

    direction: Direction
    offset: int  # stream offset of the first missing byte (0: the byte after the SYN)
    length: int  # missing bytes (from the sequence numbers)
    before_frame: int | None  # the last frame delivered before the hole
    after_frame: int  # the first frame after it
    ack_frame: int | None = None
    snap: bool = False


@dataclass(frozen=True, slots=True)
class TcpConnection:
    """A TCP connection with Zeek-style conn_state/history and Wireshark completeness."""

    key: FlowKey
    first_ts: int
    last_ts: int
    frames: tuple[int, ...]
    syn_frames: tuple[int, ...]  # client SYNs (retransmissions included)
    synack_frames: tuple[int, ...]
    rst_frames: tuple[int, ...]
    rst_from: str | None  # "client" | "server" | None (first RST seen)
    fin_frames: tuple[int, ...]
    conn_state: str  # Zeek conn_state: S0, REJ, SF, S1, RSTO, RSTR, SH, OTH, ...
    history: str  # Zeek history letters, upper-case = originator
    completeness: int  # Wireshark tcp.completeness bitmask
    orig_pkts: int
    resp_pkts: int
    orig_bytes: int  # payload bytes
    resp_bytes: int
    retransmissions: int = 0
    acked_unseen: int = 0  # ACKs covering peer data/SYN-ACK never captured
    orig_acked_unseen: int = 0  # ... of which sent by the originator
    flipped: bool = False  # originator inferred (no SYN seen)
    ack_events: int = 0  # ACK-carrying packets (denominator of the Zeek capture_loss ratio)
    duplicates: int = 0  # byte-identical frames seen twice (SPAN rx+tx), not counted above
    close_ts: int | None = None  # time of the first FIN or RST (either side)
    close_from: str | None = None  # "client" | "server": who sent that FIN/RST
    rst_ttl: int | None = None  # TTL / hop limit of the server's first RST
    resp_unacked: int = 0  # sequence space of server data the client never acknowledged
    holes: tuple[TcpHole, ...] = ()  # bytes missing inside a direction's stream


@dataclass(frozen=True, slots=True)
class UdpFlow:
    """A phone's UDP flow with Zeek's UDP conn_state (SF both ways, S0 originator only,
    SHR responder only) and per-direction counts."""

    key: FlowKey
    first_ts: int
    last_ts: int
    first_frame: int
    frames: tuple[int, ...]  # the first frames of the flow (bounded)
    conn_state: str
    history: str
    orig_pkts: int
    resp_pkts: int
    orig_bytes: int
    resp_bytes: int
    duplicates: int = 0
    bad_checksums: int = 0


@dataclass(frozen=True, slots=True)
class IcmpError:
    """ICMP/ICMPv6 error that quotes a packet of a TCP/UDP flow."""

    frame: int
    ts: int
    reporter: str  # source IP of the ICMP message
    version: int  # 4 or 6
    icmp_type: int
    icmp_code: int
    quoted: FlowKey  # the quoted packet's 5-tuple, as sent (client = quoted source)


@dataclass(frozen=True, slots=True)
class FileTransfer:
    """A file download over TFTP (UDP 69 + transfer ID) or HTTP (TCP 6970)."""

    protocol: Literal["tftp", "http"]
    client: str
    server: str
    server_port: int  # 69 for TFTP requests, 6970 for HTTP
    filename: str  # as requested (path and query stripped for HTTP)
    # complete_gaps: the client ACKed every block but the capture lacks some (DESIGN §4
    # rule 4): complete for the phone, its bytes incomplete here (not parsed)
    status: Literal["complete", "complete_gaps", "error", "incomplete", "no_response"]
    request_frames: tuple[int, ...]
    frames: tuple[int, ...]  # every frame of the transfer
    first_ts: int
    last_ts: int
    data: bytes | None = None  # reassembled body when complete (or what was seen)
    size: int = 0
    error_code: int | None = None  # TFTP ERROR code
    error_message: str = ""
    http_status: int | None = None
    options: tuple[tuple[str, str], ...] = ()  # negotiated TFTP options (OACK)
    client_port: int = 0
    data_port: int = 0  # TFTP server transfer ID
    note: str = ""  # e.g. "duplicate blocks 3", "block wrap"
    acked_unseen_blocks: int = 0  # client ACKed DATA blocks never captured
    unseen_blocks: tuple[int, ...] = ()  # their (absolute) block numbers, listed up to a cap
    unseen_ack_frames: tuple[int, ...] = ()  # the client's ACKs that acknowledge them
    acked_cut_blocks: int = 0  # client ACKed DATA blocks captured cut short (snap length)


@dataclass(frozen=True)
class CertInfo:
    """An X.509 certificate reduced to what findings need (built with `cryptography`)."""

    der_sha256: str
    der_sha1: str
    subject: str
    issuer: str
    serial: str  # hex
    not_before: int  # ns
    not_after: int  # ns
    key_type: str  # "RSA", "EC", ...
    key_bits: int
    is_ca: bool | None  # BasicConstraints CA, None when the extension is absent
    key_cert_sign: bool | None  # KeyUsage keyCertSign, None when absent
    der: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class TrustRecord:
    """One ITL/CTL record."""

    index: int
    role: int  # function code: 0 SAST, 1 CCM, 2 CCM+TFTP, 3 TFTP, 4 CAPF, 7 APP-SERVER, 21 TVS
    role_name: str
    subject: str
    issuer: str
    serial: str
    dns_name: str = ""
    ip_address: str = ""
    cert: CertInfo | None = None
    cert_hash: str = ""  # tag 11, hex
    offset: int = 0
    note: str = ""  # e.g. why the certificate could not be read


@dataclass(frozen=True)
class TrustList:
    """A parsed ITL/CTL file (or the header of a signed .sgn file)."""

    kind: Literal["ITL", "CTL", "SGN"]
    filename: str  # FILENAME tag
    version: str
    signer_version: str  # tag 28, "" when absent
    signer: str
    signer_serial: str
    issuer: str
    hash_algorithm: str  # "SHA-1", "SHA-256", "SHA-512", "unknown(n)"
    signature_status: Literal["valid", "invalid", "unverifiable", "unsupported"]
    signature_note: str
    timestamp: int | None  # ns
    records: tuple[TrustRecord, ...]
    md5: str
    sha1: str
    sha256: str
    size: int
    unknown_tags: tuple[tuple[int, int], ...] = ()  # (tag, offset)

    def capf_records(self) -> tuple[TrustRecord, ...]:
        return tuple(r for r in self.records if r.role == 4)


@dataclass(frozen=True)
class TrustListSeen:
    """A trust list downloaded by a phone, parsed (or not)."""

    transfer: FileTransfer
    trust_list: TrustList | None
    error: str = ""  # parse error, with byte offset
    error_offset: int | None = None


@dataclass(frozen=True)
class PhoneConfig:
    """Fields of SEP<MAC>.cnf.xml(.sgn) that matter for CAPF."""

    device: str  # SEPxxxxxxxxxxxx from the file name
    capf_auth_mode: int | None
    capf_servers: tuple[tuple[str, int], ...]  # (processNodeName, phonePort)
    tvs_servers: tuple[tuple[str, int], ...]
    callmanagers: tuple[str, ...]
    device_security_mode: int | None
    load_information: str
    signer: str = ""  # for .sgn: header signer
    observable: bool = True  # False for .enc.sgn / HTTPS config
    note: str = ""
    # capfList as written: "absent" (no element), "no_entry" (no <capf> in it), "blank"
    # (<capf> entries, every processNodeName empty), "ok"; "" = not read (built elsewhere)
    capf_list: str = ""


@dataclass(frozen=True)
class ConfigSeen:
    transfer: FileTransfer
    config: PhoneConfig | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class TlsAlert:
    frame: int
    ts: int
    sender: Literal["client", "server"]
    level: int  # 1 warning, 2 fatal; 0 when encrypted/unknown
    description: int  # RFC 8446 §6 / RFC 5246 §7.2 code, -1 when encrypted
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class TlsRecordInfo:
    frame: int
    ts: int
    direction: Direction
    content_type: int  # 23 application_data ...
    length: int  # record length field


@dataclass(frozen=True, slots=True)
class TlsHole:
    """A hole in one direction's TLS stream (a `TcpHole`) and how the record parser crossed
    it: the records it broke are lost (at least `records_lost`: whole records inside the
    hole cannot be counted), and parsing went on at the first record boundary it could
    prove (`resync_frame`; None: none was found). `dialogue`: application records may be
    among the lost ones (the hole is not wholly inside the plaintext handshake)."""

    direction: Direction
    frame: int  # the first frame after the hole
    missing: int  # bytes the capture lacks
    skipped: int  # captured bytes after the hole passed over to reach a record boundary
    records_lost: int
    resync_frame: int | None
    dialogue: bool


@dataclass(frozen=True, slots=True)
class CapfMessage:
    """A decrypted CAPF message (header 0x55, command, session id, length, elements)."""

    frame: int
    ts: int
    direction: Direction
    command: int
    command_name: str
    session_id: int
    length: int
    elements: tuple[tuple[str, str], ...]  # (element name, rendered value); secrets masked


@dataclass(frozen=True)
class TlsSession:
    """TLS metadata of one TCP connection on a TLS port (3804, 2445, 6971, ...)."""

    key: FlowKey
    frames: tuple[int, ...]
    first_ts: int
    last_ts: int
    client_hello_frame: int | None = None
    client_version: int | None = None  # legacy_version in ClientHello
    offered_versions: tuple[int, ...] = ()  # supported_versions ext, or (client_version,)
    client_hello_sslv2: bool = False  # SSLv2-compatible ClientHello (RFC 5246 Appendix E.2)
    sni: str = ""
    server_hello_frame: int | None = None
    version: int | None = None  # negotiated
    cipher: int | None = None
    cert_frame: int | None = None
    server_certs: tuple[CertInfo, ...] = ()  # leaf first; empty for TLS 1.3
    cert_request: bool = False
    client_certs: tuple[CertInfo, ...] = ()
    client_cert_frame: int | None = None  # the client's Certificate message (or its record)
    alerts: tuple[TlsAlert, ...] = ()
    close_notify: bool = False
    handshake_done: bool = False  # ChangeCipherSpec/Finished both ways, or app data both ways
    # (direction, frame, ts) of each side's first ChangeCipherSpec record (RFC 5246 §7.1)
    ccs_frames: tuple[tuple[Direction, int, int], ...] = ()
    records: tuple[TlsRecordInfo, ...] = ()  # application_data records, in order
    capf_messages: tuple[CapfMessage, ...] = ()  # with --keylog
    decrypted: bool = False
    not_tls: bool = False  # first client bytes are not a TLS record
    note: str = ""
    holes: tuple[TlsHole, ...] = ()  # capture holes the record parser crossed


ORDER_NOTE = "out_of_order"  # the CaptureNote of a capture out of time order
# Time order. Frames are read in file order (as Wireshark reads them). A frame older than
# the newest analysed frame before it by more than ORDER_SLACK_NS is out of time order: past
# the few milliseconds by which multi-queue NICs and a capture's per-interface buffers
# reorder frames of different flows. Request and answer, data and ACK, are a round trip
# apart (well under a millisecond on a LAN), so frames going back further can put answers
# before their questions: from ORDER_MIN_FRAMES such frames (TCP's own count for telling
# loss from reordering, RFC 5681 §3.2: three duplicate ACKs) the capture is noted as out
# of time order (pipeline), and the verdicts that rest on the order are withheld for each
# phone with that many of its own frames out of order (correlator/engine, evidence).
ORDER_SLACK_NS = 10_000_000
ORDER_MIN_FRAMES = 3


@dataclass(frozen=True)
class CaptureNote:
    """Something about the capture itself (truncation, bad checksums, drops, frames out of
    time order: kind ORDER_NOTE)."""

    kind: str  # "truncated", "bad_checksums", "duplicates", "kernel_drops", ...
    message: str
    frames: tuple[int, ...] = ()
    count: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


Event = (
    HostSeen
    | LinkReached
    | DnsTransaction
    | TcpConnection
    | IcmpError
    | UdpFlow
    | FileTransfer
    | TrustListSeen
    | ConfigSeen
    | TlsSession
    | CaptureNote
)
