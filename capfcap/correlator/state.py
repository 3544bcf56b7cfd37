"""Per-phone state built from events alone (no scapy, no packets)."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from capfcap.correlator.ports import (
    GivenPorts,
    config_ports,
    phone_ports,
    spotting_ports,
)
from capfcap.correlator.recentdns import RecentDns
from capfcap.correlator.transfers import answered
from capfcap.events import (
    CaptureNote,
    ConfigSeen,
    DnsTransaction,
    Event,
    FileTransfer,
    HostSeen,
    IcmpError,
    LinkReached,
    TcpConnection,
    TlsSession,
    TrustListSeen,
    UdpFlow,
)
from capfcap.filenames import mac_colon, phone_file
from capfcap.protocol import CAPF_PORT, HTTP_CONFIG_PORT, TVS_PORT

OTHER_DNS = 4096  # recent DNS transactions of hosts not known as phones
MAX_NAMES = 65536  # distinct answered names remembered
MAX_TTL_HOSTS = 4096  # hosts whose first TTL is kept (rules_conn: a RST forged on the path)


def is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def _put(d: dict[str, str | set[str]], key: str, value: str) -> None:
    have = d.get(key)
    if have is None:
        d[key] = value
    elif isinstance(have, set):
        have.add(value)
    elif have != value:
        d[key] = {have, value}


def _all(d: dict[str, str | set[str]], key: str) -> set[str] | tuple[str, ...]:
    have = d.get(key)
    if have is None:
        return ()
    return have if isinstance(have, set) else (have,)


@dataclass(slots=True)
class PhoneState:
    """One phone and its events. Empty kinds share one empty tuple, each kind seen is a
    tuple of the phone's own (a capture of 100,000 phones holds 100,000 of these at once
    while the rules run)."""

    ip: str
    first_frame: int
    mac: str = ""
    device: str = ""
    reason: str = ""
    # every address of this phone (v4 + v6): a tuple, as nearly every phone has one (a
    # set costs 216 bytes)
    addrs: Collection[str] = ()
    dns: Sequence[DnsTransaction] = ()
    conns: Sequence[TcpConnection] = ()
    transfers: Sequence[FileTransfer] = ()
    trust_lists: Sequence[TrustListSeen] = ()
    configs: Sequence[ConfigSeen] = ()
    tls: Sequence[TlsSession] = ()
    icmp: Sequence[IcmpError] = ()
    udp: Sequence[UdpFlow] = ()
    capf_ports: frozenset[int] = frozenset({CAPF_PORT})  # correlator/ports.py
    tvs_ports: frozenset[int] = frozenset({TVS_PORT})


def _deal(owner: dict[str, PhoneState], kind: str, items: Iterable[tuple[str, Any]]) -> None:
    """Give each phone its events of one kind (in capture order), as one tuple. `owner`:
    each address of a phone -> the phone (its own IP among them)."""
    got: dict[str, list[Any]] = {}
    for addr, ev in items:
        p = owner.get(addr)
        if p is not None:
            got.setdefault(p.ip, []).append(ev)
    for ip, evs in got.items():
        setattr(owner[ip], kind, tuple(evs))


@dataclass
class State:
    """Everything the rules read. Events are kept until the phones are known."""

    dns: list[DnsTransaction] = field(default_factory=list)
    conns: list[TcpConnection] = field(default_factory=list)
    transfers: list[FileTransfer] = field(default_factory=list)
    trust_lists: list[TrustListSeen] = field(default_factory=list)
    configs: list[ConfigSeen] = field(default_factory=list)
    tls: list[TlsSession] = field(default_factory=list)
    icmp: list[IcmpError] = field(default_factory=list)
    notes: list[CaptureNote] = field(default_factory=list)
    udp: list[UdpFlow] = field(default_factory=list)
    # ip -> source MACs, MAC -> IPs: one string while there is one (nearly every host), a
    # set after (a set costs 216 bytes, a hundred thousand phones have two entries each)
    macs: dict[str, str | set[str]] = field(default_factory=dict)
    ip_of_mac: dict[str, str | set[str]] = field(default_factory=dict)
    # ip -> (TTL, frame) of its first packet, for the first MAX_TTL_HOSTS hosts: the
    # servers answer the first phones, and 100,000 phones must not cost 10 MB for it
    first_ttl: dict[str, tuple[int, int]] = field(default_factory=dict)
    # DNS of hosts not (yet) known as phones is kept only in summary form, plus the most
    # recent transactions in case their client turns out to be a phone: memory stays
    # bounded on a busy SPAN (DNS noise is most of what passes the prefilter).
    other_dns: RecentDns = field(default_factory=lambda: RecentDns(OTHER_DNS))
    answers: dict[str, set[str]] = field(default_factory=dict)  # qname -> addresses seen
    dns_heard: set[str] = field(default_factory=set)  # clients that got an answer
    dns_spoke: set[str] = field(default_factory=set)  # clients that asked, servers that answered
    known_phones: set[str] = field(default_factory=set)
    link_reached: dict[str, LinkReached] = field(default_factory=dict)  # MAC -> first reply
    given: GivenPorts = field(default_factory=GivenPorts)
    spot_ports: frozenset[int] = frozenset()  # CAPF/TVS ports known so far (ports.py)

    def __post_init__(self) -> None:
        self.spot_ports = spotting_ports((), self.given)

    def drop_events(self) -> None:
        """Let go of the event lists (the phones dealt from them keep their own)."""
        self.dns, self.conns, self.transfers, self.trust_lists = [], [], [], []
        self.configs, self.tls, self.icmp, self.udp = [], [], [], []
        self.other_dns = RecentDns(OTHER_DNS)

    def add(self, ev: Event) -> None:
        if isinstance(ev, HostSeen):
            _put(self.macs, ev.ip, ev.mac)
            _put(self.ip_of_mac, ev.mac, ev.ip)
            if ev.ttl and len(self.first_ttl) < MAX_TTL_HOSTS:
                self.first_ttl.setdefault(ev.ip, (ev.ttl, ev.frame))
            return
        if isinstance(ev, DnsTransaction):
            self._dns(ev)
            return
        if isinstance(ev, LinkReached):
            self.link_reached.setdefault(ev.mac, ev)
            return
        if isinstance(ev, FileTransfer) and phone_file(ev.filename):
            self._phone(ev.client)
        elif isinstance(ev, TcpConnection) and ev.key.server_port in self.spot_ports:
            self._phone(ev.key.client)
        elif isinstance(ev, ConfigSeen):
            self.spot_ports = self.spot_ports | spotting_ports((ev,), self.given)
        lists: dict[type, list[Any]] = {
            TcpConnection: self.conns, FileTransfer: self.transfers,
            TrustListSeen: self.trust_lists, ConfigSeen: self.configs, TlsSession: self.tls,
            IcmpError: self.icmp, UdpFlow: self.udp, CaptureNote: self.notes,
        }
        lists[type(ev)].append(ev)

    def _dns(self, d: DnsTransaction) -> None:
        self.dns_spoke.add(d.client)
        if d.answered:
            self.dns_heard.add(d.client)
            self.dns_spoke.add(d.server)
        if d.addresses and (d.qname in self.answers or len(self.answers) < MAX_NAMES):
            self.answers.setdefault(d.qname, set()).update(d.addresses)
        if d.client in self.known_phones:
            self.dns.append(d)
        else:
            self.other_dns.append(d)

    def _phone(self, ip: str) -> None:
        if ip in self.known_phones:
            return
        self.known_phones.add(ip)
        self.dns.extend(self.other_dns.take(ip))  # phones() puts them in capture order

    # -- phones ---------------------------------------------------------------------
    def phones(self) -> dict[str, PhoneState]:
        """A host is a phone when it requests SEP*/ITL*/CTL* files or connects to a CAPF
        or TVS port (the defaults, any port a captured config names, the given ones)."""
        phones: dict[str, PhoneState] = {}
        spot = spotting_ports(self.configs, self.given)

        def get(ip: str, frame: int, reason: str) -> PhoneState:
            p = phones.get(ip)
            if p is None:
                p = phones[ip] = PhoneState(ip, frame, reason=reason)
            elif frame < p.first_frame:
                p.first_frame = frame
            return p

        for t in self.transfers:
            pf = phone_file(t.filename)
            if pf is None:
                continue
            p = get(t.client, t.request_frames[0] if t.request_frames else 0, "file request")
            kind, mac = pf
            if mac and not p.device:
                p.device = "SEP" + mac
                p.mac = mac_colon(mac)
        for c in self.conns:
            if c.key.server_port in spot and not c.flipped:
                get(c.key.client, c.frames[0], sys.intern(f"TCP {c.key.server_port}"))
            elif c.key.server_port in spot:
                get(c.key.client, c.frames[0],
                    sys.intern(f"TCP {c.key.server_port} (server side)"))
        for ip, p in phones.items():
            if ip not in p.addrs:
                p.addrs = (*p.addrs, ip)
            if not p.mac:
                macs = _all(self.macs, ip)
                # a MAC shared with non-phone addresses is a router's, not the phone's
                own = [m for m in macs if self._own_mac(m, phones)]
                if len(own) == 1:
                    p.mac = own[0]
        phones = self._merge_dual_stack(phones)
        self._deal_events(phones)
        return phones

    def _deal_events(self, phones: dict[str, PhoneState]) -> None:
        """Give each phone its events (by any of its addresses) and its CAPF/TVS ports."""
        owner = {a: p for p in phones.values() for a in p.addrs}
        _deal(owner, "transfers", ((t.client, t) for t in self.transfers))
        _deal(owner, "trust_lists", ((tl.transfer.client, tl) for tl in self.trust_lists))
        _deal(owner, "configs", ((cf.transfer.client, cf) for cf in self.configs))
        _deal(owner, "dns", ((d.client, d) for d in sorted(
            [*self.dns, *self.other_dns], key=lambda d: d.query_frames[0])))
        _deal(owner, "conns", ((c.key.client if c.key.client in owner else c.key.server, c)
                               for c in self.conns))
        _deal(owner, "udp", ((u.key.client if u.key.client in owner else u.key.server, u)
                             for u in self.udp))
        _deal(owner, "tls", ((x.key.client, x) for x in self.tls))
        _deal(owner, "icmp", ((i.quoted.client, i) for i in self.icmp))
        every: list[tuple[frozenset[int], frozenset[int]]] = []

        def every_ports() -> tuple[frozenset[int], frozenset[int]]:
            if not every:
                every.append(config_ports(self.configs))
            return every[0]

        for p in phones.values():
            p.capf_ports, p.tvs_ports = phone_ports(p.configs, every_ports, self.given)

    def _own_mac(self, mac: str, phones: dict[str, PhoneState]) -> bool:
        """Whether `mac` is one host's own: not shared with a non-phone address, and not
        the source of two addresses of one family (phones behind a router, captured on its
        uplink, all carry the router's MAC; one phone has one IPv4 and one IPv6 address)."""
        addrs = _all(self.ip_of_mac, mac)
        others = [a for a in addrs if a not in phones and not a.lower().startswith("fe80:")]
        v4 = sum(1 for a in addrs if ":" not in a and a != "0.0.0.0")
        v6 = sum(1 for a in addrs if ":" in a and not a.lower().startswith("fe80:"))
        return not others and v4 < 2 and v6 < 2

    def _merge_dual_stack(self, phones: dict[str, PhoneState]) -> dict[str, PhoneState]:
        """One phone seen with an IPv4 and an IPv6 address (same own MAC) is one phone."""
        by_mac: dict[str, list[PhoneState]] = {}
        for p in phones.values():
            if p.mac:
                by_mac.setdefault(p.mac, []).append(p)
        for ip in list(phones):
            p = phones[ip]
            if p.mac:
                continue
            for m in _all(self.macs, ip):
                if m in by_mac and self._own_mac(m, phones):
                    by_mac[m].append(p)
                    break
        out = dict(phones)
        for group in by_mac.values():
            if len(group) < 2:
                continue
            group.sort(key=lambda x: (not x.device, x.first_frame))
            keep = group[0]
            for other in group[1:]:
                keep.addrs = tuple(sorted({*keep.addrs, *other.addrs}))
                keep.first_frame = min(keep.first_frame, other.first_frame)
                out.pop(other.ip, None)
        return out

    # -- servers and names --------------------------------------------------------------
    def server_ips(self) -> set[str]:
        """Hosts seen serving CAPF, TVS, TFTP or HTTP 6970 (answered the phone)."""
        out: set[str] = set()
        ports = spotting_ports(self.configs, self.given) | {HTTP_CONFIG_PORT}
        for c in self.conns:
            if c.key.server_port in ports and c.resp_pkts:
                out.add(c.key.server)
        for t in self.transfers:
            if answered(t):
                out.add(t.server)
        return out
