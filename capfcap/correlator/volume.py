"""Hostile volume: a port sweep or a SYN flood on the CAPF/TVS ports, told in one
capture-level line each; its sources are not judged as phones (issue 20).

What tells them from a real mass outage, where thousands of phones fail at once:
- A real phone speaks TCP. An unanswered SYN is retransmitted after the retransmission
  timeout (RFC 6298 §2: 1 s; RFC 1122 §4.2.3.1: 3 s), a SYN-ACK is acknowledged (RFC 9293
  §3.5). A source that sent one SYN and nothing else, although the capture went on past
  the timeout or the server answered it with a SYN-ACK, is no TCP client: a spoofed source
  (SYN flood). A source answered with a RST or an ICMP error is never counted: a real
  phone refused by a stopped CAPF also stops there.
- A real phone has other conversations (TFTP, DNS, HTTP 6970): a source seen in any is
  never counted as a flood source.
- A real phone talks to its CAPF server and the TVS members of its config (a handful of
  hosts); one source opening the CAPF/TVS ports on SWEEP_HOSTS or more hosts is a sweep,
  unless it asked for a phone's files (ITL/CTL/SEP*) itself.
A flood is declared only where FLOOD_MIN or more such proven sources hit one server port;
the sources there that sent their one SYN too close to the end of the capture to be proven
go with them. Counters are updated per event (O(1)); the judgement is one pass over the
sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from capfcap.correlator.evidence import TCP_WAIT
from capfcap.correlator.state import phone_file
from capfcap.events import (
    DnsTransaction,
    Event,
    FileTransfer,
    IcmpError,
    TcpConnection,
    UdpFlow,
)

SWEEP_HOSTS = 16  # distinct hosts one source opened CAPF/TVS ports on: a sweep
FLOOD_MIN = 50  # proven single-SYN sources at one server port: a flood
MAX_NOTES = 6  # lines told; more sweeps or floods are summed up in one more line


@dataclass(slots=True)
class _Source:
    """One host's connections to the CAPF/TVS ports, as counters."""

    conns: int = 0
    syns: int = 0
    sent_more: bool = False  # any packet besides its SYNs (handshake ACK, data, RST)
    synack: bool = False  # a server answered with SYN-ACK
    refused: bool = False  # a server answered with RST
    last_syn: int = 0  # ns
    dest: tuple[str, int] = ("", 0)  # its first server and port
    hosts: set[str] | None = None  # distinct servers, once there is more than one
    ports: frozenset[int] = frozenset()  # shared between sources (Volume.port_sets)


@dataclass
class Verdict:
    sources: set[str] = field(default_factory=set)  # not judged as phones
    notes: list[str] = field(default_factory=list)


class Volume:
    def __init__(self) -> None:
        self.sources: dict[str, _Source] = {}
        self.talkers: set[str] = set()  # hosts seen in any other conversation
        self.file_askers: set[str] = set()  # hosts that requested a phone's files
        self.last_ts = 0
        self.port_sets: dict[frozenset[int], frozenset[int]] = {}  # one object per set
        self.dests: dict[tuple[str, int], tuple[str, int]] = {}  # one object per server port

    def add(self, ev: Event, service_ports: frozenset[int]) -> None:
        kind = type(ev)  # exact types: one comparison each for the many HostSeen events
        if kind is TcpConnection:
            c = cast(TcpConnection, ev)
            self.last_ts = max(self.last_ts, c.last_ts)
            if c.key.server_port in service_ports and not c.flipped:
                self._service(c)
            else:
                self.talkers.add(c.key.client)
        elif kind is DnsTransaction:
            self.talkers.add(cast(DnsTransaction, ev).client)
        elif kind is FileTransfer:
            t = cast(FileTransfer, ev)
            self.talkers.add(t.client)
            if phone_file(t.filename):
                self.file_askers.add(t.client)
        elif kind is UdpFlow:
            self.talkers.add(cast(UdpFlow, ev).key.client)
        elif kind is IcmpError:  # answered by an ICMP error: it need not retransmit
            self.talkers.add(cast(IcmpError, ev).quoted.client)

    def _service(self, c: TcpConnection) -> None:
        s = self.sources.get(c.key.client)
        if s is None:
            dest = (c.key.server, c.key.server_port)
            dest = self.dests.setdefault(dest, dest)  # thousands of phones, one CAPF
            s = self.sources[c.key.client] = _Source(dest=dest)
        s.conns += 1
        s.syns += len(c.syn_frames)
        s.sent_more = s.sent_more or c.orig_pkts > len(c.syn_frames)
        s.synack = s.synack or bool(c.synack_frames)
        s.refused = s.refused or c.rst_from == "server"
        s.last_syn = max(s.last_syn, c.first_ts)
        if c.key.server_port not in s.ports:
            ports = s.ports | {c.key.server_port}
            s.ports = self.port_sets.setdefault(ports, ports)
        if s.hosts is not None:
            s.hosts.add(c.key.server)
        elif c.key.server != s.dest[0]:
            s.hosts = {s.dest[0], c.key.server}

    def judge(self, end_ts: int | None) -> Verdict:
        """The sources not to judge as phones, and one line for each sweep and flood."""
        end = end_ts if end_ts is not None else self.last_ts
        out = Verdict()
        lines: list[tuple[int, str]] = []
        proven: dict[tuple[str, int], list[str]] = {}
        pending: dict[tuple[str, int], list[str]] = {}
        for ip, s in self.sources.items():
            if s.hosts is not None and len(s.hosts) >= SWEEP_HOSTS:
                if ip not in self.file_askers:
                    out.sources.add(ip)
                    lines.append((len(s.hosts), _sweep_line(ip, s)))
            elif (s.conns == 1 and s.syns == 1 and not s.sent_more and not s.refused
                  and ip not in self.talkers):
                unproven = not s.synack and end - s.last_syn < TCP_WAIT
                (pending if unproven else proven).setdefault(s.dest, []).append(ip)
        for dest, ips in proven.items():
            if len(ips) < FLOOD_MIN:
                continue
            late = pending.get(dest, [])
            out.sources.update(ips, late)
            lines.append((len(ips) + len(late), _flood_line(dest, len(ips) + len(late))))
        lines.sort(key=lambda x: (-x[0], x[1]))
        out.notes = [t for _n, t in lines[:MAX_NOTES]]
        if len(lines) > MAX_NOTES:
            out.notes.append(f"{len(lines) - MAX_NOTES} more port sweeps or SYN floods "
                             "on the CAPF/TVS ports; their sources not judged as phones")
        return out


def _sweep_line(ip: str, s: _Source) -> str:
    ports = ", ".join(map(str, sorted(s.ports)))
    n = len(s.hosts or ())
    return (f"port sweep: {ip} sent SYNs to TCP {ports} on {n:,} hosts; not judged as a "
            "phone")


def _flood_line(dest: tuple[str, int], n: int) -> str:
    host = f"[{dest[0]}]" if ":" in dest[0] else dest[0]
    return (f"SYN flood: {n:,} sources sent one SYN each to {host}:{dest[1]}, with no other "
            "traffic, and never completed a handshake nor retransmitted as a TCP client "
            "does; not judged as phones")
