"""Live capture from a Linux interface (a SPAN destination port) with a kernel filter.

An AF_PACKET socket (packet(7)) bound to one interface, in promiscuous mode, with a
classic BPF program attached (SO_ATTACH_FILTER, socket(7)) so the kernel hands over only
frames capfcap can use. The program is compiled by `tcpdump -ddd` (libpcap's compiler;
no interface is opened for that). Timestamps come from SO_TIMESTAMPNS (the kernel's
receive time, CLOCK_REALTIME, in ns); VLAN tags the kernel moved into metadata are put
back from PACKET_AUXDATA (struct tpacket_auxdata) as libpcap does, so frames look like a
tcpdump capture of the same port. Drops are read from PACKET_STATISTICS (struct
tpacket_stats; the kernel resets it on each read).

The kernel filter is a superset of what `decode.Prefilter` keeps, so the prefilter makes
the same decisions live as offline:

* TCP and UDP on the prefilter's ports (DNS 53, TFTP 69, 2443, 2444, 2445, 3804,
  5061, 6970-6972, and those given with --capf-port/--tvs-port);
* TFTP packets on any port: the server answers from an ephemeral port to the phone's
  ephemeral port, so ports cannot be known in advance. A TFTP packet starts with a
  2-byte opcode 1..6 (RFC 1350, RFC 2347 OACK), i.e. first payload byte 0, while RTP
  (the bulk of a voice SPAN) starts with 0x80 (RFC 3550 version 2), so `udp[8] = 0 and
  udp[9] <= 6` keeps TFTP and drops RTP. IPv6 uses fixed offsets (ip6[48], no extension
  headers) because libpcap cannot index `udp[]` over IPv6;
* ICMP (types 3, 4, 5, 11, 12) and ICMPv6 (types 1-4) errors, which quote the packet
  they answer;
* ARP replies (operation 2, RFC 826), which prove that frames towards a phone are
  captured when nothing answers it at the IP layer (DESIGN §4 rule 2);
* every packet to or from a phone once capfcap has spotted it (the prefilter keeps a
  phone's other conversations for the capture-quality checks): the program is recompiled
  and swapped in (atomically) when a phone is spotted, up to MAX_FILTER_HOSTS phones.
  Packets of that phone in the few milliseconds before the swap are not captured.

`--bpf EXPR` is ANDed: `(EXPR) and (capfcap's filter)` (EXPR first, because libpcap's
`vlan` keyword shifts the offsets of everything after it). EXPR sees frames as the kernel
hands them over: Linux has already removed the outer 802.1Q tag, so `vlan N` in EXPR
matches nothing on most interfaces.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterable

from capfcap.sources.frame import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35  # also SCM_TIMESTAMPNS
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772

SNAPLEN = 262144  # libpcap's default; GRO/GSO frames on veth and bridges can reach 64 KiB
RCVBUF = 16 << 20
MAX_FILTER_HOSTS = 100  # BPF programs are limited to 4096 instructions (BPF_MAXINSNS)
BPF_MAXINSNS = 4096
_AUX = struct.Struct("=IIIHHHH")  # tp_status tp_len tp_snaplen tp_mac tp_net tci tpid
_TIMESPEC = struct.Struct("=qq")
_INSN = struct.Struct("=HBBI")  # struct sock_filter: code jt jf k


class LiveError(Exception):
    """Capture cannot start or continue. `kind`: interface, privilege, filter, tool,
    capture."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def capture_filter(
    tcp_ports: Iterable[int],
    udp_ports: Iterable[int],
    hosts: Iterable[str] = (),
    extra: str | None = None,
    ethernet: bool = True,
) -> str:
    """The libpcap expression for the kernel filter (see the module docstring)."""
    parts = [f"tcp port {p}" for p in sorted(set(tcp_ports))]
    parts += [f"udp port {p}" for p in sorted(set(udp_ports))]
    parts.append("(ip and udp and udp[8] = 0 and udp[9] >= 1 and udp[9] <= 6)")
    parts.append("(ip6 and ip6[6] = 17 and ip6[48] = 0 and ip6[49] >= 1 and ip6[49] <= 6)")
    parts.append("(icmp and (icmp[0] = 3 or icmp[0] = 4 or icmp[0] = 5 or icmp[0] = 11"
                 " or icmp[0] = 12))")
    parts.append("(ip6 and ip6[6] = 58 and ip6[40] >= 1 and ip6[40] <= 4)")
    if ethernet:  # ARP replies (RFC 826 operation 2): proof of a phone's receive direction
        parts.append("(arp and arp[6:2] = 2)")
    parts += [f"{'ip6' if ':' in h else 'ip'} host {h}"
              for h in sorted(set(hosts))[:MAX_FILTER_HOSTS]]
    core = " or ".join(parts)
    # 802.1Q: Linux moves the outer tag into metadata before packet sockets see the frame,
    # so `core` matches singly tagged frames; the `vlan` branch catches an inner tag.
    expr = f"({core}) or (vlan and ({core}))" if ethernet else core
    if extra and extra.strip():
        # first: libpcap's `vlan` shifts the offsets of everything after it
        expr = f"({extra}) and ({expr})"
    return expr


def compile_filter(expr: str, ethernet: bool = True) -> list[tuple[int, int, int, int]]:
    """Compile with `tcpdump -ddd` (no device is opened: `-y` names the link type)."""
    tcpdump = shutil.which("tcpdump") or next(
        (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if os.path.exists(p)), None)
    if tcpdump is None:
        raise LiveError("tcpdump is needed to compile the capture filter "
                        "(apt-get install tcpdump)", "tool")
    try:
        r = subprocess.run(
            [tcpdump, "-ddd", "-y", "EN10MB" if ethernet else "RAW", expr],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LiveError(f"cannot run tcpdump to compile the capture filter: {e}", "tool") from None
    if r.returncode != 0:
        msg = [ln for ln in r.stderr.splitlines() if ln.strip() and "Warning" not in ln]
        why = msg[-1].removeprefix("tcpdump: ") if msg else f"tcpdump exit {r.returncode}"
        raise LiveError(f"capture filter does not compile: {why}", "filter")
    lines = r.stdout.split()
    try:
        n = int(lines[0])
        vals = [int(x) for x in lines[1 : 1 + 4 * n]]
    except (IndexError, ValueError):
        raise LiveError("tcpdump -ddd gave no program", "tool") from None
    if n < 1 or n > BPF_MAXINSNS or len(vals) != 4 * n:
        raise LiveError(f"capture filter compiles to {n} instructions (limit "
                        f"{BPF_MAXINSNS})", "filter")
    return [(vals[i], vals[i + 1], vals[i + 2], vals[i + 3]) for i in range(0, 4 * n, 4)]


def _attach(sock: socket.socket, prog: list[tuple[int, int, int, int]]) -> None:
    raw = b"".join(_INSN.pack(c, jt, jf, k & 0xFFFFFFFF) for c, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("@HP", len(prog), ctypes.addressof(buf))  # struct sock_fprog
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _arphrd(iface: str) -> int:
    try:
        with open(f"/sys/class/net/{iface}/type") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return ARPHRD_ETHER


def privilege_message(iface: str) -> str:
    return (
        f"capturing on {iface} needs root or the CAP_NET_RAW capability: run it as root "
        "(sudo capfcap live ...), or grant the capability to the Python interpreter with "
        "sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which python3))"
    )


class LiveCapture:
    """One interface. `recv()` returns frames numbered 0 (the caller numbers them)."""

    def __init__(self, iface: str, extra: str | None = None,
                 tcp_ports: Iterable[int] = (), udp_ports: Iterable[int] = ()) -> None:
        self.iface = iface
        self.extra = extra
        self.tcp_ports = set(tcp_ports)
        self.udp_ports = set(udp_ports)
        self.hosts: set[str] = set()
        self.sock: socket.socket | None = None
        self.ethernet = True
        self.linktype = LINKTYPE_ETHERNET
        self.expr = ""
        self.captured = 0
        self.drops = 0
        self.kernel_packets = 0

    # -- setup ----------------------------------------------------------------------------
    def open(self) -> None:
        try:
            ifindex = socket.if_nametoindex(self.iface)
        except OSError:
            raise LiveError(f"interface {self.iface} does not exist (ip link shows the names)",
                            "interface") from None
        self.ethernet = _arphrd(self.iface) in (ARPHRD_ETHER, ARPHRD_LOOPBACK)
        self.linktype = LINKTYPE_ETHERNET if self.ethernet else LINKTYPE_RAW
        # compile before opening anything: a bad --bpf is a usage error, whoever runs it
        if self.extra and self.extra.strip():
            try:
                compile_filter(self.extra, self.ethernet)
            except LiveError as e:
                if e.kind == "filter":
                    raise LiveError(f"--bpf {self.extra!r}: "
                                    + str(e).removeprefix("capture filter does not compile: "),
                                    "filter") from None
                raise
        self.expr = capture_filter(self.tcp_ports, self.udp_ports, (), self.extra,
                                   self.ethernet)
        prog = compile_filter(self.expr, self.ethernet)
        kind = socket.SOCK_RAW if self.ethernet else socket.SOCK_DGRAM
        try:
            # protocol 0: no frame is queued before the filter is attached and bound
            s = socket.socket(socket.AF_PACKET, kind, 0)
        except PermissionError:
            raise LiveError(privilege_message(self.iface), "privilege") from None
        except OSError as e:
            raise LiveError(f"cannot open a packet socket: {e.strerror or e}", "capture") from None
        try:
            for opt, val in ((SO_RCVBUFFORCE, RCVBUF), (socket.SO_RCVBUF, RCVBUF)):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, val)
                    break
                except OSError:
                    continue
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            _attach(s, prog)
            s.bind((self.iface, ETH_P_ALL))
            mreq = struct.pack("=iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
            s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except PermissionError:
            s.close()
            raise LiveError(privilege_message(self.iface), "privilege") from None
        except OSError as e:
            s.close()
            if e.errno in (errno.ENODEV, errno.ENXIO):
                raise LiveError(f"interface {self.iface} does not exist (ip link shows the "
                                "names)", "interface") from None
            raise LiveError(f"cannot capture on {self.iface}: {e.strerror or e}",
                            "capture") from None
        self.sock = s
        self.stats()  # reset the kernel counters

    def add_hosts(self, hosts: Iterable[str]) -> bool:
        """Widen the kernel filter to these phones' traffic; False when it stays as is."""
        new = {h for h in hosts if ":" in h or h.replace(".", "").isdigit()} - self.hosts
        if not new or self.sock is None or len(self.hosts) >= MAX_FILTER_HOSTS:
            return False
        hosts = self.hosts | new
        expr = capture_filter(self.tcp_ports, self.udp_ports, hosts, self.extra, self.ethernet)
        try:
            prog = compile_filter(expr, self.ethernet)
            _attach(self.sock, prog)
        except (LiveError, OSError):
            return False  # keep the running filter (too long, or a host it cannot name)
        self.hosts = hosts
        self.expr = expr
        return True

    # -- frames ---------------------------------------------------------------------------
    def recv(self, timeout: float) -> Frame | None:
        """The next frame, or None when none arrived within `timeout` seconds."""
        s = self.sock
        if s is None:
            raise LiveError("capture is not open", "capture")
        try:
            ready, _w, _x = select.select([s], [], [], timeout)
        except InterruptedError:
            return None
        if not ready:
            return None
        try:
            data, anc, flags, _addr = s.recvmsg(SNAPLEN, 256, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            raise LiveError(f"capture on {self.iface} stopped: {e.strerror or e}",
                            "capture") from None
        ts = 0
        wirelen = len(data)
        for level, typ, val in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                sec, nsec = _TIMESPEC.unpack_from(val)
                ts = sec * 1_000_000_000 + nsec
            elif level == SOL_PACKET and typ == PACKET_AUXDATA and len(val) >= _AUX.size:
                status, tp_len, _snap, _mac, _net, tci, tpid = _AUX.unpack_from(val)
                wirelen = max(tp_len, len(data))
                if self.ethernet and status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                    tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID and tpid else 0x8100
                    data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
                    wirelen += 4
        if not ts:
            ts = time.time_ns()
        self.captured += 1
        return Frame(0, ts, self.linktype, data, wirelen)

    def stats(self) -> tuple[int, int]:
        """(packets the filter accepted, packets the kernel dropped) since open()."""
        if self.sock is not None:
            try:
                raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
                pk, dr = struct.unpack("=II", raw[:8])
                self.kernel_packets += pk
                self.drops += dr
            except OSError:
                pass
        return self.kernel_packets, self.drops

    def close(self) -> None:
        if self.sock is not None:
            self.stats()
            self.sock.close()
            self.sock = None
