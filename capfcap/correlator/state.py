"""Per-phone state built from events alone (no scapy, no packets)."""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from capfcap.correlator.ports import (
    GivenPorts,
    phone_ports,
    spotting_ports,
)
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


def is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


@dataclass
class PhoneState:
    ip: str
    first_frame: int
    mac: str = ""
    device: str = ""
    reason: str = ""
    addrs: set[str] = field(default_factory=set)  # every address of this phone (v4 + v6)
    dns: list[DnsTransaction] = field(default_factory=list)
    conns: list[TcpConnection] = field(default_factory=list)
    transfers: list[FileTransfer] = field(default_factory=list)
    trust_lists: list[TrustListSeen] = field(default_factory=list)
    configs: list[ConfigSeen] = field(default_factory=list)
    tls: list[TlsSession] = field(default_factory=list)
    icmp: list[IcmpError] = field(default_factory=list)
    udp: list[UdpFlow] = field(default_factory=list)
    capf_ports: frozenset[int] = frozenset({CAPF_PORT})  # correlator/ports.py
    tvs_ports: frozenset[int] = frozenset({TVS_PORT})


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
    macs: dict[str, set[str]] = field(default_factory=dict)  # ip -> source MACs
    ip_of_mac: dict[str, set[str]] = field(default_factory=dict)
    # DNS of hosts not (yet) known as phones is kept only in summary form, plus the most
    # recent transactions in case their client turns out to be a phone: memory stays
    # bounded on a busy SPAN (DNS noise is most of what passes the prefilter).
    other_dns: deque[DnsTransaction] = field(default_factory=lambda: deque(maxlen=OTHER_DNS))
    answers: dict[str, set[str]] = field(default_factory=dict)  # qname -> addresses seen
    dns_heard: set[str] = field(default_factory=set)  # clients that got an answer
    dns_spoke: set[str] = field(default_factory=set)  # clients that asked, servers that answered
    known_phones: set[str] = field(default_factory=set)
    link_reached: dict[str, LinkReached] = field(default_factory=dict)  # MAC -> first reply
    given: GivenPorts = field(default_factory=GivenPorts)
    spot_ports: frozenset[int] = frozenset()  # CAPF/TVS ports known so far (ports.py)

    def __post_init__(self) -> None:
        self.spot_ports = spotting_ports((), self.given)

    def add(self, ev: Event) -> None:
        if isinstance(ev, HostSeen):
            self.macs.setdefault(ev.ip, set()).add(ev.mac)
            self.ip_of_mac.setdefault(ev.mac, set()).add(ev.ip)
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
        mine = [d for d in self.other_dns if d.client == ip]
        if mine:
            self.dns.extend(mine)
            self.dns.sort(key=lambda d: d.query_frames[0])
            keep = [d for d in self.other_dns if d.client != ip]
            self.other_dns.clear()
            self.other_dns.extend(keep)

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
                get(c.key.client, c.frames[0], f"TCP {c.key.server_port}")
            elif c.key.server_port in spot:
                get(c.key.client, c.frames[0], f"TCP {c.key.server_port} (server side)")
        for ip, p in phones.items():
            p.addrs.add(ip)
            if not p.mac:
                macs = self.macs.get(ip, set())
                # a MAC shared with non-phone addresses is a router's, not the phone's
                own = [m for m in macs if self._own_mac(m, phones)]
                if len(own) == 1:
                    p.mac = own[0]
        phones = self._merge_dual_stack(phones)
        owner = {a: p for p in phones.values() for a in p.addrs}
        for t in self.transfers:
            if t.client in owner:
                owner[t.client].transfers.append(t)
        for tl in self.trust_lists:
            if tl.transfer.client in owner:
                owner[tl.transfer.client].trust_lists.append(tl)
        for cf in self.configs:
            if cf.transfer.client in owner:
                owner[cf.transfer.client].configs.append(cf)
        for d in sorted([*self.dns, *self.other_dns], key=lambda d: d.query_frames[0]):
            if d.client in owner:
                owner[d.client].dns.append(d)
        for c in self.conns:
            if c.key.client in owner:
                owner[c.key.client].conns.append(c)
            elif c.key.server in owner:
                owner[c.key.server].conns.append(c)
        for u in self.udp:
            if u.key.client in owner:
                owner[u.key.client].udp.append(u)
            elif u.key.server in owner:
                owner[u.key.server].udp.append(u)
        for s in self.tls:
            if s.key.client in owner:
                owner[s.key.client].tls.append(s)
        for i in self.icmp:
            if i.quoted.client in owner:
                owner[i.quoted.client].icmp.append(i)
        for p in phones.values():
            p.capf_ports, p.tvs_ports = phone_ports(p.configs, self.configs, self.given)
        return phones

    def _own_mac(self, mac: str, phones: dict[str, PhoneState]) -> bool:
        others = [a for a in self.ip_of_mac.get(mac, ()) if a not in phones
                  and not a.lower().startswith("fe80:")]
        return not others

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
            for m in self.macs.get(ip, ()):
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
                keep.addrs |= other.addrs
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
