#!/usr/bin/env python3
"""Deterministic generator of the synthetic edge-case captures in ``pcaps/synthetic/``.

Run as ``python tools/gen_pcaps.py [--out pcaps/synthetic] [--realpeer pcaps/realpeer]``.
Every byte is fixed: timestamps start at ``EPOCH``, ISNs, ports, IP IDs, DNS IDs and the
"encrypted" TLS bytes come from constants or ``random.Random(<fixed seed>)``, and the
pcap/pcapng containers are written here with ``struct``. Two runs give identical files.

Packets are built with scapy layers (which compute IP/TCP/UDP/ICMP lengths and
checksums); TLS records are written from RFC 5246 / RFC 8446 framing.

Synthetic topology (documentation addresses only, deliberately unlike ``pcaps/realpeer``):
phones in 198.51.100.0/24 (MAC 00:1b:54:aa:bb:xx, device SEP001B54AABBxx), CUCM / TFTP /
CAPF in 203.0.113.0/24, DNS resolver 192.0.2.53, firewall 192.0.2.254, IPv6 in
2001:db8:51::/48 (phones), 2001:db8:113::/48 (servers), 2001:db8:53::/48 (DNS).

``EXPECTED`` documents, per file, the frame count tshark shows and the findings a correct
analyzer reports (``codes``: must be present; ``absent``: must not be present).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import os
import random
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6, IPv6ExtHdrHopByHop, PadN
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.layers.tftp import (
    TFTP,
    TFTP_ACK,
    TFTP_DATA,
    TFTP_ERROR,
    TFTP_OACK,
    TFTP_RRQ,
    TFTP_Option,
    TFTP_Options,
)
from scapy.packet import Packet, Raw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "pcaps", "synthetic")
DEFAULT_REALPEER = os.path.join(REPO, "pcaps", "realpeer")

# 2026-12-01 09:00:00 UTC: inside the validity of the realpeer CAPF certificates
# (2026-11-26 .. 2031-11-26) that tls_split_cert.pcap presents.
EPOCH = 1796115600
NS = 1_000_000_000
US = 1_000

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

PHONE_SUBNET_PREFIX = bytes([192, 0, 2])  # realpeer phone subnet 192.0.2.0/24 (derived files)

# What a capture out of time order must not claim: the file order is no evidence.
ORDER_ABSENT = ["CAPTURE_GAPS", "CAPTURE_ONE_SIDED", "CAPF_UNIDIRECTIONAL", "TFTP_NO_RESPONSE",
                "DNS_NO_RESPONSE", "TRANSFER_INCOMPLETE", "CAPF_SESSION_CUT"]

# ---------------------------------------------------------------------------------------
# Expected diagnosis per file (tests and pcaps/README.md use this).
# codes: finding codes that must be reported; absent: codes that must not be reported.
# ---------------------------------------------------------------------------------------
EXPECTED: dict[str, dict[str, Any]] = {
    "vlan_qinq_capf_filtered.pcap": {
        "frames": 14,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPTURE_ONE_SIDED", "CAPF_REFUSED", "DNS_NXDOMAIN", "DNS_NO_RESPONSE"],
        "what": "802.1Q (phone->) and QinQ 0x88a8 (->phone) frames; TFTP config naming "
        "capf.qinq.example, DNS A answered, SYN to 3804 sent at 0,1,3,7,15 s, never answered",
    },
    "sll2_dns_nxdomain.pcapng": {
        "frames": 13,
        "linktypes": [LINKTYPE_LINUX_SLL2],
        "codes": ["DNS_NXDOMAIN"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPF_REFUSED", "DNS_NO_RESPONSE",
                   "CAPF_NOT_ATTEMPTED"],
        "what": "pcapng, one SLL2 interface; TFTP config naming capf.sll2.example "
        "(capfAuthMode 2); DNS A and AAAA for it NXDOMAIN; no TCP 3804",
    },
    "sll_ipv6_refused.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_LINUX_SLL],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "DNS_NXDOMAIN", "CAPTURE_ONE_SIDED"],
        "what": "Linux SLL, IPv6 only; DNS AAAA answered; three SYNs (hop-by-hop "
        "extension header) to [2001:db8:113::20]:3804, each answered by RST/ACK",
    },
    "icmp_unreachable.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "what": "DNS A answered; three SYNs to 203.0.113.30:3804, each answered by ICMP "
        "type 3 code 13 (communication administratively prohibited) from firewall 192.0.2.254",
    },
    "icmp_port_unreach_server.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "cause": "not_listening",
        "what": "DNS A answered; three SYNs to 203.0.113.31:3804, each answered by ICMP "
        "type 3 code 3 (port unreachable) from 203.0.113.31, the server itself",
    },
    "icmp_host_unreach_router.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "cause": "routing",
        "what": "DNS A answered; two connections to 203.0.113.32:3804, each a SYN and its "
        "retransmission 1 s later, answered 3 s after the SYN by ICMP type 3 code 1 (host "
        "unreachable) from router 192.0.2.254",
    },
    "icmpv6_admin_prohibited.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "cause": "filtered",
        "what": "IPv6; DNS AAAA answered; three SYNs to [2001:db8:113::33]:3804, each "
        "answered by ICMPv6 type 1 code 1 (administratively prohibited) from router "
        "2001:db8:51::1",
    },
    "icmp_tftp_port_unreach.pcap": {
        "frames": 8,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["TFTP_NO_RESPONSE"],
        "absent": ["CAPTURE_ONE_SIDED", "ITL_NOT_FOUND", "CONFIG_NOT_FOUND"],
        "cause": "not_listening",
        "what": "four TFTP read requests (CTLSEP, ITLSEP, ITLFile.tlv, the config) to "
        "203.0.113.34:69, each answered by ICMP type 3 code 3 (port unreachable) from the "
        "server",
    },
    "dns_tcp_servfail_nodata.pcap": {
        "frames": 21,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["DNS_SERVER_ERROR", "DNS_NODATA"],
        "absent": ["DNS_NXDOMAIN", "DNS_NO_RESPONSE", "CAPF_UNIDIRECTIONAL",
                   "CAPF_NOT_ATTEMPTED"],
        "what": "TFTP config (capfList cm-a.dnstcp.example, TVS cm-a/cm-b); A cm-a over "
        "TCP 53 -> SERVFAIL; A cm-b over UDP -> NOERROR with no answer (NODATA, SOA)",
    },
    "multi_iface.pcapng": {
        "frames": 15,
        "linktypes": [LINKTYPE_ETHERNET, LINKTYPE_RAW],
        "codes": ["DNS_NXDOMAIN"],
        "absent": ["CAPF_NOT_ATTEMPTED", "CAPTURE_ONE_SIDED", "DNS_NO_RESPONSE",
                   "TFTP_NO_RESPONSE", "CONFIG_NOT_FOUND"],
        "what": "pcapng, if0 Ethernet (usec), if1 raw IPv4 (if_tsresol 9, ns); phone->server "
        "frames on if0, server->phone on if1; CTLSEP not found, config (capfAuthMode 0), "
        "DNS A cm-a answered, DNS A cm-b (TVS member) NXDOMAIN; ISBs and a packet comment",
    },
    "nsec_bigendian.pcap": {
        "frames": 4,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["DNS_NXDOMAIN", "DNS_NO_RESPONSE", "DNS_NODATA", "DNS_SERVER_ERROR"],
        "what": "big-endian nanosecond pcap (magic a1b23c4d); DNS A + AAAA, both answered",
    },
    "duplicates_span.pcap": {
        "frames": 56,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_DUPLICATES", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "CAPF_UNIDIRECTIONAL", "CAPTURE_GAPS",
                   "CAPF_NO_CERTIFICATE"],
        "retransmissions": 0,
        "what": "TLS 1.2 CAPF success on 3804 (handshake, CAPF-sized records, FIN); every "
        "frame appears twice, the copy 7 us later (SPAN rx+tx); zero real retransmissions",
    },
    "tls_split_cert.pcap": {
        "frames": 13,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_TLS_FAILED"],
        "absent": ["CAPF_LSC_ISSUED", "CAPF_UNIDIRECTIONAL", "CAPF_REFUSED"],
        "alert": "unknown_ca",
        "what": "TLS 1.2 on 3804; server flight ServerHello+Certificate(capf-old.crt)+"
        "ServerKeyExchange+ServerHelloDone with the Certificate split over three TCP "
        "segments; phone sends fatal alert 48 unknown_ca, then FIN",
    },
    "tls13_capf.pcap": {
        "frames": 20,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "CAPF_CERT_MISMATCH", "CAPF_NO_CERTIFICATE"],
        "what": "TLS 1.3 (supported_versions 0x0304) on 3804; certificate encrypted; "
        "application-data records in the CAPF install pattern (phone 330 B key record, "
        "then server 990 B record)",
    },
    "sslv2_hello_capf.pcap": {
        "frames": 27,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "CAPF_NO_CERTIFICATE", "CAPF_UNIDIRECTIONAL"],
        "what": "the phone's first segment on 3804 is an SSLv2-compatible ClientHello "
        "(RFC 5246 E.2, version TLS 1.0, 5 V2CipherSpecs); the server answers TLS 1.0 "
        "ServerHello+Certificate+ServerHelloDone; CBC records in the CAPF install pattern",
    },
    "loss5_S01.pcap": {
        "frames": 74,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_GAPS", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPF_REFUSED", "CAPTURE_ONE_SIDED", "ITL_NOT_FOUND"],
        "what": "S01_happy.pcap minus 5 % of frames (random.Random(5), dropped when "
        "random() < 0.05): S01 frames 7 (ITLFile RRQ), 17, 27 (TFTP), 49, 60 (SYN-ACK "
        "on 3804), 63, 67, 68 (TLS)",
    },
    "serverside_S01.pcap": {
        "frames": 39,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_ONE_SIDED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "DNS_NO_RESPONSE", "TFTP_NO_RESPONSE"],
        "what": "S01_happy.pcap, only frames whose IPv4 source is not in 192.0.2.0/24 "
        "(non-IPv4 frames dropped)",
    },
    "phoneside_S01.pcap": {
        "frames": 41,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_ONE_SIDED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "DNS_NO_RESPONSE", "TFTP_NO_RESPONSE"],
        "what": "S01_happy.pcap, only frames whose IPv4 source is in 192.0.2.0/24",
    },
    "dup_S01.pcap": {
        "frames": 164,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_DUPLICATES", "CAPF_LSC_ISSUED"],
        "absent": ["CAPTURE_GAPS", "CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "what": "S01_happy.pcap with every frame repeated 5 us later",
    },
    "real_itl_tftp.pcap": {
        "frames": 54,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["ITL_NO_CAPF"],
        "absent": ["ITL_SIGNATURE_INVALID", "ITL_PARSE_ERROR", "TRANSFER_INCOMPLETE",
                   "ITL_NOT_FOUND", "CAPF_NOT_ATTEMPTED"],
        "what": "a phone downloads the real, in-use ITL of pcaps/real-itl/ITLFile.tlv (5 "
        "records, no CAPF record, valid SHA-1 signature) over TFTP after CTLSEP/ITLSEP "
        "'File not found', then its config (capfAuthMode 0)",
    },
    "notftp_S16.pcap": {
        "frames": 40,
        "linktypes": [LINKTYPE_ETHERNET],
        "args": ["--capf-port", "3806"],
        "codes": ["CAPF_LSC_ISSUED", "CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPTURE_ONE_SIDED", "CAPF_NOT_ATTEMPTED"],
        "what": "S16_capf_port3806.pcap without its TFTP frames (every UDP frame but DNS "
        "dropped): no config names the CAPF port 3806, so only --capf-port 3806 (in 'args') "
        "lets capfcap see phone1's enrolment and phone2's filtered SYNs",
    },
    "tftp_two_tids_error5.pcap": {
        "frames": 51,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["ITL_NOT_FOUND", "TRANSFER_INCOMPLETE", "ITL_PARSE_ERROR", "CAPTURE_GAPS",
                   "ITL_NO_CAPF", "TFTP_NO_RESPONSE", "CAPTURE_ONE_SIDED"],
        "what": "ITLFile.tlv RRQ retransmitted after 1 s; both copies answered with DATA 1, "
        "from TIDs 43003 and 43103; the phone ACKs 43003, sends ERROR 5 to 43103 and "
        "downloads the whole ITL (realpeer ITL_good.tlv) from 43003",
    },
    "tftp_two_oacks.pcap": {
        "frames": 37,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["ITL_NOT_FOUND", "TRANSFER_INCOMPLETE", "ITL_PARSE_ERROR", "CAPTURE_GAPS",
                   "ITL_NO_CAPF", "TFTP_NO_RESPONSE", "CAPTURE_ONE_SIDED"],
        "what": "ITLFile.tlv RRQ (blksize 1024, tsize 0) retransmitted; OACKs from TIDs 43003 "
        "and 43103; the phone ACKs block 0 on 43103 and downloads from it; 43003 "
        "retransmits its OACK (phone: ERROR 5) and ends with ERROR 0",
    },
    "tftp_lost_middle.pcap": {
        "frames": 46,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_GAPS"],
        "absent": ["ITL_NOT_FOUND", "TRANSFER_INCOMPLETE", "ITL_PARSE_ERROR",
                   "CAPTURE_ONE_SIDED", "TFTP_NO_RESPONSE"],
        "what": "ITLFile.tlv over TFTP with DATA blocks 5 and 9 missing from the capture; "
        "the phone ACKs every block (ACK 5 frame 14, ACK 9 frame 21)",
    },
    "tftp_lost_final.pcap": {
        "frames": 47,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPTURE_GAPS"],
        "absent": ["ITL_NOT_FOUND", "TRANSFER_INCOMPLETE", "ITL_PARSE_ERROR",
                   "CAPTURE_ONE_SIDED", "TFTP_NO_RESPONSE"],
        "what": "ITLFile.tlv over TFTP with the short final DATA block 18 missing from the "
        "capture; the phone ACKs it once (frame 40) and fetches its config",
    },
    "tftp_stopped.pcap": {
        "frames": 29,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["TRANSFER_INCOMPLETE"],
        "absent": ["ITL_NOT_FOUND", "CAPTURE_GAPS", "ITL_PARSE_ERROR", "CAPTURE_ONE_SIDED"],
        "what": "the server stops after DATA 7 of ITLFile.tlv; the phone repeats ACK 7 "
        "three times 2 s apart, gives up and fetches its config",
    },
    "truncated_S05.pcap": {
        "frames": 61,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPTURE_ONE_SIDED"],
        "truncated": True,
        "exit": 5,
        "what": "S05_capf_filtered.pcap cut in the middle of frame 62's data; frames 1-61 "
        "intact (SYNs 59-61 present)",
    },
    "runs_two_ifaces_S01.pcapng": {
        "frames": 82,
        "linktypes": [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL2],
        "codes": [],
        "absent": ORDER_ABSENT,
        "out_of_order": True,
        "what": "S01_happy.pcap as two interfaces written in runs, not merged: the phone's "
        "41 frames (interface 0, Ethernet), then the servers' 41 (interface 1, SLL2, "
        "PACKET_OUTGOING); every frame keeps its time, so the file goes back 0.235 s at "
        "frame 42",
    },
    "concat_S01.pcap": {
        "frames": 82,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ORDER_ABSENT,
        "out_of_order": True,
        "what": "`mergecap -F pcap -a servers.pcap phone.pcap` of S01_happy.pcap's two "
        "directions: the servers' 41 frames, then the phone's 41",
    },
    "jitter_S01.pcap": {
        "frames": 82,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ORDER_ABSENT,
        "what": "S01_happy.pcap with frames 2/3, 6/7 and 43/44 (different flows, 15 us, "
        "4.6 ms and 4.8 ms apart) written in swapped order: natural reordering",
    },
    "dns_same_id_aaaa_first.pcap": {
        "frames": 15,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["DNS_NXDOMAIN", "DNS_NODATA", "DNS_SERVER_ERROR", "DNS_NO_RESPONSE"],
        "what": "config naming pub.sameid.example; A and AAAA for the search-list candidate "
        "pub.sameid.example.corp.example (NXDOMAIN), then A and AAAA for the name under one "
        "ID from one port, the empty AAAA answer (NOERROR, SOA) arriving before the A answer",
    },
    "dns_a_timeout_aaaa_nodata.pcap": {
        "frames": 15,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["DNS_NO_RESPONSE"],
        "absent": ["DNS_NODATA", "DNS_NXDOMAIN", "DNS_SERVER_ERROR", "CAPTURE_ONE_SIDED",
                   "CAPF_NOT_ATTEMPTED"],
        "what": "config naming pub.atimeout.example (capfAuthMode 2); A and AAAA under one ID, "
        "AAAA answered NOERROR without address, A sent 3 times and never answered; 10 s later "
        "a TFTP download the server answers",
    },
    "dns_a_servfail_aaaa_nodata.pcap": {
        "frames": 11,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["DNS_SERVER_ERROR"],
        "absent": ["DNS_NODATA", "DNS_NXDOMAIN", "DNS_NO_RESPONSE", "CAPF_NOT_ATTEMPTED"],
        "what": "config naming pub.aservfail.example (capfAuthMode 2); A and AAAA under one "
        "ID, AAAA answered NOERROR without address, A answered SERVFAIL 2.4 s later",
    },
    "silent_tftp_two_phones.pcap": {
        "frames": 21,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["TFTP_NO_RESPONSE"],
        "absent": ["CAPTURE_ONE_SIDED"],
        "what": "phone .41 served by TFTP 203.0.113.69; phone .42 sends each of its four "
        "RRQs three times, 4 s apart, to the same server and nothing answers it",
    },
    "silent_tftp_alone.pcap": {
        "frames": 12,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["TFTP_NO_RESPONSE", "CAPTURE_ONE_SIDED"],
        "what": "only a phone's unanswered RRQs (four files, three tries each): "
        "inconclusive, TFTP_NO_RESPONSE withheld",
    },
    "silent_tftp_arp.pcap": {
        "frames": 14,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["TFTP_NO_RESPONSE"],
        "absent": ["CAPTURE_ONE_SIDED"],
        "what": "the same with an ARP reply to the phone's MAC (frame 2), which proves "
        "the direction towards the phone is captured",
    },
    "distrust_loop.pcap": {
        "frames": 193,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["PHONE_DISTRUSTS_CLUSTER"],
        "absent": ["CAPF_NOT_ATTEMPTED", "LSC_REJECTED", "TFTP_NO_RESPONSE"],
        "what": "a locked phone downloads ITLFile.tlv and its config (capfAuthMode 2) four "
        "times, 20 s apart, never contacts CAPF; the capture goes on 40 s after the last "
        "config",
    },
    "distrust_loop_short.pcap": {
        "frames": 145,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["PHONE_DISTRUSTS_CLUSTER", "CAPF_NOT_ATTEMPTED"],
        "what": "the same loop, three rounds, and the capture ends 5 s after the last "
        "config: PHONE_DISTRUSTS_CLUSTER withheld (inconclusive)",
    },
    "distrust_tvs_alert.pcap": {
        "frames": 59,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["PHONE_DISTRUSTS_CLUSTER"],
        "absent": ["CAPF_NOT_ATTEMPTED", "LSC_REJECTED", "TVS_TLS_FAILED"],
        "what": "ITL and config (capfAuthMode 2), then the phone aborts TLS to this "
        "cluster's TVS with fatal unknown_ca after the TVS certificate; no CAPF",
    },
    "tvs_vouched_capf.pcap": {
        "frames": 87,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["ITL_NO_CAPF", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "PHONE_DISTRUSTS_CLUSTER", "CAPF_CERT_MISMATCH"],
        "what": "ITL without CAPF record; the phone's TVS session completes (application "
        "data both ways), then TLS to CAPF succeeds and CAPF delivers the LSC: "
        "ITL_NO_CAPF is info (TVS vouched)",
    },
    "mic_expired_5061.pcap": {
        "frames": 64,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["PHONE_MIC_EXPIRED"],
        "absent": ["LSC_REJECTED", "PHONE_MIC_EXPIRING"],
        "what": "SIP-TLS 5061 (TLS 1.2): the server asks for a client certificate and the "
        "phone presents a MIC (issuer Cisco Manufacturing CA SHA2) that expired 4 days "
        "earlier; the handshake completes",
    },
    "itlsep_download.pcap": {
        "frames": 24,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_NO_OPERATION"],
        "absent": ["ITL_NOT_FOUND", "ITL_PARSE_ERROR", "ITL_NO_CAPF", "ITL_SIGNATURE_INVALID"],
        "what": "CTLSEP<MAC>.tlv not found, then the phone's own ITLSEP<MAC>.tlv (signed, its "
        "FILENAME header element names the MAC) and its config (capfAuthMode 0)",
    },
    "capf_cert_auth_rejected.pcap": {
        "frames": 28,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_AUTH_FAILED"],
        "absent": ["CAPF_NO_CERTIFICATE", "CAPF_LSC_ISSUED", "CAPF_SESSION_CUT",
                   "CAPF_NOT_ATTEMPTED"],
        "what": "config capfAuthMode 3 (By Existing Certificate); TLS 1.2 on 3804; CAPF "
        "records S36, then the phone's 1538 B AUTH_RESPONSE carrying its certificate, then "
        "CAPF's 36 B END_SESSION; close_notify both ways, FIN",
    },
    "capf_delete.pcap": {
        "frames": 31,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["CAPF_NO_CERTIFICATE", "CAPF_LSC_ISSUED", "CAPF_AUTH_FAILED",
                   "CAPF_SESSION_CUT", "CAPF_NOT_ATTEMPTED"],
        "what": "a Delete operation: records S36 (AUTH_REQUEST), P59 (AUTH_RESPONSE), S32 "
        "(8 B DELETE_CERTIFICATE_REQUEST), P36 (its RESPONSE), S36 (END_SESSION); no finding, "
        "the timeline says 'certificate deleted'",
    },
    "capf_idle_reset.pcap": {
        "frames": 23,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_SESSION_CUT"],
        "absent": ["CAPF_NO_CERTIFICATE", "CAPF_LSC_ISSUED", "CAPF_AUTH_FAILED"],
        "gap": "600.0 s",
        "what": "records S36, P59, S37 (KEY_GENERATE_REQUEST), then 600 s without a packet "
        "while the phone generates its key, then a RST towards the phone from the CAPF "
        "address (a firewall idle timeout)",
    },
    "capf_outage_six.pcap": {
        "frames": 95,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL", "CAPF_REFUSED"],
        "absent": ["CAPTURE_ONE_SIDED", "TFTP_NO_RESPONSE", "DNS_NO_RESPONSE"],
        "what": "six phones (192.0.2.49-54), 300 ms apart: config over TFTP, DNS A "
        "pub.outage.example answered, SYNs to 198.51.100.11:3804 at 0, 1, 3, 7, 15 s, "
        "unanswered; a seventh (.55) refused by RST/ACK. The text, Markdown and HTML "
        "reports print the six as one group",
    },
    "syn_flood_capf.pcap": {
        "frames": 2500,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPF_REFUSED", "CAPTURE_ONE_SIDED"],
        "what": "2,000 spoofed IPv6 sources send one SYN each to [2001:db8:100::11]:3804 "
        "within 10 s, every fourth answered by a SYN-ACK never acknowledged; nothing else. "
        "One note \"SYN flood: 2,000 sources ...\", no phone",
    },
    "syn_flood_mixed.pcap": {
        "frames": 2042,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPF_REFUSED", "CAPTURE_ONE_SIDED"],
        "what": "a flood of 2,000 single unanswered SYNs (20 in the last second) to "
        "[2001:db8:100::11]:3804 and three real phones (config, DNS, SYNs retransmitted) "
        "that the same server never answers: one note, three phones judged",
    },
    "port_sweep.pcap": {
        "frames": 1128,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPF_REFUSED", "TVS_UNIDIRECTIONAL", "TVS_REFUSED", "CAPTURE_ONE_SIDED"],
        "what": "203.0.113.9 sends SYNs to 3804 and 2445 on 507 hosts (some answer RST) "
        "while phone 192.0.2.21 meets an unanswered CAPF: one note, one phone",
    },
    "router_two_phones.pcap": {
        "frames": 37,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED", "CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPTURE_ONE_SIDED", "CAPF_REFUSED"],
        "what": "two phones behind a router, captured on its uplink (both carry the router's "
        "MAC; no config captured): .206 enrols, .207's SYNs to the same CAPF go unanswered",
    },
    "reboot_port_reuse.pcap": {
        "frames": 49,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "CAPF_SESSION_CUT"],
        "what": "the phone enrols and closes; 40 s later, after a reboot, it reuses the CAPF "
        "source port: server flight, then the capture ends 1 s later (TLS verdict withheld)",
    },
    "dns_truncated_tcp_answered.pcap": {
        "frames": 47,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["DNS_NODATA", "DNS_NO_RESPONSE", "DNS_NXDOMAIN"],
        "what": "the UDP answer for the CAPF name is truncated (TC=1, no records); the A "
        "record comes over TCP 53 and the phone enrols",
    },
    "dns_truncated_tcp_blocked.pcap": {
        "frames": 13,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["DNS_NODATA", "DNS_NXDOMAIN", "CAPF_NOT_ATTEMPTED"],
        "what": "the UDP answer for the CAPF name is truncated (TC=1, no records); the "
        "phone's SYNs to TCP 53 are never answered: no NODATA (the record may exist)",
    },
    "http_keepalive_304.pcap": {
        "frames": 28,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["CONFIG_NOT_FOUND", "ITL_NOT_FOUND", "CAPF_NOT_ATTEMPTED"],
        "what": "HTTP/1.1 keep-alive on 6970: CTLSEP/ITLSEP 404, ITLFile.tlv 200, the config "
        "304 Not Modified (If-Modified-Since), all on one connection",
    },
    "tls13_hrr_capf.pcap": {
        "frames": 24,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["CAPF_TLS_FAILED", "CAPF_SESSION_CUT", "CAPF_NO_CERTIFICATE"],
        "what": "TLS 1.3 to CAPF with a HelloRetryRequest and the middlebox-compatibility "
        "CCS after it; second ClientHello, ServerHello, then the CAPF install records",
    },
    "tls13_hrr_abort.pcap": {
        "frames": 15,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_TLS_FAILED"],
        "absent": ["CAPF_SESSION_CUT", "CAPF_NO_CERTIFICATE", "CAPF_LSC_ISSUED"],
        "what": "the same HelloRetryRequest handshake; after the server's encrypted flight "
        "the phone sends one 19-byte record (its encrypted alert) and FIN",
    },
    "firewall_rst.pcap": {
        "frames": 13,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_REFUSED"],
        "absent": ["CAPF_UNIDIRECTIONAL"],
        "what": "the CAPF address serves TFTP with TTL 63; each SYN to 3804 is answered by "
        "RST/ACK with TTL 255 (a firewall resetting in the server's name)",
    },
    "tftp_window_noack.pcap": {
        "frames": 27,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_NO_OPERATION"],
        "absent": ["TRANSFER_INCOMPLETE", "CAPTURE_GAPS", "ITL_PARSE_ERROR",
                   "TFTP_NO_RESPONSE", "ITL_NOT_FOUND"],
        "what": "ITLFile.tlv with blksize 1428, windowsize 4 (RFC 7440); the ACK of the final "
        "window is not captured, the server retransmits it 3 times; the phone has moved on",
    },
    "synack_lost.pcap": {
        "frames": 17,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_UNIDIRECTIONAL"],
        "absent": ["CAPTURE_ONE_SIDED", "CAPF_REFUSED", "CAPF_TLS_FAILED"],
        "what": "each SYN to 3804 is answered by a SYN-ACK the phone never receives: it "
        "retransmits the SYN at 1, 3, 7, 15 s and never acknowledges",
    },
    "capf_key_pending.pcap": {
        "frames": 25,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": [],
        "absent": ["CAPF_NO_CERTIFICATE", "CAPF_SESSION_CUT", "CAPF_TLS_FAILED"],
        "what": "the CAPF dialogue stops after S P S (END_SESSION or the key request) and "
        "nothing closes the connection; the capture goes on 30 s",
    },
    "capf_rst_after_hello.pcap": {
        "frames": 41,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_TLS_FAILED", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_REFUSED", "CAPF_SESSION_CUT"],
        "what": "CAPF resets the phone's first TLS connection right after the ClientHello; "
        "the phone retries and enrols",
    },
    "capf_pmtu_blackhole.pcap": {
        "frames": 23,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_TLS_FAILED"],
        "absent": ["CAPF_UNIDIRECTIONAL", "CAPTURE_ONE_SIDED"],
        "what": "CAPF's full-size handshake segment draws ICMP fragmentation-needed and is "
        "retransmitted; the phone never acknowledges it",
    },
    "dns_foreign_source.pcap": {
        "frames": 16,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["DNS_NO_RESPONSE"],
        "absent": ["DNS_NXDOMAIN", "CAPF_NOT_ATTEMPTED"],
        "what": "each answer to the phone's A query comes from another address than the "
        "one it asked; the phone retries",
    },
    "itl_two_capf_stale.pcap": {
        "frames": 70,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_LSC_ISSUED"],
        "absent": ["CAPF_CERT_EXPIRED", "CAPF_CERT_MISMATCH", "ITL_NO_CAPF"],
        "what": "the ITL holds two CAPF records, one expired; CAPF presents the other, valid "
        "one and the phone enrols",
    },
    "itl_two_capf_no_session.pcap": {
        "frames": 45,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_NO_OPERATION"],
        "absent": ["CAPF_CERT_EXPIRED"],
        "what": "the ITL holds two CAPF records, one expired; no operation pending, no CAPF "
        "session, so the capture does not show which record CAPF uses",
    },
    "ctl_current_itl_stale.pcap": {
        "frames": 81,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_CERT_MISMATCH", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_CERT_EXPIRED"],
        "what": "mixed mode: the CTL holds the current CAPF certificate, the ITL only an "
        "expired stale one; CAPF presents the current one and the phone enrols",
    },
    "tvs_cert_not_in_itl.pcap": {
        "frames": 50,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["TVS_CERT_MISMATCH", "TVS_TLS_FAILED"],
        "absent": ["PHONE_DISTRUSTS_CLUSTER", "CAPF_NOT_ATTEMPTED"],
        "what": "TVS presents a regenerated certificate the ITL just served does not hold; "
        "the phone aborts with unknown_ca and never contacts CAPF",
    },
    "itl_signer_change.pcap": {
        "frames": 60,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["ITL_MISMATCH", "CAPF_NOT_ATTEMPTED"],
        "absent": ["PHONE_DISTRUSTS_CLUSTER"],
        "what": "one TFTP server serves one phone an ITL, then an ITL of another signer; "
        "the phone never contacts CAPF",
    },
    "ctl_stale_capf_rejected.pcap": {
        "frames": 67,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["CAPF_CERT_MISMATCH", "CAPF_TLS_FAILED"],
        "absent": ["PHONE_DISTRUSTS_CLUSTER", "CAPF_NOT_ATTEMPTED"],
        "what": "mixed mode: the CTL holds the old CAPF certificate, the ITL the current one "
        "CAPF presents; the phone aborts with unknown_ca",
    },
    "ctl_vouches_capf.pcap": {
        "frames": 75,
        "linktypes": [LINKTYPE_ETHERNET],
        "codes": ["ITL_NO_CAPF", "CAPF_LSC_ISSUED"],
        "absent": ["CAPF_CERT_MISMATCH", "CAPF_TLS_FAILED"],
        "what": "mixed mode: the ITL has no CAPF record, the CTL holds the certificate CAPF "
        "presents; the phone enrols (ITL_NO_CAPF is info)",
    },
}


# ---------------------------------------------------------------------------------------
# Containers (libpcap: https://www.tcpdump.org/manpages/pcap-savefile.5.html;
# pcapng: draft-ietf-opsawg-pcapng)
# ---------------------------------------------------------------------------------------


@dataclass
class Rec:
    ts: int  # ns since the epoch
    data: bytes
    iface: int = 0
    comment: str = ""
    wirelen: int | None = None


def pcap_bytes(linktype: int, recs: Iterable[Rec], *, nsec: bool = False,
               big_endian: bool = False, snaplen: int = 262144) -> bytes:
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    div = 1 if nsec else US
    for r in recs:
        sec, frac = divmod(r.ts, NS)
        wl = len(r.data) if r.wirelen is None else r.wirelen
        out.append(struct.pack(e + "IIII", sec, frac // div, len(r.data), wl))
        out.append(r.data)
    return b"".join(out)


def _opt(code: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _opts(items: list[tuple[int, bytes]]) -> bytes:
    if not items:
        return b""
    return b"".join(_opt(c, v) for c, v in items) + struct.pack("<HH", 0, 0)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


@dataclass
class Iface:
    linktype: int
    name: str
    tsresol: int = 6  # power of ten: 6 = microseconds (the default), 9 = nanoseconds
    snaplen: int = 262144


@dataclass
class IfStats:
    iface: int
    ts: int  # ns
    first: int
    last: int
    recv: int
    drop: int


def pcapng_bytes(ifaces: list[Iface], recs: Iterable[Rec], *, appl: str,
                 stats: Iterable[IfStats] = ()) -> bytes:
    """SHB (0x0A0D0D0A), IDBs (1), EPBs (6), then ISBs (5); little-endian."""
    shb_opts = _opts([(4, appl.encode())])  # shb_userappl
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)]
    for i in ifaces:
        items = [(2, i.name.encode())]  # if_name
        if i.tsresol != 6:
            items.append((9, bytes([i.tsresol])))  # if_tsresol
        out.append(_block(1, struct.pack("<HHI", i.linktype, 0, i.snaplen) + _opts(items)))

    def units(iface: int, ts: int) -> int:
        return ts // (10 ** (9 - ifaces[iface].tsresol))

    for r in recs:
        t = units(r.iface, r.ts)
        wl = len(r.data) if r.wirelen is None else r.wirelen
        pad = (-len(r.data)) % 4
        body = struct.pack("<IIIII", r.iface, t >> 32, t & 0xFFFFFFFF, len(r.data), wl)
        body += r.data + b"\0" * pad
        body += _opts([(1, r.comment.encode())] if r.comment else [])  # opt_comment
        out.append(_block(6, body))
    for s in stats:
        t = units(s.iface, s.ts)
        first, last = units(s.iface, s.first), units(s.iface, s.last)
        items = [
            (2, struct.pack("<II", first >> 32, first & 0xFFFFFFFF)),  # isb_starttime
            (3, struct.pack("<II", last >> 32, last & 0xFFFFFFFF)),  # isb_endtime
            (4, struct.pack("<Q", s.recv)),  # isb_ifrecv
            (5, struct.pack("<Q", s.drop)),  # isb_ifdrop
        ]
        body = struct.pack("<III", s.iface, t >> 32, t & 0xFFFFFFFF) + _opts(items)
        out.append(_block(5, body))
    return b"".join(out)


# ---------------------------------------------------------------------------------------
# Hosts, framing and the capture clock
# ---------------------------------------------------------------------------------------


@dataclass
class Host:
    ip: str
    mac: str
    ttl: int = 64
    ip_id: int = 0x1000

    @property
    def v6(self) -> bool:
        return ":" in self.ip

    def next_id(self) -> int:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id


Wrap = Callable[[Packet, Host, Host], tuple[bytes, int]]  # -> (frame bytes, interface)

GW_MAC = "00:00:0c:9f:f1:2c"  # HSRPv2 virtual MAC of the voice-VLAN gateway


def eth_wrap(l3: Packet, src: Host, dst: Host) -> tuple[bytes, int]:
    return bytes(Ether(src=src.mac, dst=dst.mac) / l3), 0


@dataclass
class Cap:
    """A capture being built: a clock (ns) and the frames emitted so far."""

    t: int
    wrap: Wrap = eth_wrap
    recs: list[Rec] = field(default_factory=list)

    def wait_us(self, us: int) -> None:
        self.t += us * US

    def emit(self, src: Host, dst: Host, l4: Packet, *, hbh: bool = False,
             comment: str = "", extra_ns: int = 0) -> None:
        if src.v6:
            l3: Packet = IPv6(src=src.ip, dst=dst.ip, hlim=src.ttl)
            if hbh:
                l3 = l3 / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0\0\0\0")])
        else:
            l3 = IP(src=src.ip, dst=dst.ip, ttl=src.ttl, id=src.next_id(),
                    flags="DF" if isinstance(l4, TCP) else 0)
        data, iface = self.wrap(l3 / l4, src, dst)
        self.recs.append(Rec(self.t + extra_ns, data, iface, comment))


def phone_host(last: int, ip: str) -> Host:
    return Host(ip, f"00:1b:54:aa:bb:{last:02x}", 64, 0x2000 + last)


def device_name(h: Host) -> str:
    return "SEP" + h.mac.replace(":", "").upper()


def server_host(ip: str, ip_id: int) -> Host:
    # Servers are routed into the voice VLAN: they appear with the gateway's MAC and TTL 63.
    return Host(ip, GW_MAC, 63, ip_id)


# ---------------------------------------------------------------------------------------
# Protocol helpers
# ---------------------------------------------------------------------------------------


def config_xml(device: str, capf: str, tvs: list[str], auth_mode: int) -> bytes:
    """A small SEP<MAC>.cnf.xml with the CAPF/TVS fields of DOMAIN.md §5."""
    members = "".join(
        f'      <member priority="{i}">\n        <port>2445</port>\n'
        f"        <address>{n}</address>\n      </member>\n"
        for i, n in enumerate(tvs)
    )
    cms = "".join(
        f'        <member priority="{i}">\n          <callManager>\n'
        f"            <name>{n}</name>\n            <ports>\n"
        f"              <ethernetPhonePort>2000</ethernetPhonePort>\n"
        f"              <sipPort>5060</sipPort>\n"
        f"              <securedSipPort>5061</securedSipPort>\n            </ports>\n"
        f"            <processNodeName>{n}</processNodeName>\n"
        f"          </callManager>\n        </member>\n"
        for i, n in enumerate(tvs)
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<device xsi:type="axl:XIPPhone" ctiid="2417">\n'
        "  <fullConfig>true</fullConfig>\n"
        "  <deviceProtocol>SIP</deviceProtocol>\n"
        "  <devicePool>\n    <name>DP-Synthetic</name>\n    <callManagerGroup>\n"
        "      <name>CMG-Synthetic</name>\n      <tftpDefault>true</tftpDefault>\n"
        f"      <members>\n{cms}      </members>\n"
        "    </callManagerGroup>\n  </devicePool>\n"
        f"  <TVS>\n    <members>\n{members}    </members>\n  </TVS>\n"
        f"  <sipProfile>\n    <phoneLabel>{device}</phoneLabel>\n  </sipProfile>\n"
        "  <loadInformation>sip78xx.14-2-1-0101-45</loadInformation>\n"
        "  <deviceSecurityMode>1</deviceSecurityMode>\n"
        "  <transportLayerProtocol>2</transportLayerProtocol>\n"
        f"  <capfAuthMode>{auth_mode}</capfAuthMode>\n"
        "  <capfList>\n    <capf>\n      <phonePort>3804</phonePort>\n"
        f"      <processNodeName>{capf}</processNodeName>\n    </capf>\n  </capfList>\n"
        "  <certHash></certHash>\n  <encrConfig>false</encrConfig>\n"
        "</device>\n"
    )
    return xml.encode()


def tftp_get(cap: Cap, cli: Host, srv: Host, name: str, content: bytes | None,
             cport: int, tid: int, *, rtt_us: int = 900, comment: str = "") -> None:
    """RRQ (RFC 1350, octet, no options); DATA from the server's transfer ID `tid`
    in 512-byte blocks, each ACKed; content None = ERROR 1 "File not found"."""
    cap.emit(cli, srv, UDP(sport=cport, dport=69) / TFTP(op=1)
             / TFTP_RRQ(filename=name.encode(), mode=b"octet"), comment=comment)
    cap.wait_us(rtt_us)
    if content is None:
        cap.emit(srv, cli, UDP(sport=tid, dport=cport) / TFTP(op=5)
                 / TFTP_ERROR(errorcode=1, errormsg=b"File not found"))
        cap.wait_us(2000)
        return
    blocks = [content[i:i + 512] for i in range(0, len(content) + 1, 512)]
    for n, blk in enumerate(blocks, 1):
        cap.emit(srv, cli, UDP(sport=tid, dport=cport) / TFTP(op=3) / TFTP_DATA(block=n)
                 / Raw(blk))
        cap.wait_us(180)
        cap.emit(cli, srv, UDP(sport=cport, dport=tid) / TFTP(op=4) / TFTP_ACK(block=n))
        cap.wait_us(rtt_us // 3)
    cap.wait_us(2000)


def soa(zone: str) -> DNSRRSOA:
    return DNSRRSOA(rrname=zone, ttl=300, mname="ns1." + zone, rname="hostmaster." + zone,
                    serial=2026120101, refresh=3600, retry=600, expire=86400, minimum=300)


def dns_msg(qid: int, name: str, qtype: str, *, resp: bool = False, rcode: int = 0,
            answers: Iterable[str] = (), zone: str = "") -> DNS:
    q = DNSQR(qname=name, qtype=qtype)
    if not resp:
        return DNS(id=qid, rd=1, qd=q)
    an = [DNSRR(rrname=name, type=qtype, ttl=3600, rdata=a) for a in answers]
    ns = [soa(zone)] if (not answers and zone) else []
    return DNS(id=qid, qr=1, aa=0, rd=1, ra=1, rcode=rcode, qd=q, an=an, ns=ns)


def dns_udp(cap: Cap, cli: Host, srv: Host, qid: int, sport: int, name: str, qtype: str,
            rcode: int, answers: list[str], zone: str, *, rtt_us: int = 1500,
            hbh: bool = False) -> None:
    cap.emit(cli, srv, UDP(sport=sport, dport=53) / dns_msg(qid, name, qtype), hbh=hbh)
    cap.wait_us(rtt_us)
    dns_reply(cap, srv, cli, qid, sport, name, qtype, rcode, answers, zone)
    cap.wait_us(3000)


def dns_reply(cap: Cap, srv: Host, cli: Host, qid: int, sport: int, name: str, qtype: str,
              rcode: int, answers: list[str], zone: str) -> None:
    cap.emit(srv, cli, UDP(sport=53, dport=sport) / dns_msg(
        qid, name, qtype, resp=True, rcode=rcode, answers=answers, zone=zone))


def dns_a_aaaa(cap: Cap, cli: Host, srv: Host, qid: int, sport: int, name: str) -> None:
    """A then AAAA from one socket under one ID, 40 us apart (glibc's parallel lookup,
    res_send.c send_dg, when it reuses the ID)."""
    for qtype in ("A", "AAAA"):
        cap.emit(cli, srv, UDP(sport=sport, dport=53) / dns_msg(qid, name, qtype))
        cap.wait_us(40)


class TcpConn:
    """One TCP connection with real sequence/acknowledgement bookkeeping."""

    MSS = 1460

    def __init__(self, cap: Cap, cli: Host, srv: Host, sport: int, dport: int,
                 cisn: int, sisn: int, *, rtt_us: int = 400) -> None:
        self.cap, self.cli, self.srv = cap, cli, srv
        self.sport, self.dport = sport, dport
        self.cseq, self.sseq = cisn, sisn
        self.cack = self.sack = 0
        self.rtt = rtt_us

    def _emit(self, from_cli: bool, flags: str, payload: bytes = b"",
              opts: list[tuple[str, Any]] | None = None, hbh: bool = False) -> None:
        if from_cli:
            seg = TCP(sport=self.sport, dport=self.dport, seq=self.cseq, ack=self.cack,
                      flags=flags, window=64240 if "S" in flags else 502, options=opts or [])
            src, dst = self.cli, self.srv
        else:
            seg = TCP(sport=self.dport, dport=self.sport, seq=self.sseq, ack=self.sack,
                      flags=flags, window=65160 if "S" in flags else 509, options=opts or [])
            src, dst = self.srv, self.cli
        if "A" not in flags:
            seg.ack = 0
        self.cap.emit(src, dst, seg / Raw(payload) if payload else seg, hbh=hbh)
        n = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if from_cli:
            self.cseq = (self.cseq + n) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + n) & 0xFFFFFFFF

    def syn(self, *, hbh: bool = False, retransmit: bool = False) -> None:
        if retransmit:
            self.cseq = (self.cseq - 1) & 0xFFFFFFFF
        self._emit(True, "S", opts=[("MSS", self.MSS), ("NOP", None), ("WScale", 7)],
                   hbh=hbh)

    def handshake(self) -> None:
        self.syn()
        self.sack = self.cseq
        self.cap.wait_us(self.rtt)
        self._emit(False, "SA", opts=[("MSS", self.MSS), ("NOP", None), ("WScale", 7)])
        self.cack = self.sseq
        self.cap.wait_us(60)
        self._emit(True, "A")
        self.cap.wait_us(300)

    def reset(self, from_cli: bool) -> None:
        """RST with the sender's next sequence number (RFC 9293 §3.10.7.3)."""
        self._emit(from_cli, "R")

    def rst_answer(self) -> None:
        """RST/ACK to the SYN just sent (RFC 9293 §3.10.7.1: closed port)."""
        self.sack = self.cseq
        self.cap.wait_us(self.rtt)
        self._emit(False, "RA")

    def send(self, from_cli: bool, data: bytes, *, cuts: list[int] | None = None,
             ack: bool = True, gap_us: int = 40) -> None:
        """Send `data` as segments (at `cuts`, else at the MSS), then one ACK back."""
        bounds = cuts if cuts is not None else list(range(self.MSS, len(data), self.MSS))
        edges = [0, *bounds, len(data)]
        self._sync(not from_cli)  # the sender acknowledges everything it has received
        for a, b in zip(edges, edges[1:], strict=False):
            self._emit(from_cli, "PA", data[a:b])
            self.cap.wait_us(gap_us)
        self._sync(from_cli)
        if ack:
            self.cap.wait_us(self.rtt // 4)
            self._emit(not from_cli, "A")
        self.cap.wait_us(self.rtt)

    def _sync(self, from_cli: bool) -> None:
        """The receiver of data from the client (from_cli) / server now acknowledges it."""
        if from_cli:
            self.sack = self.cseq
        else:
            self.cack = self.sseq

    def close(self, cli_first: bool = True) -> None:
        """FIN/ACK from one side, FIN/ACK back, final ACK."""
        self._sync(cli_first)
        self._sync(not cli_first)
        self._emit(cli_first, "FA")
        self._sync(cli_first)
        self.cap.wait_us(self.rtt)
        self._emit(not cli_first, "FA")
        self._sync(not cli_first)
        self.cap.wait_us(60)
        self._emit(cli_first, "A")
        self.cap.wait_us(1000)


# --- TLS (RFC 5246 §6.2/§7.4, RFC 8446 §4) ---------------------------------------------


def tls_record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def hs(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def ext(etype: int, body: bytes) -> bytes:
    return struct.pack("!HH", etype, len(body)) + body


def u8v(b: bytes) -> bytes:
    return bytes([len(b)]) + b


def u16v(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def client_hello(rng: random.Random, *, tls13: bool) -> bytes:
    suites = [0xC02F, 0xC030, 0xC02B, 0xC02C, 0x009E, 0x009F, 0xC027, 0xC028, 0x00FF]
    if tls13:
        suites = [0x1302, 0x1303, 0x1301, *suites]
    exts = [
        ext(0x000B, u8v(b"\x00\x01\x02")),  # ec_point_formats
        ext(0x000A, u16v(struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))),  # groups
        ext(0x0016, b""),  # encrypt_then_mac
        ext(0x0017, b""),  # extended_master_secret
        ext(0x000D, u16v(struct.pack("!6H", 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                                     0x0601))),  # signature_algorithms
    ]
    if tls13:
        exts.append(ext(0x002B, u8v(struct.pack("!HH", 0x0304, 0x0303))))  # supported_versions
        exts.append(ext(0x002D, u8v(b"\x01")))  # psk_key_exchange_modes
        ks = struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
        exts.append(ext(0x0033, u16v(ks)))  # key_share
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + u8v(rng.randbytes(32))
            + u16v(b"".join(struct.pack("!H", s) for s in suites)) + u8v(b"\x00")
            + u16v(b"".join(exts)))
    return tls_record(22, hs(1, body), 0x0301)


def server_hello(rng: random.Random, sid: bytes, *, tls13: bool) -> bytes:
    if tls13:
        exts = [ext(0x002B, struct.pack("!H", 0x0304)),
                ext(0x0033, struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))]
        suite = 0x1302
    else:
        exts = [ext(0xFF01, b"\x00"), ext(0x000B, u8v(b"\x00\x01\x02")), ext(0x0017, b"")]
        suite = 0xC030
    body = (struct.pack("!H", 0x0303) + rng.randbytes(32) + u8v(sid)
            + struct.pack("!HB", suite, 0) + u16v(b"".join(exts)))
    return hs(2, body)


def certificate_msg(ders: list[bytes]) -> bytes:
    chain = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    return hs(11, len(chain).to_bytes(3, "big") + chain)


def server_key_exchange(rng: random.Random) -> bytes:
    params = b"\x03" + struct.pack("!H", 0x001D) + u8v(rng.randbytes(32))
    return hs(12, params + struct.pack("!H", 0x0804) + u16v(rng.randbytes(256)))


def pem_to_der(path: str) -> bytes:
    with open(path, encoding="ascii") as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]
    return base64.b64decode("".join(lines))


def opaque(rng: random.Random, n: int) -> bytes:
    """Ciphertext stand-in: n bytes from the scenario's seeded generator."""
    return rng.randbytes(n)


# CAPF plaintext sizes of a null-string install against real CUCM (DOMAIN.md §3.3).
CAPF_SERVER_FIRST = [("s", 12), ("c", 39), ("s", 17), ("c", 313), ("s", 973), ("c", 12),
                     ("s", 12)]


def capf_records(conn: TcpConn, rng: random.Random, sealed: Callable[[int], int],
                 version: int = 0x0303) -> None:
    """The CAPF install dialogue (CAPF_SERVER_FIRST) as application_data records, each
    `sealed(plaintext size)` bytes long."""
    for who, size in CAPF_SERVER_FIRST:
        conn.cap.wait_us(2000 if who == "s" else 1500)
        conn.send(who == "c", tls_record(23, opaque(rng, sealed(size)), version))


def capf_connection(n: int, phone: Host, capf: Host, sport: int, isns: tuple[int, int],
                    seed: int, realpeer: str) -> tuple[Cap, TcpConn, random.Random, bytes]:
    """Scenario n's capture with an established TCP connection phone -> capf:3804, its
    random generator, and the DER of realpeer's CAPF certificate."""
    cap = Cap(start(n))
    rng = random.Random(seed)
    cert = pem_to_der(os.path.join(realpeer, "data", "certs", "capf.crt.pem"))
    conn = TcpConn(cap, phone, capf, sport, 3804, *isns)
    conn.handshake()
    return cap, conn, rng, cert


def tls12_capf_session(conn: TcpConn, rng: random.Random, cert_der: bytes) -> None:
    """A TLS 1.2 (AES-GCM: record = plaintext + 24) CAPF null-string install."""
    tls12_handshake(conn, rng, cert_der)
    capf_records(conn, rng, lambda n: n + 24)
    conn.send(True, tls_record(21, opaque(rng, 26)), ack=False)  # close_notify
    conn.send(False, tls_record(21, opaque(rng, 26)), ack=False)
    conn.close(cli_first=True)


def tls12_handshake(conn: TcpConn, rng: random.Random, cert_der: bytes) -> None:
    """ClientHello; ServerHello+Certificate+ServerKeyExchange+ServerHelloDone;
    ClientKeyExchange+CCS+Finished; CCS+Finished (RFC 5246 §7.3, ECDHE-RSA AES-GCM)."""
    ch = client_hello(rng, tls13=False)
    conn.send(True, ch)
    flight = tls_record(22, server_hello(rng, rng.randbytes(32), tls13=False)
                        + certificate_msg([cert_der]) + server_key_exchange(rng)
                        + hs(14, b""))
    conn.send(False, flight)
    cke = tls_record(22, hs(16, u8v(rng.randbytes(32))))
    conn.send(True, cke + tls_record(20, b"\x01") + tls_record(22, opaque(rng, 40)),
              ack=False)
    conn.send(False, tls_record(20, b"\x01") + tls_record(22, opaque(rng, 40)), ack=False)


def v2_client_hello(rng: random.Random, version: int, specs: list[int]) -> bytes:
    """SSLv2-compatible ClientHello (RFC 5246 Appendix E.2): 2-byte header with the high
    bit set, msg_type 1, version, the three lengths, V2CipherSpecs, no session_id, a
    32-byte challenge."""
    cipher_specs = b"".join(s.to_bytes(3, "big") for s in specs)
    challenge = rng.randbytes(32)
    body = (struct.pack("!BHHHH", 1, version, len(cipher_specs), 0, len(challenge))
            + cipher_specs + challenge)
    return struct.pack("!H", 0x8000 | len(body)) + body


def cbc_len(plain: int, mac: int = 20, block: int = 16) -> int:
    """TLS 1.0 block-cipher record length (RFC 2246 §6.2.3.2): plaintext + MAC + padding
    (at least the padding_length byte) to a multiple of the block size."""
    return (plain + mac + 1 + block - 1) // block * block


# ---------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------


def start(n: int) -> int:
    """Each file starts one hour after the previous one."""
    return (EPOCH + 3600 * n) * NS


def gen_vlan_qinq() -> bytes:
    phone = phone_host(0xCC, "198.51.100.37")
    tftp = server_host("203.0.113.10", 0x5100)
    capf = server_host("203.0.113.20", 0x5200)
    dns = server_host("192.0.2.53", 0x5300)
    capf_name = "capf.qinq.example"

    def wrap(l3: Packet, src: Host, dst: Host) -> tuple[bytes, int]:
        if src is phone:  # access side: 802.1Q voice VLAN 110, CoS 3
            return bytes(Ether(src=src.mac, dst=dst.mac) / Dot1Q(prio=3, vlan=110) / l3), 0
        # trunk side: provider S-tag 2001 (0x88a8) outside the customer C-tag 110
        return bytes(Ether(src=src.mac, dst=dst.mac) / Dot1AD(vlan=2001)
                     / Dot1Q(prio=3, vlan=110) / l3), 0

    cap = Cap(start(0), wrap)
    dev = device_name(phone)
    cfg = config_xml(dev, capf_name, [capf_name], 2)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", cfg, 49201, 36012)
    cap.wait_us(25_000)
    dns_udp(cap, phone, dns, 0x4A11, 51514, capf_name, "A", 0, [capf.ip], "qinq.example")
    cap.wait_us(40_000)
    conn = TcpConn(cap, phone, capf, 49733, 3804, 0x6B8B4567, 0)
    conn.syn()
    for back_off in (1, 2, 4, 8):  # RFC 6298 exponential SYN back-off
        cap.wait_us(back_off * 1_000_000 + 1_300)
        conn.syn(retransmit=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_sll2_nxdomain() -> bytes:
    phone = phone_host(0xC2, "198.51.100.42")
    tftp = server_host("203.0.113.11", 0x6100)
    dns = server_host("192.0.2.53", 0x6300)
    capf_name = "capf.sll2.example"
    gw_mac = bytes.fromhex(GW_MAC.replace(":", ""))

    def wrap(l3: Packet, src: Host, dst: Host) -> tuple[bytes, int]:
        # Captured on the gateway's voice-VLAN interface (ifindex 7) with `-i any`:
        # PACKET_HOST (0) for what the phone sends, PACKET_OUTGOING (4) towards it.
        incoming = src is phone
        mac = bytes.fromhex(phone.mac.replace(":", "")) if incoming else gw_mac
        sll = CookedLinuxV2(proto=0x0800, ifindex=7, lladdrtype=1,
                            pkttype=0 if incoming else 4, lladdrlen=6, src=mac + b"\0\0")
        return bytes(sll / l3), 0

    cap = Cap(start(1), wrap)
    dev = device_name(phone)
    cfg = config_xml(dev, capf_name, [capf_name, "cm-b.sll2.example"], 2)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", cfg, 50877, 41002)
    cap.wait_us(31_000)
    dns_udp(cap, phone, dns, 0x0E21, 40110, capf_name, "A", 3, [], "sll2.example")
    dns_udp(cap, phone, dns, 0x0E22, 40110, capf_name, "AAAA", 3, [], "sll2.example")
    iface = Iface(LINKTYPE_LINUX_SLL2, "any")
    return pcapng_bytes([iface], cap.recs, appl="capfcap tools/gen_pcaps.py")


def gen_sll_ipv6_refused() -> bytes:
    phone = phone_host(0xC6, "2001:db8:51::37")
    capf = server_host("2001:db8:113::20", 0)
    dns = server_host("2001:db8:53::53", 0)
    gw_mac = bytes.fromhex(GW_MAC.replace(":", ""))

    def wrap(l3: Packet, src: Host, dst: Host) -> tuple[bytes, int]:
        incoming = src is phone
        mac = bytes.fromhex(phone.mac.replace(":", "")) if incoming else gw_mac
        sll = CookedLinux(pkttype=0 if incoming else 4, lladdrtype=1, lladdrlen=6,
                          src=mac + b"\0\0", proto=0x86DD)
        return bytes(sll / l3), 0

    cap = Cap(start(2), wrap)
    dns_udp(cap, phone, dns, 0x7C01, 53310, "capf.v6.example", "AAAA", 0, [capf.ip],
            "v6.example", hbh=True)
    cap.wait_us(20_000)
    for i, sport in enumerate((45001, 45017, 45033)):
        conn = TcpConn(cap, phone, capf, sport, 3804, 0x1F2E3D4C + i * 0x01000000, 0)
        conn.syn(hbh=True)
        conn.rst_answer()
        cap.wait_us(5_000_000)
    return pcap_bytes(LINKTYPE_LINUX_SLL, cap.recs)


def _capf_syn_icmp(cap: Cap, phone: Host, capf: Host, sender: Host, sports: tuple[int, ...],
                   icmp_of: Callable[[bytes], Packet], *, delay_us: int = 700,
                   retransmit_us: int = 0, isn: tuple[int, int] = (0x4C000000, 0x222222),
                   gap_us: int = 3_000_000) -> None:
    """One connection to 3804 per source port (ISN isn[0] + i * isn[1]), `gap_us` apart;
    the SYN is answered by `sender` with the ICMP error `icmp_of(quoted SYN datagram)`
    after `delay_us` (after one SYN retransmission at `retransmit_us`, when given)."""
    for i, sport in enumerate(sports):
        conn = TcpConn(cap, phone, capf, sport, 3804, isn[0] + i * isn[1], 0)
        l4 = TCP(sport=sport, dport=3804, seq=conn.cseq, flags="S", window=64240,
                 options=[("MSS", 1460), ("NOP", None), ("WScale", 7)])
        # RFC 792 / RFC 4443 §3.1: the quote is the datagram as the sender received it.
        syn = (IPv6(src=phone.ip, dst=capf.ip, hlim=63) / l4 if phone.v6 else
               IP(src=phone.ip, dst=capf.ip, ttl=63, id=phone.ip_id + 1, flags="DF") / l4)
        conn.syn()
        if retransmit_us:
            cap.wait_us(retransmit_us)
            conn.syn(retransmit=True)
        cap.wait_us(delay_us)
        cap.emit(sender, phone, icmp_of(bytes(syn)))
        cap.wait_us(gap_us)


def _capf_icmp_capture(n: int, phone: Host, capf: Host, dns: Host, sender: Host,
                       label: str, qid: int, sports: tuple[int, ...],
                       icmp_of: Callable[[bytes], Packet], **kw: Any) -> bytes:
    """File `n`: the phone resolves capf.<label>.example (A or AAAA), then each of its
    connections to 3804 is answered by `sender` with an ICMP error (`_capf_syn_icmp`)."""
    cap = Cap(start(n))
    dns_udp(cap, phone, dns, qid, 61000 + 2 * (qid - 0x2B5C), f"capf.{label}.example",
            "AAAA" if phone.v6 else "A", 0, [capf.ip], f"{label}.example")
    cap.wait_us(15_000)
    _capf_syn_icmp(cap, phone, capf, sender, sports, icmp_of, **kw)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_icmp_unreachable() -> bytes:
    return _capf_icmp_capture(
        3, phone_host(0xD1, "198.51.100.61"), server_host("203.0.113.30", 0x7200),
        server_host("192.0.2.53", 0x7300), server_host("192.0.2.254", 0x7400), "icmp",
        0x2B5C, (52110, 52111, 52112), lambda q: ICMP(type=3, code=13) / Raw(q),
        isn=(0x3A000000, 0x111111), gap_us=5_000_000)


def gen_icmp_port_unreach_server() -> bytes:
    capf = server_host("203.0.113.31", 0x7500)
    return _capf_icmp_capture(
        20, phone_host(0xD2, "198.51.100.62"), capf, server_host("192.0.2.53", 0x7600), capf,
        "portun", 0x2B5D, (52120, 52121, 52122), lambda q: ICMP(type=3, code=3) / Raw(q),
        delay_us=350)


def gen_icmp_host_unreach_router() -> bytes:
    # The router queues the SYN while its ARP for the server goes unanswered, then sends
    # host unreachable (RFC 1812 §4.3.3.1) about 3 s later; the phone retransmitted at 1 s.
    return _capf_icmp_capture(
        21, phone_host(0xD3, "198.51.100.63"), server_host("203.0.113.32", 0x7700),
        server_host("192.0.2.53", 0x7800), server_host("192.0.2.254", 0x7900), "hostun",
        0x2B5E, (52130, 52131), lambda q: ICMP(type=3, code=1) / Raw(q),
        delay_us=2_000_000, retransmit_us=1_000_000)


def gen_icmpv6_admin_prohibited() -> bytes:
    return _capf_icmp_capture(
        22, phone_host(0xD4, "2001:db8:51::64"), server_host("2001:db8:113::33", 0),
        server_host("2001:db8:53::53", 0), server_host("2001:db8:51::1", 0), "v6filter",
        0x2B5F, (52140, 52141, 52142), lambda q: ICMPv6DestUnreach(code=1) / Raw(q),
        delay_us=500)


def gen_icmp_tftp_port_unreach() -> bytes:
    phone = phone_host(0xD6, "198.51.100.66")
    tftp = server_host("203.0.113.34", 0x7A00)
    cap = Cap(start(23))
    dev = device_name(phone)
    for n, (name, sport) in enumerate(((f"CTL{dev}.tlv", 50101), (f"ITL{dev}.tlv", 50102),
                                       ("ITLFile.tlv", 50103), (f"{dev}.cnf.xml", 50104))):
        l4 = UDP(sport=sport, dport=69) / TFTP(op=1) / TFTP_RRQ(filename=name.encode(),
                                                                 mode=b"octet")
        rrq = IP(src=phone.ip, dst=tftp.ip, ttl=63, id=phone.ip_id + 1) / l4
        cap.emit(phone, tftp, l4)
        cap.wait_us(400 + 10 * n)
        # RFC 1122 §3.2.2.1 / §4.1.3.1: the host answers a UDP datagram to a port nobody
        # listens on with port unreachable, quoting it.
        cap.emit(tftp, phone, ICMP(type=3, code=3) / Raw(bytes(rrq)))
        cap.wait_us(1_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_dns_tcp() -> bytes:
    phone = phone_host(0xD5, "198.51.100.88")
    tftp = server_host("203.0.113.12", 0x8100)
    dns = server_host("192.0.2.53", 0x8300)
    cm_a, cm_b = "cm-a.dnstcp.example", "cm-b.dnstcp.example"
    cap = Cap(start(4))
    dev = device_name(phone)
    cfg = config_xml(dev, cm_a, [cm_a, cm_b], 2)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", cfg, 49900, 37777)
    cap.wait_us(12_000)
    conn = TcpConn(cap, phone, dns, 57001, 53, 0x0BADCAFE, 0x51ED2701, rtt_us=800)
    conn.handshake()
    q = bytes(dns_msg(0x6D01, cm_a, "A"))
    conn.send(True, struct.pack("!H", len(q)) + q)  # RFC 1035 §4.2.2 length prefix
    r = bytes(dns_msg(0x6D01, cm_a, "A", resp=True, rcode=2))
    conn.send(False, struct.pack("!H", len(r)) + r)
    conn.close(cli_first=True)
    cap.wait_us(10_000)
    dns_udp(cap, phone, dns, 0x6D02, 57002, cm_b, "A", 0, [], "dnstcp.example")
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_multi_iface() -> bytes:
    phone = phone_host(0xDA, "198.51.100.90")
    tftp = server_host("203.0.113.13", 0x9100)
    dns = server_host("192.0.2.53", 0x9300)
    cm_a, cm_b = "cm-a.multi.example", "cm-b.multi.example"

    def wrap(l3: Packet, src: Host, dst: Host) -> tuple[bytes, int]:
        if src is phone:  # if0: Ethernet tap on the phone's access port
            return bytes(Ether(src=src.mac, dst=dst.mac) / l3), 0
        return bytes(l3), 1  # if1: raw IPv4 (a GRE/ERSPAN decap interface)

    cap = Cap(start(5), wrap)
    dev = device_name(phone)
    tftp_get(cap, phone, tftp, f"CTLSEP{dev[3:]}.tlv", None, 50011, 42001)
    cfg = config_xml(dev, cm_a, [cm_a, cm_b], 0)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", cfg, 50012, 42002,
             comment="config request of the phone")
    cap.wait_us(20_000)
    dns_udp(cap, phone, dns, 0x3101, 44321, cm_a, "A", 0, ["203.0.113.14"], "multi.example")
    dns_udp(cap, phone, dns, 0x3102, 44322, cm_b, "A", 3, [], "multi.example")
    # if1 has nanosecond resolution: give its frames sub-microsecond parts.
    recs = [Rec(r.ts + (123 + i if r.iface else 0), r.data, r.iface, r.comment)
            for i, r in enumerate(cap.recs)]
    n0 = sum(1 for r in recs if r.iface == 0)
    first, last = recs[0].ts, recs[-1].ts
    stats = [IfStats(0, last + 1_000_000, first, last, n0, 0),
             IfStats(1, last + 1_000_000, first, last, len(recs) - n0, 0)]
    ifaces = [Iface(LINKTYPE_ETHERNET, "eth1"), Iface(LINKTYPE_RAW, "erspan0", tsresol=9)]
    return pcapng_bytes(ifaces, recs, appl="capfcap tools/gen_pcaps.py", stats=stats)


def gen_nsec_bigendian() -> bytes:
    phone = phone_host(0xE0, "198.51.100.99")
    dns = server_host("192.0.2.53", 0xA300)
    cap = Cap(start(6) + 123_456_789)
    dns_udp(cap, phone, dns, 0x5E01, 33001, "cm-a.nsec.example", "A", 0, ["203.0.113.15"],
            "nsec.example", rtt_us=1234)
    cap.t += 987  # sub-microsecond step, visible only with nanosecond resolution
    dns_udp(cap, phone, dns, 0x5E02, 33002, "cm-a.nsec.example", "AAAA", 0,
            ["2001:db8:113::15"], "nsec.example", rtt_us=1111)
    recs = [Rec(r.ts + 7 * i, r.data) for i, r in enumerate(cap.recs)]
    return pcap_bytes(LINKTYPE_ETHERNET, recs, nsec=True, big_endian=True)


def gen_duplicates_span(realpeer: str) -> bytes:
    phone = phone_host(0xE4, "198.51.100.120")
    capf = server_host("203.0.113.21", 0xB200)
    cap, conn, rng, cert = capf_connection(7, phone, capf, 51999, (0x2C0FFEE0, 0x7E57AB1E), 7,
                                           realpeer)
    tls12_capf_session(conn, rng, cert)
    out: list[Rec] = []
    for r in cap.recs:  # SPAN of rx and tx: each frame again 7 us later, byte-identical
        out += [r, Rec(r.ts + 7 * US, r.data)]
    return pcap_bytes(LINKTYPE_ETHERNET, out)


def gen_tls_split_cert(realpeer: str) -> bytes:
    phone = phone_host(0xE8, "198.51.100.130")
    capf = server_host("203.0.113.22", 0xC200)
    cap = Cap(start(8))
    rng = random.Random(48)
    cert = pem_to_der(os.path.join(realpeer, "data", "certs", "capf-old.crt.pem"))
    conn = TcpConn(cap, phone, capf, 53804, 3804, 0x01234567, 0x89ABCDEF)
    conn.handshake()
    conn.send(True, client_hello(rng, tls13=False))
    sh = tls_record(22, server_hello(rng, rng.randbytes(32), tls13=False))
    crt = tls_record(22, certificate_msg([cert]))
    rest = tls_record(22, server_key_exchange(rng)) + tls_record(22, hs(14, b""))
    third = len(crt) // 3
    # The Certificate record starts in segment 1, fills segment 2, ends in segment 3.
    conn.send(False, sh + crt + rest, cuts=[len(sh) + third, len(sh) + 2 * third])
    conn.send(True, tls_record(21, b"\x02\x30"), ack=False)  # fatal unknown_ca (48)
    conn.close(cli_first=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def _tls13_hello(conn: TcpConn, rng: random.Random) -> bytes:
    """Open `conn` and send a TLS 1.3 ClientHello; its legacy_session_id, which the
    server echoes (RFC 8446 §4.1.3)."""
    conn.handshake()
    ch = client_hello(rng, tls13=True)
    conn.send(True, ch)
    return ch[5 + 4 + 2 + 32 + 1:5 + 4 + 2 + 32 + 1 + 32]


def _tls13_capf_records(cap: Cap, conn: TcpConn, rng: random.Random) -> bytes:
    """The CAPF dialogue of an established TLS 1.3 session as encrypted records (plaintext
    + 17: content type and AEAD tag, RFC 8446 §5.2), close_notify and FIN; the capture."""
    for who, size in CAPF_SERVER_FIRST:
        cap.wait_us(2500)
        conn.send(who == "c", tls_record(23, opaque(rng, size + 17)), ack=False)
    conn.send(True, tls_record(23, opaque(rng, 19)), ack=False)  # close_notify
    conn.close(cli_first=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_tls13_capf() -> bytes:
    phone = phone_host(0xEC, "198.51.100.140")
    capf = server_host("203.0.113.23", 0xD200)
    cap = Cap(start(9))
    rng = random.Random(13)
    conn = TcpConn(cap, phone, capf, 55123, 3804, 0x13131313, 0x31313131)
    sid = _tls13_hello(conn, rng)
    # ServerHello, change_cipher_spec (RFC 8446 D.4), then EncryptedExtensions+
    # Certificate+CertificateVerify+Finished as one encrypted record (+17: type + tag).
    conn.send(False, tls_record(22, server_hello(rng, sid, tls13=True))
              + tls_record(20, b"\x01") + tls_record(23, opaque(rng, 1290)))
    conn.send(True, tls_record(20, b"\x01") + tls_record(23, opaque(rng, 53)), ack=False)
    conn.send(False, tls_record(23, opaque(rng, 250)) + tls_record(23, opaque(rng, 250)),
              ack=False)  # two NewSessionTickets
    return _tls13_capf_records(cap, conn, rng)


def gen_sslv2_hello_capf(realpeer: str) -> bytes:
    phone = phone_host(0xF2, "198.51.100.150")
    capf = server_host("203.0.113.24", 0xE200)
    cap, conn, rng, cert = capf_connection(12, phone, capf, 50380, (0x5F2A0001, 0x2A5F0001), 2,
                                           realpeer)
    # TLS_RSA_WITH_AES_256_CBC_SHA, _AES_128_CBC_SHA, _3DES_EDE_CBC_SHA as {0x00, suite};
    # SSL2_RC4_128_WITH_MD5, SSL2_DES_192_EDE3_CBC_WITH_MD5 (SSL 2.0 only)
    specs = [0x000035, 0x00002F, 0x00000A, 0x010080, 0x0700C0]
    conn.send(True, v2_client_hello(rng, 0x0301, specs))
    sh = hs(2, struct.pack("!H", 0x0301) + rng.randbytes(32) + u8v(rng.randbytes(32))
            + struct.pack("!HB", 0x002F, 0))  # TLS 1.0, TLS_RSA_WITH_AES_128_CBC_SHA
    conn.send(False, tls_record(22, sh + certificate_msg([cert]) + hs(14, b""), 0x0301))
    cke = tls_record(22, hs(16, u16v(rng.randbytes(256))), 0x0301)  # RSA premaster
    fin = cbc_len(4 + 12)  # Finished: header + 12-byte verify_data (RFC 2246 §7.4.9)
    conn.send(True, cke + tls_record(20, b"\x01", 0x0301)
              + tls_record(22, opaque(rng, fin), 0x0301), ack=False)
    conn.send(False, tls_record(20, b"\x01", 0x0301) + tls_record(22, opaque(rng, fin), 0x0301),
              ack=False)
    capf_records(conn, rng, cbc_len, 0x0301)
    conn.send(True, tls_record(21, opaque(rng, cbc_len(2)), 0x0301), ack=False)  # close_notify
    conn.close(cli_first=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# --- Derived from real captures ---------------------------------------------------------


@dataclass
class PcapFile:
    header: bytes
    endian: str
    records: list[tuple[bytes, bytes]]  # (16-byte record header, data)


def read_pcap(path: str) -> PcapFile:
    """Plain libpcap reader (this tool's inputs are the trusted realpeer files)."""
    with open(path, "rb") as f:
        blob = f.read()
    magic = blob[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(f"{path}: not a libpcap file")
    off, recs = 24, []
    while off + 16 <= len(blob):
        hdr = blob[off:off + 16]
        caplen = struct.unpack(e + "I", hdr[8:12])[0]
        recs.append((hdr, blob[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return PcapFile(blob[:24], e, recs)


def ipv4_src(frame: bytes) -> bytes | None:
    """IPv4 source of an Ethernet (optionally 802.1Q) frame, else None."""
    off = 12
    etype = int.from_bytes(frame[off:off + 2], "big")
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 6:
        off += 4
        etype = int.from_bytes(frame[off:off + 2], "big")
    if etype != 0x0800 or len(frame) < off + 2 + 20:
        return None
    return frame[off + 2 + 12:off + 2 + 16]


def ipv4_udp_ports(frame: bytes) -> tuple[int, int] | None:
    """(source, destination) UDP port of an untagged Ethernet IPv4 frame, else None."""
    if frame[12:14] != b"\x08\x00" or len(frame) < 34 or frame[23] != 17:
        return None
    l4 = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < l4 + 4:
        return None
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    return sport, dport


def without_tftp(d: bytes) -> bool:
    """Keep every frame but UDP other than DNS: drops TFTP requests and transfers (the
    data flows run between ephemeral ports, RFC 1350 §4)."""
    ports = ipv4_udp_ports(d)
    return ports is None or 53 in ports


def derive(pf: PcapFile, keep: Callable[[int, bytes], bool]) -> bytes:
    return pf.header + b"".join(h + d for i, (h, d) in enumerate(pf.records) if keep(i, d))


def gen_loss5(pf: PcapFile) -> bytes:
    rng = random.Random(5)
    drops = {i for i in range(len(pf.records)) if rng.random() < 0.05}
    return derive(pf, lambda i, _d: i not in drops)


def from_phone(d: bytes) -> bool | None:
    src = ipv4_src(d)
    return None if src is None else src[:3] == PHONE_SUBNET_PREFIX


def gen_dup(pf: PcapFile) -> bytes:
    e = pf.endian
    nsec = pf.header[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    step = 5_000 if nsec else 5
    out = [pf.header]
    for hdr, d in pf.records:
        sec, frac, cl, wl = struct.unpack(e + "IIII", hdr)
        frac += step
        if frac >= (NS if nsec else 1_000_000):
            sec, frac = sec + 1, frac - (NS if nsec else 1_000_000)
        out += [hdr, d, struct.pack(e + "IIII", sec, frac, cl, wl), d]
    return b"".join(out)


def gen_truncated(pf: PcapFile, keep: int = 61) -> bytes:
    body = derive(pf, lambda i, _d: i < keep)
    hdr, d = pf.records[keep]
    return body + hdr + d[: len(d) // 2]


def pcap_records(pf: PcapFile) -> list[Rec]:
    """The records of a microsecond libpcap file as `Rec`s (ns timestamps), in file order."""
    out = []
    for hdr, d in pf.records:
        sec, usec, _cl, wl = struct.unpack(pf.endian + "IIII", hdr)
        out.append(Rec(sec * NS + usec * US, d, wirelen=wl))
    return out


def phone_macs(recs: list[Rec]) -> set[bytes]:
    """Ethernet sources of the frames from the phone subnet (192.0.2.0/24): the phones'
    MACs, which also mark their ARP frames."""
    return {r.data[6:12] for r in recs if from_phone(r.data) is True}


def sll2_of(eth: bytes, ifindex: int) -> bytes:
    """An Ethernet frame sent by the capturing host, as `tcpdump -i any` writes it
    (LINKTYPE_LINUX_SLL2): protocol, reserved, interface index, ARPHRD_ETHER, packet type
    PACKET_OUTGOING (4), the source MAC padded to 8 bytes; then the Ethernet payload."""
    return struct.pack("!HHIHBB8s", int.from_bytes(eth[12:14], "big"), 0, ifindex, 1, 4, 6,
                       eth[6:12] + b"\0\0") + eth[14:]


def gen_runs_two_ifaces(pf: PcapFile) -> bytes:
    """Two vantage points written in runs, not merged: what the phone sent, on an Ethernet
    tap of its access port (interface 0), then everything the servers sent, as the server
    host's `-i any` (interface 1, SLL2) saw it. Each frame keeps its own time, so the file
    goes back in time where interface 1 starts (`reordercap` restores S01's order)."""
    recs = pcap_records(pf)
    macs = phone_macs(recs)
    phone = [r for r in recs if r.data[6:12] in macs]
    servers = [Rec(r.ts, sll2_of(r.data, 2), 1) for r in recs if r.data[6:12] not in macs]
    ifaces = [Iface(LINKTYPE_ETHERNET, "eth-phone-tap"), Iface(LINKTYPE_LINUX_SLL2, "any")]
    return pcapng_bytes(ifaces, phone + servers, appl="capfcap tools/gen_pcaps.py")


def gen_concat(pf: PcapFile) -> bytes:
    """`mergecap -F pcap -a servers.pcap phone.pcap`: two one-direction captures of the
    same port concatenated instead of merged: the servers' frames, then the phone's."""
    recs = pcap_records(pf)
    macs = phone_macs(recs)
    return pcap_bytes(LINKTYPE_ETHERNET, [r for r in recs if r.data[6:12] not in macs]
                      + [r for r in recs if r.data[6:12] in macs])


JITTER_SWAPS = (1, 5, 42)  # 0-based: records i and i+1 change places


def gen_jitter(pf: PcapFile) -> bytes:
    """Natural reordering: three pairs of neighbouring frames of different flows written
    in the wrong order (S01 frames 2/3, 6/7 and 43/44, 15 us, 4.6 ms and 4.8 ms apart), as
    a multi-queue NIC or a capture's per-interface buffers can; each keeps its own time."""
    recs = list(pf.records)
    for i in JITTER_SWAPS:
        recs[i], recs[i + 1] = recs[i + 1], recs[i]
    return pf.header + b"".join(h + d for h, d in recs)


# ---------------------------------------------------------------------------------------


def gen_real_itl_tftp(realpeer: str) -> bytes:
    phone = phone_host(0xD4, "198.51.100.44")
    tftp = server_host("203.0.113.14", 0x7100)
    itl_path = os.path.join(os.path.dirname(os.path.abspath(realpeer)), "real-itl",
                            "ITLFile.tlv")
    with open(itl_path, "rb") as f:
        itl = f.read()
    cap = Cap(start(11), eth_wrap)
    dev = device_name(phone)
    tftp_get(cap, phone, tftp, f"CTL{dev}.tlv", None, 50101, 42001)
    tftp_get(cap, phone, tftp, f"ITL{dev}.tlv", None, 50102, 42002)
    tftp_get(cap, phone, tftp, "ITLFile.tlv", itl, 50103, 42003)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, "", [tftp.ip], 0),
             50104, 42004)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def _dns_phone_config(n: int, last: int, ip: str, name: str, auth_mode: int
                      ) -> tuple[Cap, Host, Host, Host]:
    """A phone that downloads a config naming `name` as CAPF and TVS node: (capture,
    phone, TFTP server, resolver)."""
    phone = phone_host(last, ip)
    tftp = server_host("203.0.113.16", 0xE100 + n)
    dns = server_host("192.0.2.53", 0xE300 + n)
    cap = Cap(start(n))
    dev = device_name(phone)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, name, [name], auth_mode),
             50200 + n, 43000 + n)
    cap.wait_us(18_000)
    return cap, phone, tftp, dns


def dns_aaaa_nodata_first(cap: Cap, phone: Host, dns: Host, qid: int, sport: int, name: str,
                          zone: str, rtt_us: int) -> None:
    """A and AAAA under one ID; the empty AAAA answer (NOERROR, SOA) comes back first."""
    dns_a_aaaa(cap, phone, dns, qid, sport, name)
    cap.wait_us(rtt_us)
    dns_reply(cap, dns, phone, qid, sport, name, "AAAA", 0, [], zone)


def gen_dns_same_id_aaaa_first() -> bytes:
    name, zone = "pub.sameid.example", "sameid.example"
    cap, phone, _tftp, dns = _dns_phone_config(12, 0xF1, "198.51.100.151", name, 0)
    # a search-list candidate first (resolv.conf `search corp.example`, ndots above 2)
    wrong = name + ".corp.example"
    dns_a_aaaa(cap, phone, dns, 0x51A0, 40120, wrong)
    cap.wait_us(1200)
    dns_reply(cap, dns, phone, 0x51A0, 40120, wrong, "A", 3, [], "corp.example")
    cap.wait_us(60)
    dns_reply(cap, dns, phone, 0x51A0, 40120, wrong, "AAAA", 3, [], "corp.example")
    cap.wait_us(2000)
    dns_aaaa_nodata_first(cap, phone, dns, 0x51A1, 40121, name, zone, 900)
    cap.wait_us(350)  # the empty AAAA answer overtook the A answer
    dns_reply(cap, dns, phone, 0x51A1, 40121, name, "A", 0, ["203.0.113.24"], zone)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_dns_a_timeout_aaaa_nodata() -> bytes:
    name, zone = "pub.atimeout.example", "atimeout.example"
    cap, phone, tftp, dns = _dns_phone_config(13, 0xF2, "198.51.100.152", name, 2)
    dns_aaaa_nodata_first(cap, phone, dns, 0x52B0, 40130, name, zone, 1100)
    for back_off in (1, 2):  # the A query alone again, same ID and port
        cap.wait_us(back_off * 1_000_000)
        cap.emit(phone, dns, UDP(sport=40130, dport=53) / dns_msg(0x52B0, name, "A"))
    # the phone goes on and is answered by the TFTP server: the receive side is captured
    cap.wait_us(10_000_000)
    tftp_get(cap, phone, tftp, "RingList.xml", b"<CiscoIPPhoneRingList/>\n", 50299, 43099)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_dns_a_servfail_aaaa_nodata() -> bytes:
    name, zone = "pub.aservfail.example", "aservfail.example"
    cap, phone, _tftp, dns = _dns_phone_config(14, 0xF3, "198.51.100.153", name, 2)
    dns_aaaa_nodata_first(cap, phone, dns, 0x53C0, 40140, name, zone, 800)
    cap.wait_us(2_400_000)  # the forwarder gave up on the A question
    dns_reply(cap, dns, phone, 0x53C0, 40140, name, "A", 2, [], "")
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# -- verdicts of silence (DESIGN §4 "What silence proves") ------------------------------

SECOND = 1_000_000 * US
SILENCE_GW = Host("198.51.100.1", GW_MAC, 64)
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
        op=1, hwsrc=phone.mac, psrc=phone.ip, pdst=SILENCE_GW.ip)
    rep = Ether(src=SILENCE_GW.mac, dst=phone.mac) / ARP(
        op=2, hwsrc=SILENCE_GW.mac, psrc=SILENCE_GW.ip, hwdst=phone.mac, pdst=phone.ip)
    cap.recs.append(Rec(cap.t, bytes(req), 0, ""))
    cap.wait_us(300)
    cap.recs.append(Rec(cap.t, bytes(rep), 0, ""))
    cap.wait_us(1000)


def gen_silent_two_phones() -> bytes:
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


def gen_silent_alone() -> bytes:
    """Only the phone's unanswered RRQs: nothing proves the direction towards it."""
    cap = Cap(start(42))
    silent_phone(cap, phone_host(0x43, "198.51.100.43"))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_silent_arp() -> bytes:
    """The same, plus an ARP reply to the phone's MAC: the direction towards it is seen."""
    cap = Cap(start(43))
    phone = phone_host(0x44, "198.51.100.44")
    arp_reply(cap, phone)
    silent_phone(cap, phone)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# TFTP transfer-ID and capture-loss scenarios (RFC 1350 §4, RFC 2347): one phone fetches
# CTLSEP/ITLSEP (not found), ITLFile.tlv (the realpeer ITL_good.tlv, with a CAPF record)
# and its config (capfAuthMode 0) from one TFTP server; only ITLFile.tlv varies.


def tftp_rrq(cap: Cap, cli: Host, srv: Host, name: str, cport: int,
             opts: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    pkt = TFTP(op=1) / TFTP_RRQ(filename=name.encode(), mode=b"octet")
    if opts:
        pkt = pkt / TFTP_Options(options=[TFTP_Option(oname=k, value=v) for k, v in opts])
    cap.emit(cli, srv, UDP(sport=cport, dport=69) / pkt)


def tftp_oack(cap: Cap, srv: Host, cli: Host, tid: int, cport: int,
              opts: tuple[tuple[bytes, bytes], ...]) -> None:
    cap.emit(srv, cli, UDP(sport=tid, dport=cport) / TFTP(op=6) / TFTP_OACK()
             / TFTP_Options(options=[TFTP_Option(oname=k, value=v) for k, v in opts]))


def tftp_data(cap: Cap, srv: Host, cli: Host, tid: int, cport: int, n: int,
              blk: bytes) -> None:
    cap.emit(srv, cli, UDP(sport=tid, dport=cport) / TFTP(op=3) / TFTP_DATA(block=n)
             / Raw(blk))


def tftp_ack(cap: Cap, cli: Host, srv: Host, cport: int, tid: int, n: int) -> None:
    cap.emit(cli, srv, UDP(sport=cport, dport=tid) / TFTP(op=4) / TFTP_ACK(block=n))


def tftp_error(cap: Cap, src: Host, dst: Host, sport: int, dport: int, code: int,
               msg: bytes) -> None:
    cap.emit(src, dst, UDP(sport=sport, dport=dport) / TFTP(op=5)
             / TFTP_ERROR(errorcode=code, errormsg=msg))


def tftp_lockstep(cap: Cap, cli: Host, srv: Host, content: bytes, cport: int, tid: int, *,
                  blksize: int = 512, first: int = 1, lost: frozenset[int] = frozenset(),
                  upto: int | None = None, between: Callable[[int], None] | None = None,
                  ) -> None:
    """DATA/ACK lock-step (RFC 1350 §2) from block `first` (to `upto`, default the short
    final block). A block in `lost` is sent but not captured: the phone still ACKs it.
    `between(n)` runs after the ACK of block n."""
    blocks = [content[i:i + blksize] for i in range(0, len(content) + 1, blksize)]
    last = len(blocks) if upto is None else upto
    for n in range(first, last + 1):
        if n not in lost:
            tftp_data(cap, srv, cli, tid, cport, n, blocks[n - 1])
        cap.wait_us(180)
        tftp_ack(cap, cli, srv, cport, tid, n)
        cap.wait_us(300)
        if between is not None:
            between(n)


def _tftp_scenario(n: int, last: int, ip: str, srv_ip: str, srv_id: int, realpeer: str,
                   itl_get: Callable[[Cap, Host, Host, bytes], None]) -> bytes:
    phone = phone_host(last, ip)
    tftp = server_host(srv_ip, srv_id)
    itl = _data_file(realpeer, "itl", "ITL_good.tlv")
    cap = Cap(start(n), eth_wrap)
    dev = device_name(phone)
    tftp_get(cap, phone, tftp, f"CTL{dev}.tlv", None, 50201, 43001)
    tftp_get(cap, phone, tftp, f"ITL{dev}.tlv", None, 50202, 43002)
    itl_get(cap, phone, tftp, itl)
    cap.wait_us(3000)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, "", [tftp.ip], 0),
             50204, 43004)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_tftp_two_tids_error5(realpeer: str) -> bytes:
    """RRQ retransmitted after 1 s; each copy answered with DATA 1 from its own TID. The
    phone follows the first (ACK 1) and sends ERROR 5 to the second (RFC 1350 §4)."""
    def itl_get(cap: Cap, phone: Host, tftp: Host, itl: bytes) -> None:
        cport, tid_a, tid_b = 50203, 43003, 43103
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", cport)
        cap.wait_us(1_000_000)
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", cport)
        cap.wait_us(400)
        tftp_data(cap, tftp, phone, tid_a, cport, 1, itl[:512])
        cap.wait_us(150)
        tftp_data(cap, tftp, phone, tid_b, cport, 1, itl[:512])
        cap.wait_us(120)
        tftp_ack(cap, phone, tftp, cport, tid_a, 1)
        cap.wait_us(60)
        tftp_error(cap, phone, tftp, cport, tid_b, 5, b"Unknown transfer ID")
        cap.wait_us(300)
        tftp_lockstep(cap, phone, tftp, itl, cport, tid_a, first=2)
    return _tftp_scenario(12, 0xE1, "198.51.100.61", "203.0.113.15", 0x7200, realpeer,
                          itl_get)


def gen_tftp_two_oacks(realpeer: str) -> bytes:
    """RRQ with blksize/tsize (RFC 2347-2349) retransmitted; both copies answered with an
    OACK from their own TID. The phone ACKs block 0 on the second TID and downloads from
    it; the first TID retransmits its OACK (the phone answers ERROR 5) and gives up with
    ERROR 0."""
    def itl_get(cap: Cap, phone: Host, tftp: Host, itl: bytes) -> None:
        cport, tid_a, tid_b = 50203, 43003, 43103
        req = ((b"blksize", b"1024"), (b"tsize", b"0"))
        got = ((b"blksize", b"1024"), (b"tsize", str(len(itl)).encode()))
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", cport, req)
        cap.wait_us(1_000_000)
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", cport, req)
        cap.wait_us(400)
        tftp_oack(cap, tftp, phone, tid_a, cport, got)
        cap.wait_us(150)
        tftp_oack(cap, tftp, phone, tid_b, cport, got)
        cap.wait_us(120)
        tftp_ack(cap, phone, tftp, cport, tid_b, 0)
        cap.wait_us(300)

        def a_again(n: int) -> None:
            if n == 3:  # the first TID's OACK timer runs out: it retransmits
                tftp_oack(cap, tftp, phone, tid_a, cport, got)
                cap.wait_us(80)
                tftp_error(cap, phone, tftp, cport, tid_a, 5, b"Unknown transfer ID")
                cap.wait_us(200)
            elif n == 6:
                tftp_error(cap, tftp, phone, tid_a, cport, 0, b"Transfer timed out")
                cap.wait_us(200)

        tftp_lockstep(cap, phone, tftp, itl, cport, tid_b, blksize=1024, between=a_again)
    return _tftp_scenario(13, 0xE2, "198.51.100.62", "203.0.113.16", 0x7300, realpeer,
                          itl_get)


def gen_tftp_lost_middle(realpeer: str) -> bytes:
    """DATA blocks 5 and 9 of the ITL are missing from the capture; the phone ACKs them."""
    def itl_get(cap: Cap, phone: Host, tftp: Host, itl: bytes) -> None:
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", 50203)
        cap.wait_us(900)
        tftp_lockstep(cap, phone, tftp, itl, 50203, 43003, lost=frozenset({5, 9}))
    return _tftp_scenario(14, 0xE3, "198.51.100.63", "203.0.113.17", 0x7400, realpeer,
                          itl_get)


def gen_tftp_lost_final(realpeer: str) -> bytes:
    """The short final DATA block of the ITL is missing from the capture; the phone ACKs it
    once and moves on to its config."""
    def itl_get(cap: Cap, phone: Host, tftp: Host, itl: bytes) -> None:
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", 50203)
        cap.wait_us(900)
        tftp_lockstep(cap, phone, tftp, itl, 50203, 43003,
                      lost=frozenset({len(itl) // 512 + 1}))
    return _tftp_scenario(15, 0xE4, "198.51.100.64", "203.0.113.18", 0x7500, realpeer,
                          itl_get)


def gen_tftp_stopped(realpeer: str) -> bytes:
    """The server stops after DATA 7 of the ITL: the phone retransmits ACK 7 three times
    (2 s apart), gives up and fetches its config."""
    def itl_get(cap: Cap, phone: Host, tftp: Host, itl: bytes) -> None:
        tftp_rrq(cap, phone, tftp, "ITLFile.tlv", 50203)
        cap.wait_us(900)
        tftp_lockstep(cap, phone, tftp, itl, 50203, 43003, upto=7)
        for _ in range(3):
            cap.wait_us(2_000_000)
            tftp_ack(cap, phone, tftp, 50203, 43003, 7)
        cap.wait_us(2_000_000)
    return _tftp_scenario(16, 0xE5, "198.51.100.65", "203.0.113.19", 0x7600, realpeer,
                          itl_get)


# -- trust around enrolment (FIELD D1, G1; DOMAIN §3.5) -----------------------------------

def trust_srv() -> Host:
    """TFTP, TVS, CAPF and CallManager in one node (a fresh IP ID counter per file)."""
    return server_host("203.0.113.16", 0x6100)


def _data_file(realpeer: str, *parts: str) -> bytes:
    with open(os.path.join(realpeer, "data", *parts), "rb") as f:
        return f.read()


def _gen_itl_module() -> Any:
    """tools/gen_itl.py (the deterministic ITL builder with the committed test keys)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_itl.py")
    spec = importlib.util.spec_from_file_location("gen_itl", path)
    assert spec is not None and spec.loader is not None
    mod = sys.modules.setdefault("gen_itl", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(mod)
    return mod


def gen_itlsep_download() -> bytes:
    """A phone downloads its per-device ITLSEP<MAC>.tlv, whose signed header names the
    file (DOMAIN.md §1.4 FILENAME, §1.9), so the file carries the phone's MAC."""
    gi = _gen_itl_module()
    phone = phone_host(0xD6, "198.51.100.46")
    tftp = server_host("203.0.113.17", 0x7300)
    dev = device_name(phone)
    sast = gi.make_ident("sast", "ITLRECOVERY_cm-a.voice.example", "ITLRecovery",
                         0x1A2B3C4D5E6F7081)
    capf = gi.make_ident("capf", "CAPF-0badc0de", "CAPF", 0x4D5E6F708192A3B4, ca=True)
    records = [gi.cucm_record(sast, 0, "cm-a.voice.example", tftp.ip),
               gi.cucm_record(capf, 4, "cm-a.voice.example", tftp.ip)]
    itlsep = gi.build_signed(sast, "cucm", 1, records, filename=f"ITL{dev}.tlv")
    cap = Cap(start(13), eth_wrap)
    tftp_get(cap, phone, tftp, f"CTL{dev}.tlv", None, 50111, 42011)
    tftp_get(cap, phone, tftp, f"ITL{dev}.tlv", itlsep, 50112, 42012)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, "", [tftp.ip], 0),
             50114, 42014)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def trust_round(cap: Cap, phone: Host, srv: Host, itl: bytes, mode: int, port0: int) -> None:
    """CTLSEP/ITLSEP not found, ITLFile.tlv and the config (DOMAIN §1.9 order)."""
    dev = device_name(phone)
    tftp_get(cap, phone, srv, f"CTL{dev}.tlv", None, port0, port0 + 1000)
    tftp_get(cap, phone, srv, f"ITL{dev}.tlv", None, port0 + 1, port0 + 1001)
    tftp_get(cap, phone, srv, "ITLFile.tlv", itl, port0 + 2, port0 + 1002)
    tftp_get(cap, phone, srv, f"{dev}.cnf.xml",
             config_xml(dev, srv.ip, [srv.ip], mode), port0 + 3, port0 + 1003)


def trust_scene(realpeer: str, n: int, itl: str, mode: int
                ) -> tuple[Cap, Host, Host, random.Random]:
    """File number `n`: phone 198.51.100.<n> took ITL `itl` and a config (capfAuthMode
    `mode`) from trust_srv(); its capture, the phone, the server and a generator seeded n."""
    phone = phone_host(int(str(n), 16), f"198.51.100.{n}")
    cap = Cap(start(n))
    rng = random.Random(n)
    srv = trust_srv()
    trust_round(cap, phone, srv, _data_file(realpeer, "itl", itl), mode, n * 1000)
    return cap, phone, srv, rng


def tls12_server_flight(conn: TcpConn, rng: random.Random, cert_der: bytes, *,
                        ask_cert: bool = False) -> None:
    """ClientHello, then ServerHello+Certificate+ServerKeyExchange(+CertificateRequest)
    +ServerHelloDone (RFC 5246 §7.3)."""
    conn.send(True, client_hello(rng, tls13=False))
    req = (hs(13, u8v(b"\x01\x40") + u16v(struct.pack("!H", 0x0807)) + u16v(b""))
           if ask_cert else b"")
    conn.send(False, tls_record(22, server_hello(rng, rng.randbytes(32), tls13=False)
                                + certificate_msg([cert_der]) + server_key_exchange(rng)
                                + req + hs(14, b"")))


def gen_distrust_loop(realpeer: str, *, rounds: int = 4, tail_s: int = 40) -> bytes:
    """A locked phone: ITL and config (capfAuthMode 2) `rounds` times, 20 s apart, no CAPF;
    `tail_s` later the phone asks ARP for its gateway (the capture's last frame)."""
    phone = phone_host(0x51, "198.51.100.51")
    itl = _data_file(realpeer, "itl", "ITL_good.tlv")
    srv = trust_srv()
    cap = Cap(start(51 if tail_s >= 30 else 52))
    for i in range(rounds):
        if i:
            cap.wait_us(20 * SECOND // US)
        trust_round(cap, phone, srv, itl, 2, 52000 + 10 * i)
    cap.wait_us(tail_s * SECOND // US)
    req = Ether(src=phone.mac, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=phone.mac, psrc=phone.ip, pdst=SILENCE_GW.ip)
    cap.recs.append(Rec(cap.t, bytes(req), 0, ""))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def tvs_session(conn: TcpConn, rng: random.Random, cert_der: bytes) -> None:
    """TLS 1.2 to TVS: the phone's query and TVS's answer as application data."""
    tls12_server_flight(conn, rng, cert_der)
    conn.send(True, tls_record(22, hs(16, u8v(rng.randbytes(32)))) + tls_record(20, b"\x01")
              + tls_record(22, opaque(rng, 40)), ack=False)
    conn.send(False, tls_record(20, b"\x01") + tls_record(22, opaque(rng, 40)), ack=False)
    conn.send(True, tls_record(23, opaque(rng, 180)))
    conn.send(False, tls_record(23, opaque(rng, 1100)))
    conn.send(True, tls_record(21, opaque(rng, 26)), ack=False)
    conn.close(cli_first=True)


def gen_tvs_vouched(realpeer: str) -> bytes:
    """ITL without CAPF record; TVS answers the phone's query; TLS to CAPF then succeeds
    and CAPF issues the LSC."""
    cap, phone, srv, rng = trust_scene(realpeer, 53, "ITL_nocapf.tlv", 2)
    tvs = TcpConn(cap, phone, srv, 53100, 2445, 0x53535353, 0x35353535)
    tvs.handshake()
    tvs_session(tvs, rng, pem_to_der(os.path.join(realpeer, "data", "certs", "tvs-pub.crt.pem")))
    capf = TcpConn(cap, phone, srv, 53101, 3804, 0x53000001, 0x35000001)
    capf.handshake()
    tls12_capf_session(capf, rng, pem_to_der(os.path.join(realpeer, "data", "certs",
                                                          "capf.crt.pem")))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_tvs_phone_alert(realpeer: str) -> bytes:
    """The phone takes ITL and config, then aborts TLS to this cluster's TVS itself
    (fatal unknown_ca after the TVS certificate) and never contacts CAPF."""
    cap, phone, srv, rng = trust_scene(realpeer, 54, "ITL_good.tlv", 2)
    conn = TcpConn(cap, phone, srv, 54100, 2445, 0x54545454, 0x45454545)
    conn.handshake()
    tls12_server_flight(conn, rng, pem_to_der(os.path.join(realpeer, "data", "certs",
                                                           "tvs-pub.crt.pem")))
    conn.send(True, tls_record(21, b"\x02\x30"), ack=False)  # fatal unknown_ca (48)
    conn.close(cli_first=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def mic_cert(not_after_days: int) -> bytes:
    """A deterministic MIC stand-in: Ed25519 (RFC 8032 signatures are deterministic),
    issuer CN 'Cisco Manufacturing CA SHA2', valid until EPOCH + `not_after_days`."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    ca = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    t0 = datetime.datetime.fromtimestamp(EPOCH, datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CP-8845-SEP001B54AABB55")])
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cisco"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "Cisco Manufacturing CA SHA2")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(0x5A5A0055)
            .not_valid_before(t0 - datetime.timedelta(days=3650))
            .not_valid_after(t0 + datetime.timedelta(days=not_after_days))
            .sign(ca, None))
    return cert.public_bytes(Encoding.DER)


def gen_mic_expired_5061(realpeer: str, days: int = -2, port: int = 5061) -> bytes:
    """SIP-TLS 5061 (TLS 1.2): the server asks for a client certificate, the phone sends a
    MIC that ends `days` after EPOCH (expired for the default), and the handshake completes.
    `port`: the same on another secure port."""
    cap, phone, srv, rng = trust_scene(realpeer, 55, "ITL_good.tlv", 0)
    conn = TcpConn(cap, phone, srv, 55100, port, 0x55555555, 0x55aa55aa)
    conn.handshake()
    tls12_server_flight(conn, rng, pem_to_der(os.path.join(realpeer, "data", "certs",
                                                           "cm-pub.crt.pem")), ask_cert=True)
    conn.send(True, tls_record(22, certificate_msg([mic_cert(days)])
                               + hs(16, u8v(rng.randbytes(32)))
                               + hs(15, struct.pack("!H", 0x0807) + u16v(rng.randbytes(64))))
              + tls_record(20, b"\x01") + tls_record(22, opaque(rng, 40)), ack=False)
    conn.send(False, tls_record(20, b"\x01") + tls_record(22, opaque(rng, 40)), ack=False)
    conn.send(True, tls_record(23, opaque(rng, 700)))
    conn.send(False, tls_record(23, opaque(rng, 400)))
    conn.close(cli_first=True)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)



# CAPF plaintext sizes (DOMAIN.md §3.2, §3.3), each message one TLS 1.2 AES-GCM record
# (+24): AUTH_REQUEST 12 (real CUCM), AUTH_RESPONSE 35 (16-byte device name, no string),
# END_SESSION 12, KEY_GENERATE_REQUEST 13, DELETE_CERTIFICATE_REQUEST 8 and its RESPONSE
# (reason) 12. "By Existing Certificate": AUTH_RESPONSE 35 + CERTIFICATE (3 + 5 + 950 B
# DER) + SIGNED_DATA (3 + 256) + SHA2_SIGNED_DATA (3 + 3 + 256) = 1514.
CAPF_CERT_AUTH_REJECTED = [("s", 12), ("c", 1514), ("s", 12)]
CAPF_DELETE = [("s", 12), ("c", 35), ("s", 8), ("c", 12), ("s", 12)]
CAPF_KEYGEN_STARTED = [("s", 12), ("c", 35), ("s", 13)]
IDLE_BEFORE_RESET_S = 600  # a firewall idle timeout shorter than the phone's key generation
CAPF_SRV = server_host("203.0.113.25", 0xE400)


def capf_dialogue(realpeer: str, n: int, last: int, steps: list[tuple[str, int]],
                  auth_mode: int, reset_after_s: int = 0) -> bytes:
    """The phone downloads its config (capfAuthMode `auth_mode`, CAPF named by address),
    then a TLS 1.2 session on 3804 carries `steps`; it ends with close_notify and FINs, or
    `reset_after_s` seconds after the last record with a RST towards the phone (a
    firewall dropping the idle connection answers in the server's name)."""
    phone = phone_host(last, f"198.51.100.{last}")
    cap = Cap(start(n))
    rng = random.Random(n)
    dev = device_name(phone)
    tftp_get(cap, phone, TFTP_SRV, f"{dev}.cnf.xml",
             config_xml(dev, CAPF_SRV.ip, [CAPF_SRV.ip], auth_mode), 50100 + last, 41100 + last)
    cert = pem_to_der(os.path.join(realpeer, "data", "certs", "capf.crt.pem"))
    conn = TcpConn(cap, phone, CAPF_SRV, 50000 + last, 3804, 0x0C0F0000 + last,
                   0x38040000 + last)
    conn.handshake()
    tls12_handshake(conn, rng, cert)
    for who, size in steps:
        cap.wait_us(2000)
        conn.send(who == "c", tls_record(23, opaque(rng, size + 24)))
    if reset_after_s:
        cap.wait_us(reset_after_s * 1_000_000)
        conn.reset(from_cli=False)
    else:
        conn.send(False, tls_record(21, opaque(rng, 26)), ack=False)  # close_notify
        conn.send(True, tls_record(21, opaque(rng, 26)), ack=False)
        conn.close(cli_first=False)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# --- many phones with one cause, and hostile volume (issue 20) ---------------------------

VOL_CAPF = server_host("198.51.100.11", 0xF100)
VOL_TFTP = server_host("198.51.100.10", 0xF200)
VOL_DNS = server_host("198.51.100.53", 0xF300)
VOL_CAPF6 = server_host("2001:db8:100::11", 0)
VOL_TFTP6 = server_host("2001:db8:100::10", 0)
VOL_DNS6 = server_host("2001:db8:100::53", 0)


def outage_phone(t0: int, phone: Host, tftp: Host, capf: Host, dns: Host, k: int,
                 *, refused: bool = False) -> list[Rec]:
    """One phone's rollout step: its config over TFTP (CAPF pub.outage.example, auth mode
    2), DNS for the name answered, then SYNs to 3804 at 0, 1, 3, 7, 15 s (RFC 6298 back-off)
    that nothing answers, or one SYN answered by RST/ACK (`refused`)."""
    cap = Cap(t0)
    dev = device_name(phone)
    name = "pub.outage.example"
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, name, [name], 2),
             49200 + k, 36000 + k)
    cap.wait_us(25_000)
    dns_udp(cap, phone, dns, 0x4A00 + k, 51500 + k, name, "AAAA" if phone.v6 else "A", 0,
            [capf.ip], "outage.example")
    cap.wait_us(40_000)
    conn = TcpConn(cap, phone, capf, 49700 + k, 3804, 0x6B8B4567 + k * 0x10000, 0)
    conn.syn()
    if refused:
        conn.rst_answer()
        return cap.recs
    for back_off in (1, 2, 4, 8):
        cap.wait_us(back_off * 1_000_000 + 1_300)
        conn.syn(retransmit=True)
    return cap.recs


def _merged(recs: Iterable[Rec]) -> bytes:
    return pcap_bytes(LINKTYPE_ETHERNET, sorted(recs, key=lambda r: r.ts))


def gen_capf_outage_six() -> bytes:
    """Six phones whose SYNs to CAPF go unanswered, 300 ms apart, and a seventh refused."""
    t0 = start(60)
    recs: list[Rec] = []
    for k in range(7):
        phone = phone_host(0x31 + k, f"192.0.2.{0x31 + k}")
        recs += outage_phone(t0 + k * 300_000_000, phone, VOL_TFTP, VOL_CAPF, VOL_DNS, k,
                             refused=k == 6)
    return _merged(recs)


def flood_syns(t0: int, span_us: int, n: int, dst: Host, seed: int, *, first: int = 1,
               synack_every: int = 0) -> list[Rec]:
    """`n` spoofed sources (2001:db8:bad::`first`.., RFC 3849) send one SYN each to `dst`:3804
    from a random port, spread over `span_us`; `synack_every`: every n-th SYN is answered
    by one SYN-ACK that the source never acknowledges."""
    rng = random.Random(seed)
    cap = Cap(t0)
    for i in range(n):
        src = Host(f"2001:db8:bad::{first + i:x}", GW_MAC, 57)
        cap.t = t0 + rng.randrange(span_us) * US
        conn = TcpConn(cap, src, dst, rng.randrange(1024, 65536), 3804,
                       rng.getrandbits(32), rng.getrandbits(32))
        conn.syn()
        if synack_every and i % synack_every == 0:
            conn.sack = conn.cseq
            cap.wait_us(200)
            conn._emit(False, "SA", opts=[("MSS", 1460)])
    return cap.recs


def gen_syn_flood_capf() -> bytes:
    """2,000 spoofed sources, one SYN each to [2001:db8:100::11]:3804 within 10 s; every
    fourth answered by a SYN-ACK that is never acknowledged; nothing else."""
    return _merged(flood_syns(start(61), 10_000_000, 2000, VOL_CAPF6, 61, synack_every=4))


def gen_syn_flood_mixed() -> bytes:
    """The flood of gen_syn_flood_capf (no SYN-ACKs; the last 20 SYNs within the final
    second) and three real phones of a CAPF outage on the same server (config, DNS, SYNs
    retransmitted at 0, 1, 3, 7, 15 s, unanswered)."""
    t0 = start(62)
    recs = flood_syns(t0, 10_000_000, 1980, VOL_CAPF6, 62)
    for k in range(3):
        phone = Host(f"2001:db8:1::{0x21 + k:x}", f"00:1b:54:aa:bc:{0x21 + k:02x}", 64)
        recs += outage_phone(t0 + 1_000_000_000 + k * 2_000_000_000, phone, VOL_TFTP6,
                             VOL_CAPF6, VOL_DNS6, k)
    end = max(r.ts for r in recs)
    recs += flood_syns(end - 900_000_000, 800_000, 20, VOL_CAPF6, 63, first=1981)
    return _merged(recs)


def gen_port_sweep() -> bytes:
    """203.0.113.9 sends one SYN to 3804 and one to 2445 on every host of 198.51.100.0/24
    and 203.0.113.0/24 (1 ms apart; hosts ending in 0 answer RST/ACK, the others nothing),
    while the phone 192.0.2.21 meets the same unanswered CAPF as gen_capf_outage_six."""
    t0 = start(63)
    cap = Cap(t0)
    scanner = Host("203.0.113.9", GW_MAC, 52)
    rng = random.Random(63)
    hosts = [f"{net}.{h}" for net in ("198.51.100", "203.0.113") for h in range(1, 255)]
    for i, ip in enumerate(h for h in hosts if h != scanner.ip):
        for port in (3804, 2445):
            conn = TcpConn(cap, scanner, server_host(ip, i), 40000 + i % 20000, port,
                           rng.getrandbits(32), 0)
            conn.syn()
            if ip.endswith("0"):
                conn.rst_answer()
            cap.wait_us(1000)
    phone = phone_host(0x21, "192.0.2.21")
    return _merged([*cap.recs, *outage_phone(t0 + 200_000_000, phone, VOL_TFTP, VOL_CAPF,
                                             VOL_DNS, 0)])


# --- capture shapes of the verdict hunt (probe): what else makes the same packets -------

PROBE_CERT = "capf.crt.pem"


def probe_phone(last: int) -> Host:
    return Host(f"198.51.100.{last}", f"00:1b:54:aa:c0:{last:02x}", 64, 0x3000 + last)


def probe_syns(conn: TcpConn, back_offs: tuple[int, ...] = (1, 2, 4, 8)) -> None:
    """A SYN and its retransmissions after `back_offs` seconds (RFC 6298 back-off)."""
    conn.syn()
    for b in back_offs:
        conn.cap.wait_us(b * 1_000_000 + 1_100)
        conn.syn(retransmit=True)


def probe_config(cap: Cap, phone: Host, tftp: Host, capf: str, k: int) -> None:
    """The phone's config over TFTP: capfAuthMode 2, CAPF `capf` (a name or an address)."""
    dev = device_name(phone)
    tftp_get(cap, phone, tftp, f"{dev}.cnf.xml", config_xml(dev, capf, [capf], 2),
             48100 + k, 39100 + k)
    cap.wait_us(20_000)


def capf_server_flight(conn: TcpConn, rng: random.Random, cert_der: bytes) -> None:
    """ClientHello, then the server's TLS 1.2 flight (ServerHello, Certificate,
    ServerKeyExchange, ServerHelloDone)."""
    conn.send(True, client_hello(rng, tls13=False))
    conn.send(False, tls_record(22, server_hello(rng, rng.randbytes(32), tls13=False)
                                + certificate_msg([cert_der]) + server_key_exchange(rng)
                                + hs(14, b"")))


def gen_router_two_phones(realpeer: str) -> bytes:
    """Two phones behind a router, captured on its uplink: every phone frame carries the
    router's MAC. No config download is captured (DNS and CAPF only). .206 enrols; .207's
    SYNs to the same CAPF go unanswered (0, 1, 3, 7, 15 s; the capture goes on 5 s)."""
    rtr, up = "00:00:5e:00:53:c8", "00:00:5e:00:53:01"
    a = Host("198.51.100.206", rtr, 63, 0x3101)
    b = Host("198.51.100.207", rtr, 63, 0x3202)
    dns = Host("203.0.113.253", up, 63, 0x4301)
    capf = Host("203.0.113.206", up, 63, 0x4201)
    name, zone = "capf.rtr.example", "rtr.example"
    cap = Cap(start(85))
    dns_udp(cap, a, dns, 0x7201, 48401, name, "A", 0, [capf.ip], zone)
    conn = TcpConn(cap, a, capf, 50701, 3804, 0x11110000, 0x22220000)
    conn.handshake()
    tls12_capf_session(conn, random.Random(85), pem_to_der(os.path.join(
        realpeer, "data", "certs", PROBE_CERT)))
    cap.wait_us(500_000)
    dns_udp(cap, b, dns, 0x7202, 48402, name, "A", 0, [capf.ip], zone)
    probe_syns(TcpConn(cap, b, capf, 50702, 3804, 0x33330000, 0))
    cap.wait_us(5_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_reboot_port_reuse(realpeer: str) -> bytes:
    """The phone enrols (TLS 1.2, LSC delivered, FINs), reboots 40 s later, fetches its
    config again and reuses its CAPF source port: the new connection's handshake gets the
    server flight, and the capture ends 1 s later (nothing closed it)."""
    phone = probe_phone(210)
    srv = server_host("203.0.113.210", 0x4901)
    cert = pem_to_der(os.path.join(realpeer, "data", "certs", PROBE_CERT))
    cap = Cap(start(88))
    rng = random.Random(88)
    probe_config(cap, phone, srv, srv.ip, 12)
    conn = TcpConn(cap, phone, srv, 51000, 3804, 0x12340000, 0x88880000)
    conn.handshake()
    tls12_capf_session(conn, rng, cert)
    cap.wait_us(40_000_000)
    phone.ip_id = 0x3000
    probe_config(cap, phone, srv, srv.ip, 13)
    again = TcpConn(cap, phone, srv, 51000, 3804, 0x77770000, 0x99990000)
    again.handshake()
    capf_server_flight(again, rng, cert)
    cap.wait_us(1_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_dns_truncated(realpeer: str, tcp_answered: bool) -> bytes:
    """The A query for the CAPF name gets a truncated UDP answer (TC=1, no answer records,
    RFC 1035 §4.2.1); the phone retries over TCP 53 (RFC 7766 §5). Answered: the A record
    comes over TCP and the phone enrols. Not answered: the SYNs to TCP 53 are retransmitted
    after 1, 3 and 7 s and never answered; the capture goes on 10 s."""
    phone = probe_phone(215 if tcp_answered else 216)
    tftp = server_host("203.0.113.215", 0x4B01)
    dns = server_host("203.0.113.216", 0x4B02)
    name = "capf.tc.example"
    cap = Cap(start(92 if tcp_answered else 93))
    probe_config(cap, phone, tftp, name, 0)
    cap.emit(phone, dns, UDP(sport=51201, dport=53) / dns_msg(0x7301, name, "A"))
    cap.wait_us(1500)
    r = dns_msg(0x7301, name, "A", resp=True)
    r.tc = 1
    cap.emit(dns, phone, UDP(sport=53, dport=51201) / r)
    cap.wait_us(2000)
    conn = TcpConn(cap, phone, dns, 51202, 53, 0x0D0D0000, 0x0E0E0000, rtt_us=800)
    if not tcp_answered:
        probe_syns(conn, (1, 2, 4))
        cap.wait_us(10_000_000)
        return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)
    conn.handshake()
    q = bytes(dns_msg(0x7302, name, "A"))
    conn.send(True, struct.pack("!H", len(q)) + q)
    a = bytes(dns_msg(0x7302, name, "A", resp=True, answers=["203.0.113.217"]))
    conn.send(False, struct.pack("!H", len(a)) + a)
    conn.close(cli_first=True)
    cap.wait_us(40_000)
    capf = server_host("203.0.113.217", 0x4B03)
    c = TcpConn(cap, phone, capf, 51203, 3804, 0x0F0F0000, 0x10100000)
    c.handshake()
    tls12_capf_session(c, random.Random(92), pem_to_der(os.path.join(
        realpeer, "data", "certs", PROBE_CERT)))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_http_keepalive_304(realpeer: str) -> bytes:
    """HTTP/1.1 keep-alive on 6970, four requests on one connection: CTLSEP and ITLSEP
    404, ITLFile.tlv 200, then the config with If-Modified-Since answered 304 Not Modified
    (the phone's copy is current); the server closes the idle connection 40 s later."""
    phone = probe_phone(217)
    srv = server_host("203.0.113.218", 0x4C01)
    cap = Cap(start(94))
    dev = device_name(phone)
    itl = _data_file(realpeer, "itl", "ITL_good.tlv")
    conn = TcpConn(cap, phone, srv, 51300, 6970, 0x13130000, 0x14140000)
    conn.handshake()

    def get(path: str, extra: str = "") -> None:
        conn.send(True, (f"GET /{path} HTTP/1.1\r\nHost: {srv.ip}:6970\r\n"
                         f"Connection: keep-alive\r\n{extra}\r\n").encode())

    def resp(status: str, body: bytes = b"", ctype: str = "text/plain") -> None:
        head = (f"HTTP/1.1 {status}\r\nServer: example\r\nContent-Length: {len(body)}\r\n"
                f"Content-Type: {ctype}\r\nKeep-Alive: timeout=60\r\n\r\n").encode()
        conn.send(False, head + body)

    for name in (f"CTL{dev}.tlv", f"ITL{dev}.tlv"):
        get(name)
        resp("404 Not Found", b"Not Found\n")
    get("ITLFile.tlv")
    resp("200 OK", itl, "application/octet-stream")
    get(f"{dev}.cnf.xml", "If-Modified-Since: Mon, 30 Nov 2026 09:00:00 GMT\r\n")
    conn.send(False, b"HTTP/1.1 304 Not Modified\r\nServer: example\r\n"
              b"Keep-Alive: timeout=60\r\n\r\n")
    cap.wait_us(40_000_000)
    conn.close(cli_first=False)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest")
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


def gen_tls13_hrr(abort: bool) -> bytes:
    """TLS 1.3 to CAPF with a HelloRetryRequest (RFC 8446 §4.1.4) asking for secp256r1,
    followed by the server's middlebox-compatibility change_cipher_spec (§D.4); the phone
    sends its own CCS and a second ClientHello; ServerHello, the encrypted server flight.
    Then either the CAPF install records (plaintext + 17), or (`abort`) the phone's CCS, a
    19-byte encrypted record (its alert) and FIN: the phone rejected the certificate."""
    phone = probe_phone(220 if abort else 218)
    capf = server_host("203.0.113.219", 0x4D01)
    cap = Cap(start(97 if abort else 95))
    rng = random.Random(95)
    conn = TcpConn(cap, phone, capf, 51400, 3804, 0x15150000, 0x16160000)
    sid = _tls13_hello(conn, rng)
    exts = ext(0x002B, struct.pack("!H", 0x0304)) + ext(0x0033, struct.pack("!H", 0x0017))
    hrr = hs(2, struct.pack("!H", 0x0303) + HRR_RANDOM + u8v(sid)
             + struct.pack("!HB", 0x1302, 0) + u16v(exts))
    conn.send(False, tls_record(22, hrr) + tls_record(20, b"\x01"))
    conn.send(True, tls_record(20, b"\x01") + client_hello(rng, tls13=True))
    conn.send(False, tls_record(22, server_hello(rng, sid, tls13=True))
              + tls_record(23, opaque(rng, 1290)))
    if abort:
        conn.send(True, tls_record(23, opaque(rng, 19)), ack=False)
        conn.close(cli_first=True)
        return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)
    conn.send(True, tls_record(23, opaque(rng, 53)), ack=False)  # Finished
    conn.send(False, tls_record(23, opaque(rng, 250)), ack=False)  # NewSessionTicket
    return _tls13_capf_records(cap, conn, rng)


def gen_firewall_rst() -> bytes:
    """The CAPF address also serves TFTP (TTL 63: routed, one hop); each of three SYNs to
    3804 is answered by a RST/ACK with TTL 255 and IP ID 0xffff+: a firewall resets in the
    server's name (the RST never crossed the router the TFTP answers crossed)."""
    phone = probe_phone(203)
    srv = server_host("203.0.113.203", 0x4401)
    fw = Host(srv.ip, GW_MAC, 255, 0xFFFF)
    cap = Cap(start(81))
    probe_config(cap, phone, srv, srv.ip, 3)
    for i in range(3):
        c = TcpConn(cap, phone, fw, 50400 + i, 3804, 0x44440000 + i, 0)
        c.syn()
        c.rst_answer()
        cap.wait_us(3_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_tftp_window_noack(realpeer: str) -> bytes:
    """ITLFile.tlv with blksize 1428 and windowsize 4 (RFC 7440): the phone ACKs every
    fourth block; its ACK of the final window is never captured. The phone fetches its
    config (capfAuthMode 0) at once; the server retransmits the final window three times,
    1 s apart, and gives up (the capture goes on 6 s)."""
    phone = probe_phone(213)
    srv = server_host("203.0.113.211", 0x4A01)
    cap = Cap(start(91))
    dev = device_name(phone)
    itl = _data_file(realpeer, "itl", "ITL_good.tlv")
    bs, win, cport, tid = 1428, 4, 51100, 45100
    req = ((b"blksize", str(bs).encode()), (b"windowsize", str(win).encode()),
           (b"tsize", b"0"))
    got = ((b"blksize", str(bs).encode()), (b"windowsize", str(win).encode()),
           (b"tsize", str(len(itl)).encode()))
    tftp_rrq(cap, phone, srv, "ITLFile.tlv", cport, req)
    cap.wait_us(500)
    tftp_oack(cap, srv, phone, tid, cport, got)
    cap.wait_us(200)
    tftp_ack(cap, phone, srv, cport, tid, 0)
    blocks = [itl[i:i + bs] for i in range(0, len(itl) + 1, bs)]
    windows = [list(range(w, min(w + win, len(blocks) + 1)))
               for w in range(1, len(blocks) + 1, win)]
    for ws in windows:
        for n in ws:
            cap.wait_us(150)
            tftp_data(cap, srv, phone, tid, cport, n, blocks[n - 1])
        cap.wait_us(200)
        if ws is not windows[-1]:
            tftp_ack(cap, phone, srv, cport, tid, ws[-1])
    cap.wait_us(20_000)
    tftp_get(cap, phone, srv, f"{dev}.cnf.xml", config_xml(dev, "", [srv.ip], 0),
             51101, 45101)
    for _ in range(3):
        cap.wait_us(1_000_000)
        for n in windows[-1]:
            tftp_data(cap, srv, phone, tid, cport, n, blocks[n - 1])
            cap.wait_us(150)
    cap.wait_us(6_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_synack_lost() -> bytes:
    """Captured upstream of a return-path filter: the phone (.225) fetches its config
    (capfAuthMode 2, CAPF 203.0.113.226), then sends SYNs to 3804 at 0, 1, 3, 7, 15 s; CAPF
    answers each with a SYN-ACK 0.3 ms later, which never reaches the phone: it keeps
    retransmitting its SYN and never acknowledges. The capture goes on 5 s."""
    phone = probe_phone(225)
    tftp = server_host("203.0.113.225", 0x4E01)
    capf = server_host("203.0.113.226", 0x4E02)
    cap = Cap(start(98))
    probe_config(cap, phone, tftp, capf.ip, 25)
    conn = TcpConn(cap, phone, capf, 50900, 3804, 0x1000, 0x2000)
    for i, b in enumerate((0, 1, 2, 4, 8)):
        cap.wait_us(b * 1_000_000)
        conn.syn(retransmit=i > 0)
        conn.sack = conn.cseq
        cap.wait_us(300)
        conn._emit(False, "SA", opts=[("MSS", 1460)])
        conn.sseq = (conn.sseq - 1) & 0xFFFFFFFF  # the same SYN-ACK again next time
    cap.wait_us(5_000_000)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_capf_key_pending(realpeer: str) -> bytes:
    """The CAPF dialogue stops after CAPF's third record (S P S: AUTH_REQUEST,
    AUTH_RESPONSE, then END_SESSION or KEY_GENERATE_REQUEST, which the sizes cannot tell
    apart) and nothing closes the connection; the phone fetches another file 30 s later
    and the capture ends there."""
    phone = probe_phone(234)
    srv = server_host("203.0.113.234", 0x5005)
    cap = Cap(start(105))
    rng = random.Random(105)
    probe_config(cap, phone, srv, srv.ip, 34)
    conn = TcpConn(cap, phone, srv, 52030, 3804, 0x100000, 0x200000)
    conn.handshake()
    tls12_handshake(conn, rng, pem_to_der(os.path.join(realpeer, "data", "certs",
                                                       PROBE_CERT)))
    for who, size in CAPF_SERVER_FIRST[:3]:
        cap.wait_us(2000)
        conn.send(who == "c", tls_record(23, opaque(rng, size + 24)))
    cap.wait_us(30_000_000)
    tftp_get(cap, phone, srv, "SoftKeys.xml", b"<softKeyCfg/>", 48198, 39198)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_capf_rst_after_hello(realpeer: str) -> bytes:
    """CAPF answers the phone's first ClientHello with a RST (before any certificate);
    the phone retries 2 s later on a new connection and enrols (TLS 1.2, LSC delivered)."""
    phone = probe_phone(230)
    srv = server_host("203.0.113.230", 0x5001)
    cap = Cap(start(101))
    rng = random.Random(101)
    probe_config(cap, phone, srv, srv.ip, 30)
    first = TcpConn(cap, phone, srv, 52000, 3804, 0x100000, 0x200000)
    first.handshake()
    first.send(True, client_hello(rng, tls13=False))
    first.reset(False)
    cap.wait_us(2_000_000)
    again = TcpConn(cap, phone, srv, 52001, 3804, 0x300000, 0x400000)
    again.handshake()
    tls12_capf_session(again, rng, pem_to_der(os.path.join(realpeer, "data", "certs",
                                                           PROBE_CERT)))
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_capf_pmtu_blackhole(realpeer: str) -> bytes:
    """Captured at the server's side of a path with a smaller MTU: CAPF's first
    1460-byte segment of its handshake flight draws an ICMP fragmentation-needed (MTU
    1400) from a router, which CAPF ignores; it retransmits the segment at 1, 3, 7 s and
    the phone never acknowledges it. The phone fetches another file 25 s later."""
    phone = probe_phone(243)
    srv = server_host("203.0.113.243", 0x510A)
    rtr = Host("203.0.113.1", "00:00:5e:00:53:02", 255, 0x0002)
    cap = Cap(start(110))
    rng = random.Random(110)
    probe_config(cap, phone, srv, srv.ip, 43)
    conn = TcpConn(cap, phone, srv, 52070, 3804, 0x100000, 0x200000)
    conn.handshake()
    conn.send(True, client_hello(rng, tls13=False))
    cert = pem_to_der(os.path.join(realpeer, "data", "certs", PROBE_CERT))
    flight = tls_record(22, server_hello(rng, rng.randbytes(32), tls13=False)
                        + certificate_msg([cert, cert]) + server_key_exchange(rng)
                        + hs(14, b""))
    for k in range(4):
        seg = TCP(sport=3804, dport=conn.sport, seq=conn.sseq, ack=conn.cseq, flags="A",
                  window=509) / Raw(flight[:conn.MSS])
        sent = IP(src=srv.ip, dst=phone.ip, ttl=srv.ttl, flags="DF", id=srv.ip_id + 1) / seg
        cap.emit(srv, phone, seg)
        cap.wait_us(300)
        cap.emit(rtr, srv, ICMP(type=3, code=4, nexthopmtu=1400) / bytes(sent)[:28])
        cap.wait_us(1_000_000 * (2 ** k))
    cap.wait_us(10_000_000)
    tftp_get(cap, phone, srv, "SoftKeys.xml", b"<softKeyCfg/>", 48143, 39143)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_dns_foreign_source() -> bytes:
    """The phone (.241) asks 192.0.2.53 for the CAPF name of its config three times, 5 s
    apart; each answer (same ID, port and question, with the address) comes from
    192.0.2.54: a multi-homed resolver or a NAT that does not translate the reply back.
    The phone's resolver drops answers from an unexpected source and retries."""
    phone = probe_phone(241)
    asked = server_host("192.0.2.53", 0x5107)
    answering = server_host("192.0.2.54", 0x5108)
    tftp = server_host("203.0.113.241", 0x5109)
    name = "capf.nat.example"
    cap = Cap(start(109))
    probe_config(cap, phone, tftp, name, 41)
    for _ in range(3):
        cap.emit(phone, asked, UDP(sport=48601, dport=53) / dns_msg(0x7501, name, "A"))
        cap.wait_us(1500)
        dns_reply(cap, answering, phone, 0x7501, 48601, name, "A", 0, ["203.0.113.242"],
                  "nat.example")
        cap.wait_us(5_000_000)
    cap.wait_us(10_000_000)
    tftp_get(cap, phone, tftp, "SoftKeys.xml", b"<softKeyCfg/>", 48144, 39144)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


# --- the verdict hunt, third round: the trust side (ITL/CTL/TVS) ------------------------

P3_IP = "203.0.113.140"  # TFTP, TVS and CAPF in one node


def _p3_list(current: bool, stale: bool, *, ctl: bool = False) -> bytes:
    """A trust list signed by ITLRecovery: CallManager, TVS (ITL only) and CAPF records,
    the `current` CAPF certificate and/or a `stale` one (another key, expired in March
    2025: a node's old CAPF certificate); `ctl`: CTLFile.tlv (mixed mode, no TVS)."""
    gi = _gen_itl_module()
    dns = "cm-p3.example"
    sast = gi.make_ident("sast", f"ITLRECOVERY_{dns}", "ITLRecovery", 0x7001)
    ids = [(sast, 0), (gi.make_ident("ccm", dns, "CallManager", 0x7002), 2)]
    if not ctl:
        ids.append((gi.make_ident("tvs", dns, "TVS", 0x7003), 21))
    if current:
        ids.append((p3_capf(), 4))
    if stale:
        ids.append((gi.make_ident("sast2", "CAPF-p3old", "CAPF", 0x7005, ca=True,
                                  not_after=datetime.datetime(2025, 3, 1,
                                                            tzinfo=datetime.timezone.utc)), 4))
    return gi.build_signed(sast, "cucm", 1, [gi.cucm_record(i, r, dns, P3_IP) for i, r in ids],
                           filename="CTLFile.tlv" if ctl else "ITLFile.tlv")


def p3_capf() -> Any:
    return _gen_itl_module().make_ident("capf", "CAPF-p3cur", "CAPF", 0x7004, ca=True)


def _p3_phone(last: int, capture: int, ctl: bytes | None, itl: bytes | None, mode: int
              ) -> tuple[Cap, Host, Host, random.Random]:
    """A phone (.`last`) of the P3 node downloading, in a phone's order, CTL<dev>.tlv
    (`ctl`, or not found), ITL<dev>.tlv (not found), ITLFile.tlv (`itl`) and its config
    (capfAuthMode `mode`): the capture, the phone, the node and the phone's TLS randomness."""
    phone = probe_phone(last)
    cap = Cap(start(capture))
    rng = random.Random(last)
    dev = device_name(phone)
    base = 40000 + last * 10
    srv = server_host(P3_IP, 0x7700)  # a fresh IP ID counter per file
    tftp_get(cap, phone, srv, f"CTL{dev}.tlv", ctl, base, base + 1000)
    tftp_get(cap, phone, srv, f"ITL{dev}.tlv", None, base + 1, base + 1001)
    tftp_get(cap, phone, srv, "ITLFile.tlv", itl, base + 2, base + 1002)
    tftp_get(cap, phone, srv, f"{dev}.cnf.xml", config_xml(dev, srv.ip, [srv.ip], mode),
             base + 3, base + 1003)
    return cap, phone, srv, rng


def _p3_conn(cap: Cap, phone: Host, srv: Host, last: int, port: int = 3804) -> TcpConn:
    conn = TcpConn(cap, phone, srv, 52000 + last, port, 0x111000 + last, 0x222000 + last)
    conn.handshake()
    return conn


def _p3_rejected(conn: TcpConn, rng: random.Random, der: bytes) -> None:
    """The server's TLS 1.2 flight with certificate `der`; the phone aborts with fatal
    unknown_ca (48) and closes."""
    tls12_server_flight(conn, rng, der)
    conn.send(True, tls_record(21, b"\x02\x30"), ack=False)
    conn.close(cli_first=True)


def _p3_later(cap: Cap, phone: Host, srv: Host, last: int, n: int = 4) -> bytes:
    """40 s later the phone fetches SoftKeys.xml (the capture goes on past CAPF's wait)."""
    base = 40000 + last * 10
    cap.wait_us(40 * SECOND // US)
    tftp_get(cap, phone, srv, "SoftKeys.xml", b"<softKeyCfg/>", base + n, base + 1000 + n)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_itl_two_capf(*, session: bool, mixed: bool = False) -> bytes:
    """The phone takes an ITL with two CAPF records, the current one and an expired one
    (another node's or a stale certificate), and its config; with `session`
    (capfAuthMode 2) it enrols with CAPF presenting the current certificate; without
    (capfAuthMode 0) no CAPF session follows and the capture goes on 40 s. `mixed`: the
    phone also takes a CTL holding the current CAPF certificate, and the ITL holds only
    the stale one (TFTP not restarted after the CAPF regeneration)."""
    last = 151 if mixed else 150 if session else 157
    cap, phone, srv, rng = _p3_phone(
        last, 202 if mixed else 201 if session else 208,
        _p3_list(True, False, ctl=True) if mixed else None, _p3_list(not mixed, True),
        2 if session else 0)
    if not session:
        return _p3_later(cap, phone, srv, last)
    tls12_capf_session(_p3_conn(cap, phone, srv, last), rng, p3_capf().der)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def gen_tvs_not_in_itl() -> bytes:
    """The phone (.158) takes an ITL whose TVS record is the node's old TVS certificate and
    its config (capfAuthMode 2); TVS presents a regenerated certificate (same name, another
    key) that the ITL does not hold, the phone aborts with fatal unknown_ca and never
    contacts CAPF; the capture goes on 40 s."""
    gi = _gen_itl_module()
    last = 158
    cap, phone, srv, rng = _p3_phone(last, 209, None, _p3_list(True, False), 2)
    new_tvs = gi.make_ident("ccm", "cm-p3.example", "TVS", 0x7009)
    _p3_rejected(_p3_conn(cap, phone, srv, last, 2445), rng, new_tvs.der)
    return _p3_later(cap, phone, srv, last)


def gen_itl_signer_change() -> bytes:
    """One TFTP server, one phone (.159): the phone takes an ITL signed by one ITLRecovery
    certificate, 30 s later an ITL signed by another (the signer changed: a regenerated
    ITLRecovery, or the node rebuilt), then its config (capfAuthMode 2), and never
    contacts CAPF; the capture goes on 40 s."""
    gi = _gen_itl_module()
    last = 159
    phone = probe_phone(last)
    cap = Cap(start(210))
    dev = device_name(phone)
    base = 40000 + last * 10
    srv = server_host(P3_IP, 0x7700)
    dns = "cm-p3.example"
    new_sast = gi.make_ident("sast2", f"ITLRECOVERY_{dns}", "ITLRecovery", 0x700A)
    rest = [gi.cucm_record(gi.make_ident("ccm", dns, "CallManager", 0x7002), 2, dns, P3_IP),
            gi.cucm_record(gi.make_ident("tvs", dns, "TVS", 0x7003), 21, dns, P3_IP),
            gi.cucm_record(p3_capf(), 4, dns, P3_IP)]
    changed = gi.build_signed(new_sast, "cucm", 1,
                              [gi.cucm_record(new_sast, 0, dns, P3_IP), *rest])
    tftp_get(cap, phone, srv, "ITLFile.tlv", _p3_list(True, False), base, base + 1000)
    cap.wait_us(30 * SECOND // US)
    tftp_get(cap, phone, srv, "ITLFile.tlv", changed, base + 1, base + 1001)
    tftp_get(cap, phone, srv, f"{dev}.cnf.xml", config_xml(dev, srv.ip, [srv.ip], 2),
             base + 2, base + 1002)
    return _p3_later(cap, phone, srv, last, 3)


def gen_ctl_stale_capf() -> bytes:
    """Mixed mode, the other way round: the phone (.160) takes a CTL whose CAPF record is
    the old certificate (CTL not updated after the CAPF regeneration) and an ITL with the
    current one, then its config (capfAuthMode 2); CAPF presents the current certificate
    and the phone aborts with fatal unknown_ca; the capture goes on 40 s."""
    last = 160
    cap, phone, srv, rng = _p3_phone(last, 211, _p3_list(False, True, ctl=True),
                                     _p3_list(True, False), 2)
    _p3_rejected(_p3_conn(cap, phone, srv, last), rng, p3_capf().der)
    return _p3_later(cap, phone, srv, last)


def gen_ctl_vouches_capf() -> bytes:
    """Mixed mode: the phone (.162) takes a CTL with the current CAPF certificate and an
    ITL without any CAPF record (CAPF activated after the ITL was built, TFTP not
    restarted), then its config (capfAuthMode 2); CAPF presents the CTL's certificate and
    the phone enrols."""
    last = 162
    cap, phone, srv, rng = _p3_phone(last, 213, _p3_list(True, False, ctl=True),
                                     _p3_list(False, False), 2)
    tls12_capf_session(_p3_conn(cap, phone, srv, last), rng, p3_capf().der)
    return pcap_bytes(LINKTYPE_ETHERNET, cap.recs)


def build_all(realpeer: str = DEFAULT_REALPEER) -> dict[str, bytes]:
    s01 = read_pcap(os.path.join(realpeer, "S01_happy.pcap"))
    s05 = read_pcap(os.path.join(realpeer, "S05_capf_filtered.pcap"))
    s16 = read_pcap(os.path.join(realpeer, "S16_capf_port3806.pcap"))
    files = {
        "vlan_qinq_capf_filtered.pcap": gen_vlan_qinq(),
        "sll2_dns_nxdomain.pcapng": gen_sll2_nxdomain(),
        "sll_ipv6_refused.pcap": gen_sll_ipv6_refused(),
        "icmp_unreachable.pcap": gen_icmp_unreachable(),
        "icmp_port_unreach_server.pcap": gen_icmp_port_unreach_server(),
        "icmp_host_unreach_router.pcap": gen_icmp_host_unreach_router(),
        "icmpv6_admin_prohibited.pcap": gen_icmpv6_admin_prohibited(),
        "icmp_tftp_port_unreach.pcap": gen_icmp_tftp_port_unreach(),
        "dns_tcp_servfail_nodata.pcap": gen_dns_tcp(),
        "multi_iface.pcapng": gen_multi_iface(),
        "nsec_bigendian.pcap": gen_nsec_bigendian(),
        "duplicates_span.pcap": gen_duplicates_span(realpeer),
        "tls_split_cert.pcap": gen_tls_split_cert(realpeer),
        "tls13_capf.pcap": gen_tls13_capf(),
        "sslv2_hello_capf.pcap": gen_sslv2_hello_capf(realpeer),
        "loss5_S01.pcap": gen_loss5(s01),
        "serverside_S01.pcap": derive(s01, lambda _i, d: from_phone(d) is False),
        "phoneside_S01.pcap": derive(s01, lambda _i, d: from_phone(d) is True),
        "dup_S01.pcap": gen_dup(s01),
        "truncated_S05.pcap": gen_truncated(s05),
        "runs_two_ifaces_S01.pcapng": gen_runs_two_ifaces(s01),
        "concat_S01.pcap": gen_concat(s01),
        "jitter_S01.pcap": gen_jitter(s01),
        "real_itl_tftp.pcap": gen_real_itl_tftp(realpeer),
        "dns_same_id_aaaa_first.pcap": gen_dns_same_id_aaaa_first(),
        "dns_a_timeout_aaaa_nodata.pcap": gen_dns_a_timeout_aaaa_nodata(),
        "dns_a_servfail_aaaa_nodata.pcap": gen_dns_a_servfail_aaaa_nodata(),
        "silent_tftp_two_phones.pcap": gen_silent_two_phones(),
        "silent_tftp_alone.pcap": gen_silent_alone(),
        "silent_tftp_arp.pcap": gen_silent_arp(),
        "capf_cert_auth_rejected.pcap": capf_dialogue(realpeer, 44, 0xA0,
                                                      CAPF_CERT_AUTH_REJECTED, 3),
        "capf_delete.pcap": capf_dialogue(realpeer, 45, 0xA1, CAPF_DELETE, 2),
        "capf_idle_reset.pcap": capf_dialogue(realpeer, 46, 0xA2, CAPF_KEYGEN_STARTED, 2,
                                              reset_after_s=IDLE_BEFORE_RESET_S),
        "notftp_S16.pcap": derive(s16, lambda _i, d: without_tftp(d)),
        "tftp_two_tids_error5.pcap": gen_tftp_two_tids_error5(realpeer),
        "tftp_two_oacks.pcap": gen_tftp_two_oacks(realpeer),
        "tftp_lost_middle.pcap": gen_tftp_lost_middle(realpeer),
        "tftp_lost_final.pcap": gen_tftp_lost_final(realpeer),
        "tftp_stopped.pcap": gen_tftp_stopped(realpeer),
        "distrust_loop.pcap": gen_distrust_loop(realpeer),
        "distrust_loop_short.pcap": gen_distrust_loop(realpeer, rounds=3, tail_s=5),
        "distrust_tvs_alert.pcap": gen_tvs_phone_alert(realpeer),
        "tvs_vouched_capf.pcap": gen_tvs_vouched(realpeer),
        "mic_expired_5061.pcap": gen_mic_expired_5061(realpeer),
        "itlsep_download.pcap": gen_itlsep_download(),
        "capf_outage_six.pcap": gen_capf_outage_six(),
        "syn_flood_capf.pcap": gen_syn_flood_capf(),
        "syn_flood_mixed.pcap": gen_syn_flood_mixed(),
        "port_sweep.pcap": gen_port_sweep(),
        "router_two_phones.pcap": gen_router_two_phones(realpeer),
        "reboot_port_reuse.pcap": gen_reboot_port_reuse(realpeer),
        "dns_truncated_tcp_answered.pcap": gen_dns_truncated(realpeer, True),
        "dns_truncated_tcp_blocked.pcap": gen_dns_truncated(realpeer, False),
        "http_keepalive_304.pcap": gen_http_keepalive_304(realpeer),
        "tls13_hrr_capf.pcap": gen_tls13_hrr(False),
        "tls13_hrr_abort.pcap": gen_tls13_hrr(True),
        "firewall_rst.pcap": gen_firewall_rst(),
        "tftp_window_noack.pcap": gen_tftp_window_noack(realpeer),
        "synack_lost.pcap": gen_synack_lost(),
        "capf_key_pending.pcap": gen_capf_key_pending(realpeer),
        "capf_rst_after_hello.pcap": gen_capf_rst_after_hello(realpeer),
        "capf_pmtu_blackhole.pcap": gen_capf_pmtu_blackhole(realpeer),
        "dns_foreign_source.pcap": gen_dns_foreign_source(),
        "itl_two_capf_stale.pcap": gen_itl_two_capf(session=True),
        "itl_two_capf_no_session.pcap": gen_itl_two_capf(session=False),
        "ctl_current_itl_stale.pcap": gen_itl_two_capf(session=True, mixed=True),
        "tvs_cert_not_in_itl.pcap": gen_tvs_not_in_itl(),
        "itl_signer_change.pcap": gen_itl_signer_change(),
        "ctl_stale_capf_rejected.pcap": gen_ctl_stale_capf(),
        "ctl_vouches_capf.pcap": gen_ctl_vouches_capf(),
    }
    assert set(files) == set(EXPECTED)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory")
    ap.add_argument("--realpeer", default=DEFAULT_REALPEER,
                    help="directory holding S01_happy.pcap and S05_capf_filtered.pcap")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name, blob in build_all(args.realpeer).items():
        path = os.path.join(args.out, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, path)
        print(f"{path}: {len(blob)} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
