"""Synthetic captures for the verdicts of silence (DESIGN §4 "What silence proves").

Deterministic: the same bytes on every run (`python tools/gen_silence.py` rewrites them in
pcaps/synthetic/). What each file shows is in pcaps/README.md; the verdicts are asserted in
tests/test_silence_verdicts.py. Frames are built with the helpers of tools/gen_pcaps.py.
"""

from __future__ import annotations

import os
import sys

from scapy.layers.l2 import ARP, Ether
from scapy.layers.inet import UDP
from scapy.layers.tftp import TFTP, TFTP_RRQ

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_pcaps import (  # noqa: E402
    DEFAULT_OUT,
    GW_MAC,
    LINKTYPE_ETHERNET,
    US,
    Cap,
    Host,
    Rec,
    config_xml,
    device_name,
    pcap_bytes,
    phone_host,
    server_host,
    start,
    tftp_get,
)

SECOND = 1_000_000 * US
GW = Host("198.51.100.1", GW_MAC, 64)
TFTP_SRV = server_host("203.0.113.69", 0x5100)


def rrq_unanswered(cap: Cap, phone: Host, name: str, cport: int, tries: int = 3,
                   every_s: int = 4) -> None:
    """An RRQ (RFC 1350) sent `tries` times, `every_s` apart, with no answer at all."""
    for _ in range(tries):
        cap.emit(phone, TFTP_SRV, UDP(sport=cport, dport=69) / TFTP(op=1)
                 / TFTP_RRQ(filename=name.encode(), mode=b"octet"))
        cap.wait_us(every_s * SECOND // US)


def silent_phone(cap: Cap, phone: Host) -> None:
    dev = device_name(phone)
    for i, name in enumerate((f"CTL{dev}.tlv", f"ITL{dev}.tlv", "ITLFile.tlv",
                              f"{dev}.cnf.xml")):
        rrq_unanswered(cap, phone, name, 51000 + i)


def arp_reply(cap: Cap, phone: Host) -> None:
    """The phone asks for its gateway; the gateway answers to the phone's MAC (RFC 826)."""
    req = Ether(src=phone.mac, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=phone.mac, psrc=phone.ip, pdst=GW.ip)
    rep = Ether(src=GW.mac, dst=phone.mac) / ARP(
        op=2, hwsrc=GW.mac, psrc=GW.ip, hwdst=phone.mac, pdst=phone.ip)
    cap.recs.append(Rec(cap.t, bytes(req), 0, ""))
    cap.wait_us(300)
    cap.recs.append(Rec(cap.t, bytes(rep), 0, ""))
    cap.wait_us(1000)


def gen_two_phones() -> bytes:
    """Phone A is served by the TFTP server; phone B's RRQs to the same server go
    unanswered, and no frame is sent to B at all."""
    a, b = phone_host(0x41, "198.51.100.41"), phone_host(0x42, "198.51.100.42")
    cap = Cap(start(41))
    dev = device_name(a)
    tftp_get(cap, a, TFTP_SRV, f"CTL{dev}.tlv", None, 50001, 41001)
    tftp_get(cap, a, TFTP_SRV, f"{dev}.cnf.xml",
             config_xml(dev, "cucm.example", ["cucm.example"], 0), 50002, 41002)
    silent_phone(cap, b)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_alone() -> bytes:
    """Only the phone's unanswered RRQs: nothing proves the direction towards it."""
    cap = Cap(start(42))
    silent_phone(cap, phone_host(0x43, "198.51.100.43"))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_arp() -> bytes:
    """The same, plus an ARP reply to the phone's MAC: the direction towards it is seen."""
    cap = Cap(start(43))
    phone = phone_host(0x44, "198.51.100.44")
    arp_reply(cap, phone)
    silent_phone(cap, phone)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def build_all() -> dict[str, bytes]:
    return {
        "silent_tftp_two_phones.pcap": gen_two_phones(),
        "silent_tftp_alone.pcap": gen_alone(),
        "silent_tftp_arp.pcap": gen_arp(),
    }


def main() -> int:
    for name, blob in build_all().items():
        path = os.path.join(DEFAULT_OUT, name)
        with open(path, "wb") as f:
            f.write(blob)
        print(f"{path}: {len(blob)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
