"""What a decoded packet teaches the prefilter: which hosts are phones, which UDP ports
carry TFTP transfers.

Phones are spotted by what only phones do (DOMAIN §1.9, §2): a TFTP read request for a
trust list or a SEP config file, and a TCP SYN to CAPF (3804) or TVS (2445), or to a
port given with --capf-port/--tvs-port (`Prefilter.phone_ports`), whose SYN-ACK names the
phone as its destination. TFTP data comes back from an ephemeral
server port to the client port of the read request (RFC 1350 §4), so that client port
is followed until the transfer ends.
"""

from __future__ import annotations

from capfcap.decode import SYN, TCP, UDP, Packet, Prefilter, ip_packed
from capfcap.protocol import PHONE_PORTS, TFTP_PORT


def phone_request(payload: bytes) -> bool:
    """A TFTP RRQ (opcode 1) for a phone's trust list or config file (DOMAIN §1.9)."""
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 1:
        return False
    name = payload[2:].split(b"\0", 1)[0].rsplit(b"/", 1)[-1].upper()
    return name.startswith((b"SEP", b"ITL", b"CTL", b"EXT_ITL"))


def phones_shown(pkt: Packet, ports: frozenset[int] = PHONE_PORTS) -> tuple[str, ...]:
    """The addresses this packet shows to be phones (`ports`: the CAPF/TVS ports)."""
    if pkt.proto == TCP:
        if not pkt.flags & SYN:
            return ()
        if pkt.sport in ports:  # SYN-ACK from CAPF/TVS: the destination is a phone
            return (pkt.dst,) if pkt.dport not in ports else (pkt.dst, pkt.src)
        return (pkt.src,) if pkt.dport in ports else ()
    if pkt.proto == UDP and pkt.dport == TFTP_PORT and phone_request(pkt.payload):
        return (pkt.src,)
    return ()


def learn_ahead(pf: Prefilter, pkt: Packet) -> None:
    """Grow `pf` by at least what the analysis would learn from `pkt`, and never shrink it.

    A prefilter grown this way passes every frame the analysis's own prefilter would pass
    at the same point of the capture (its sets are supersets at every frame), so a reader
    can apply it without hearing back from the analysis (`parallel.py`)."""
    for ip in phones_shown(pkt, pf.phone_ports):
        pf.add_host(ip_packed(ip))
    if pkt.proto == UDP and pkt.dport == TFTP_PORT:  # any request, not only a phone's
        pf.add_tftp_port(pkt.sport)
