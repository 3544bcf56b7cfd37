"""The fact checks of `--crosscheck`: each fact a rule stored in a finding's
``extra["_facts"]`` (`correlator/facts.py`) against Wireshark's fields of the frames it
cites (DNS, TCP, ICMP, TLS, certificates, records, transfers, senders)."""

from __future__ import annotations

import hashlib
from typing import Any

from capfcap.tshark.ek import Fields

TFTP_BLKSIZE = 512  # RFC 1350 default block size


def _int(v: str) -> int | None:
    try:
        return int(v, 0)
    except ValueError:
        try:
            return int(float(v))
        except ValueError:
            return None


def _ints(p: Fields, name: str) -> list[int]:
    return [i for i in (_int(v) for v in p.get(name, [])) if i is not None]


class FactCheck:
    """Each kind of fact a rule stored, compared with Wireshark's fields of its frames:
    what agrees (`ok`), disagrees (`bad`) and cannot be checked (`unchecked`)."""

    def __init__(self, pkts: dict[int, Fields]) -> None:
        self.pkts = pkts
        self.ok: list[str] = []
        self.bad: list[str] = []
        self.unchecked: list[str] = []

    def pkt(self, n: int) -> Fields | None:
        p = self.pkts.get(n)
        if p is None:
            self.bad.append(f"Wireshark has no frame {n}")
        return p

    def _other_question(self, rf: int, name: str, qtype: int | None) -> bool:
        """Whether response frame `rf`, as Wireshark decodes it, asks another question than
        (name, qtype): Wireshark links a response to a query by ID and conversation alone,
        and a stub resolver sends A and AAAA under one ID (RFC 5452 §9.1: the question
        must match too)."""
        p = self.pkts.get(rf)
        if p is None:
            return False
        names = {v.lower().rstrip(".") for v in p.get("dns.qry.name", [])}
        return name not in names or (qtype is not None
                                     and qtype not in _ints(p, "dns.qry.type"))

    def dns(self, fact: dict[str, Any]) -> None:
        txid = fact["txid"]
        name = str(fact["qname"]).lower().rstrip(".")
        qtype = fact.get("qtype")
        bad0 = len(self.bad)
        linked: set[int] = set()
        for q in fact["query_frames"]:
            p = self.pkt(q)
            if p is None:
                continue
            if _ints(p, "dns.flags.response") != [0] or txid not in _ints(p, "dns.id"):
                self.bad.append(f"frame {q} is not DNS query id 0x{txid:04x}")
            elif name not in {v.lower().rstrip(".") for v in p.get("dns.qry.name", [])}:
                self.bad.append(f"frame {q} asks for {p.get('dns.qry.name')}, not {name}")
            elif qtype is not None and qtype not in _ints(p, "dns.qry.type"):
                self.bad.append(f"frame {q} asks for type {_ints(p, 'dns.qry.type')}, "
                                f"not {qtype}")
            linked |= {r for r in _ints(p, "dns.response_in")
                       if not self._other_question(r, name, qtype)}
        rf = fact["response_frame"]
        if rf is None:
            if linked:
                self.bad.append(f"Wireshark links the queries to response frame "
                                f"{min(linked)} (dns.response_in)")
            elif len(self.bad) == bad0:
                self.ok.append(f"DNS id 0x{txid:04x} unanswered (no dns.response_in)")
            return
        p = self.pkt(rf)
        if p is None:
            return
        rc, an = _ints(p, "dns.flags.rcode"), _ints(p, "dns.count.answers")
        if _ints(p, "dns.flags.response") != [1] or txid not in _ints(p, "dns.id"):
            self.bad.append(f"frame {rf} is not the DNS response id 0x{txid:04x}")
        elif rc != [fact["rcode"]]:
            self.bad.append(f"frame {rf} dns.flags.rcode {rc} vs claimed {fact['rcode']}")
        elif an != [fact["answers"]]:
            self.bad.append(f"frame {rf} dns.count.answers {an} vs claimed {fact['answers']}")
        elif self._other_question(rf, name, qtype):
            self.bad.append(f"frame {rf} answers {p.get('dns.qry.name')} type "
                            f"{_ints(p, 'dns.qry.type')}, not {name} type {qtype}")
        elif linked and rf not in linked:
            self.bad.append(f"dns.response_in links the query to frame {min(linked)}, not {rf}")
        if len(self.bad) == bad0:
            self.ok.append(f"DNS id 0x{txid:04x} rcode {fact['rcode']}, {fact['answers']} "
                           f"answers (frame {rf})")

    def tcp(self, fact: dict[str, Any]) -> None:
        bad0 = len(self.bad)
        kinds = (("syn_frames", 1, 0, None, "SYN"), ("synack_frames", 1, 1, None, "SYN-ACK"),
                 ("rst_frames", None, None, 1, "RST"))
        for key, syn, ack, rst, what in kinds:
            for n in fact[key]:
                p = self.pkt(n)
                if p is None:
                    continue
                if (syn is not None and _ints(p, "tcp.flags.syn") != [syn]) or (
                        ack is not None and _ints(p, "tcp.flags.ack") != [ack]) or (
                        rst is not None and _ints(p, "tcp.flags.reset") != [rst]):
                    self.bad.append(f"frame {n} is not a {what} (tcp.flags)")
        comp: set[int] = set()
        streams: set[int] = set()
        for n in fact["frames"]:
            p = self.pkts.get(n)
            if p is None:
                self.bad.append(f"Wireshark has no frame {n}")
                continue
            comp |= set(_ints(p, "tcp.completeness")[:1])
            streams |= set(_ints(p, "tcp.stream"))
        if len(streams) > 1:
            self.bad.append(f"frames span TCP streams {sorted(streams)}")
        # the bits only accumulate; tshark 4.0 leaves early frames' values partial even
        # with -2, so the stream's value is the OR over its frames
        final = 0
        for v in comp:
            final |= v
        if comp and final != fact["completeness"]:
            self.bad.append(f"tcp.completeness {final} vs claimed {fact['completeness']}")
        elif not comp:
            self.bad.append("no tcp.completeness in the cited frames")
        if len(self.bad) == bad0:
            self.ok.append(f"TCP flags and tcp.completeness {final} "
                           f"(stream {min(streams) if streams else '?'})")

    def icmp(self, fact: dict[str, Any]) -> None:
        p = self.pkt(fact["frame"])
        if p is None:
            return
        proto = "icmp" if fact["version"] == 4 else "icmpv6"
        t, c = _ints(p, f"{proto}.type"), _ints(p, f"{proto}.code")
        if t[:1] != [fact["type"]] or c[:1] != [fact["code"]]:
            self.bad.append(f"frame {fact['frame']} {proto}.type/code {t}/{c} vs claimed "
                            f"{fact['type']}/{fact['code']}")
        else:
            self.ok.append(f"{proto} type {fact['type']} code {fact['code']} "
                           f"(frame {fact['frame']})")

    def tls(self, fact: dict[str, Any]) -> None:
        ch = fact.get("client_hello_frame")
        if isinstance(ch, int):
            p = self.pkt(ch)
            if p is not None:
                ver = _ints(p, "tls.handshake.version")
                if 1 not in _ints(p, "tls.handshake.type"):
                    self.bad.append(f"frame {ch} has no ClientHello (tls.handshake.type 1)")
                elif fact.get("client_version") is not None and fact["client_version"] not in ver:
                    self.bad.append(f"frame {ch} tls.handshake.version {ver} vs claimed "
                                    f"{fact['client_version']}")
                else:
                    self.ok.append(f"ClientHello (frame {ch})")
        for frame, level, desc in fact.get("alerts") or []:
            p = self.pkt(frame)
            if p is None:
                continue
            lv, ds = _ints(p, "tls.alert_message.level"), _ints(p, "tls.alert_message.desc")
            if level not in lv or desc not in ds:
                self.bad.append(f"frame {frame} tls.alert_message level/desc {lv}/{ds} vs "
                                f"claimed {level}/{desc}")
            else:
                self.ok.append(f"TLS alert level {level} desc {desc} (frame {frame})")

    def cert(self, fact: dict[str, Any]) -> None:
        frame = fact.get("frame")
        if not isinstance(frame, int):
            self.unchecked.append("certificate frame unknown")
            return
        p = self.pkt(frame)
        if p is None:
            return
        ders = p.get("tls.handshake.certificate", [])
        if not ders:
            self.bad.append(f"frame {frame} carries no tls.handshake.certificate")
            return
        try:
            leaf = hashlib.sha256(bytes.fromhex(ders[0].replace(":", ""))).hexdigest()
        except ValueError:
            self.unchecked.append(f"frame {frame} certificate bytes unreadable")
            return
        if leaf != fact["sha256"]:
            self.bad.append(f"frame {frame} certificate SHA-256 {leaf[:16]} vs claimed "
                            f"{str(fact['sha256'])[:16]}")
        else:
            self.ok.append(f"certificate DER SHA-256 {leaf[:16]} (frame {frame})")

    def records(self, fact: dict[str, Any]) -> None:
        bad0 = len(self.bad)
        by_frame: dict[int, list[int]] = {}
        for frame, _ct, length in fact["records"]:
            by_frame.setdefault(int(frame), []).append(int(length))
        for frame, lengths in sorted(by_frame.items()):
            p = self.pkt(frame)
            if p is None:
                continue
            types = set(_ints(p, "tls.record.content_type")) | set(
                _ints(p, "tls.record.opaque_type"))
            have = _ints(p, "tls.record.length")
            if 23 not in types:
                self.bad.append(f"frame {frame} has no application_data record")
                continue
            for ln in lengths:
                if ln in have:
                    have.remove(ln)
                else:
                    self.bad.append(f"frame {frame} has no {ln}-byte TLS record "
                                    f"(tls.record.length {_ints(p, 'tls.record.length')})")
        if len(self.bad) == bad0 and by_frame:
            self.ok.append(f"{len(fact['records'])} application_data record lengths")

    def transfer(self, fact: dict[str, Any], objects: dict[str, list[str]]) -> None:
        if fact["protocol"] == "http":
            self._http(fact)
            return
        bad0 = len(self.bad)
        name = str(fact["filename"])
        self._tftp_requests(fact["request_frames"], name)
        blocks, errors, answered = self._tftp_answers(fact["frames"])
        status = fact["status"]
        what = name.replace("\\", "/").rsplit("/", 1)[-1]
        if status == "no_response":
            if answered:
                self.bad.append(f"Wireshark shows a TFTP answer to {what}")
            elif len(self.bad) == bad0:
                self.ok.append(f"TFTP RRQ {what} (tftp.opcode 1), no answer")
            return
        if status == "error":
            if fact["error_code"] not in errors:
                self.bad.append(f"TFTP ERROR codes {errors} vs claimed {fact['error_code']}")
            elif len(self.bad) == bad0:
                self.ok.append(f"TFTP {what}: ERROR code {fact['error_code']}")
            return
        nums = sorted(blocks)
        size = sum(blocks.values())
        if nums and nums != list(range(1, len(nums) + 1)):
            self.unchecked.append(f"TFTP {what} block numbers wrap or skip")
        elif size != fact["size"]:
            self.bad.append(f"TFTP {what}: {len(nums)} DATA blocks carry {size} bytes vs "
                            f"claimed {fact['size']}")
        elif status == "complete" and nums and blocks[nums[-1]] >= TFTP_BLKSIZE:
            self.unchecked.append(f"TFTP {what} final block size (negotiated blksize)")
        if len(self.bad) > bad0:
            return
        self.ok.append(f"TFTP {what} (RRQ frame {min(fact['request_frames'], default='?')}): "
                       f"blocks 1-{len(nums)}, {size} bytes")
        sha = fact.get("sha256")
        if status == "complete" and isinstance(sha, str):
            self._tftp_object(what, size, sha, objects.get(what, []))

    def _tftp_requests(self, frames: list[int], name: str) -> None:
        """Each claimed request frame is a TFTP RRQ (opcode 1, RFC 1350) for the file."""
        for n in frames:
            p = self.pkt(n)
            if p is None:
                continue
            if 1 not in _ints(p, "tftp.opcode"):
                self.bad.append(f"frame {n} is not a TFTP read request (tftp.opcode)")
            elif name not in p.get("tftp.source_file", []):
                self.bad.append(f"frame {n} requests {p.get('tftp.source_file')}, not {name}")

    def _tftp_answers(self, frames: list[int]) -> tuple[dict[int, int], list[int], bool]:
        """Wireshark's DATA blocks (opcode 3: block number -> length), ERROR codes
        (opcode 5) and whether any DATA, ERROR or OACK (6) answered, in the claimed frames."""
        blocks: dict[int, int] = {}
        errors: list[int] = []
        answered = False
        for n in frames:
            p = self.pkts.get(n)
            if p is None:
                self.bad.append(f"Wireshark has no frame {n}")
                continue
            ops = _ints(p, "tftp.opcode")
            if 3 in ops:
                b = _ints(p, "tftp.block")
                dl = _ints(p, "data.len")
                if b:
                    blocks.setdefault(b[0], dl[0] if dl else 0)
            if 5 in ops:
                errors += _ints(p, "tftp.error.code")
            answered |= bool({3, 5, 6} & set(ops))
        return blocks, errors, answered

    def _tftp_object(self, what: str, size: int, sha: str, exported: list[str]) -> None:
        """The carved file's SHA-256 against Wireshark's exported TFTP objects."""
        if sha in exported:
            self.ok.append(f"{what} ({size} bytes) equals Wireshark's exported object")
        elif exported:
            self.bad.append(f"{what} bytes differ from Wireshark's exported object")
        else:
            self.unchecked.append(f"Wireshark exported no TFTP object {what}")

    def _http(self, fact: dict[str, Any]) -> None:
        want = fact.get("http_status")
        codes = sorted({c for n in fact["frames"] if n in self.pkts
                        for c in _ints(self.pkts[n], "http.response.code")})
        if want is None:
            self.unchecked.append("HTTP transfer without a status line")
        elif want in codes:
            self.ok.append(f"HTTP status {want}")
        else:
            self.bad.append(f"http.response.code {codes} vs claimed {want}")

    def sender(self, fact: dict[str, Any]) -> None:
        ips = set(fact["ips"])
        end, verb = ("dst", "sent to") if fact.get("received") else ("src", "sent by")
        others = []
        for n in fact["frames"]:
            p = self.pkt(n)
            if p is None:
                continue
            addr = set(p.get(f"ip.{end}", [])[:1] + p.get(f"ipv6.{end}", [])[:1])
            if not addr & ips:
                others.append(n)
        if others:
            self.bad.append(f"frames {', '.join(map(str, others[:5]))} were not {verb} "
                            f"{', '.join(sorted(ips))}")
        else:
            self.ok.append(f"all {len(fact['frames'])} frames {verb} the phone")
