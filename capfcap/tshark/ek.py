"""Reading tshark's EK output (`-T ek`, JSON lines): Wireshark's fields per frame.

A frame holding a protocol more than once (several TLS records, some ending a reassembled
PDU) comes as a list of layers or as repeated keys, and every instance is kept. A line
that cannot be read makes its frame "unreadable", never a wrong value.

A remote SPAN packet (ERSPAN/GRE or VXLAN: "gre" or "vxlan" in `frame.protocols`) is
given as the frame it carries, as capfcap reads it: the addresses of the IP headers
before the tunnel header are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

Fields = dict[str, list[str]]

WANTED = (
    "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.stream",
    "tcp.completeness",
    "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset", "dns.id", "dns.flags.response",
    "dns.flags.rcode", "dns.count.answers", "dns.response_in", "dns.qry.name",
    "dns.qry.type", "icmp.type",
    "icmp.code", "icmpv6.type", "icmpv6.code", "tls.record.content_type",
    "tls.record.opaque_type", "tls.record.length", "tls.handshake.type",
    "tls.handshake.version", "tls.alert_message.level", "tls.alert_message.desc",
    "tls.handshake.certificate", "tftp.opcode", "tftp.source_file", "tftp.block",
    "tftp.error.code", "data.len", "http.response.code",
)


class WiresharkFrames(dict[int, Fields]):
    """Wireshark's fields per frame, and why tshark's output for other frames could not be
    read: `unreadable` per frame, `lost` for output whose frame number is unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: dict[int, str] = {}
        self.lost = ""

    def why_unreadable(self, n: int) -> str:
        """'' when frame n was read (or is simply absent from a clean output)."""
        if n in self:
            return ""
        return self.unreadable.get(n) or self.lost


class EkError(ValueError):
    """One line of tshark's EK output is not what the format promises."""


def _repeats_as_lists(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object whose repeated keys (tshark EK repeats a layer or field that occurs
    several times in a frame) keep every value, as a list."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k not in out:
            out[k] = v
            continue
        prev = out[k]
        out[k] = (prev if isinstance(prev, list) else [prev]) + (v if isinstance(v, list)
                                                                else [v])
    return out


def _strings(v: Any, name: str) -> list[str]:
    """An EK field value (scalar, or a list of them when it occurs several times)."""
    if v is None:
        return []
    if isinstance(v, list):
        return [x for item in v for x in _strings(item, name)]
    if isinstance(v, bool):
        return ["1" if v else "0"]
    if isinstance(v, str | int | float):
        return [str(v)]
    raise EkError(f"{name} is a {type(v).__name__}, not a value")


def _instances(layers: dict[str, Any], proto: str) -> list[dict[str, Any]]:
    """Every instance of a protocol layer: tshark gives one object, or a list of them (or
    repeated keys) when a frame holds the protocol more than once (TLS records that end
    a reassembled PDU and start new ones)."""
    v = layers.get(proto)
    items = v if isinstance(v, list) else [] if v is None else [v]
    for it in items:
        if not isinstance(it, dict):
            raise EkError(f"layer {proto} is a {type(it).__name__}, not an object")
    return items


def parse_ek(line: str) -> tuple[int, Fields] | None:
    """(frame number, WANTED fields) of one EK output line; None for the Elasticsearch
    index lines between packets. Raises EkError when the line cannot be read."""
    try:
        doc = json.loads(line, object_pairs_hook=_repeats_as_lists)
    except (ValueError, RecursionError) as e:
        raise EkError(f"invalid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise EkError("not a JSON object")
    if "layers" not in doc:
        if "index" in doc:
            return None
        raise EkError("no layers")
    layers = doc["layers"]
    if not isinstance(layers, dict):
        raise EkError("layers is not an object")
    frame = _instances(layers, "frame")
    numbers = [x for f in frame for x in _strings(f.get("frame_frame_number"), "frame.number")]
    if len(numbers) != 1 or not numbers[0].isdigit():
        raise EkError(f"frame.number {numbers}")
    outer = _tunnel_ip_headers(
        [x for f in frame for x in _strings(f.get("frame_frame_protocols"), "frame.protocols")])
    out: Fields = {}
    for name in WANTED:
        proto = name.partition(".")[0]
        key = proto + "_" + name.replace(".", "_")
        vals = [x for inst in _instances(layers, proto) for x in _strings(inst.get(key), name)]
        vals = vals[outer.get(proto, 0):]
        if vals:
            out[name] = vals
    return int(numbers[0]), out


def _tunnel_ip_headers(protocols: list[str]) -> dict[str, int]:
    """How many "ip" and "ipv6" layers come before a GRE or VXLAN layer in a frame's
    `frame.protocols` (colon-separated, outermost first): a tunnel's own headers."""
    if len(protocols) != 1:
        return {}
    chain = protocols[0].split(":")
    cut = next((i for i, p in enumerate(chain) if p in ("gre", "vxlan")), 0)
    return {"ip": chain[:cut].count("ip"), "ipv6": chain[:cut].count("ipv6")}


_FRAME_NUMBER = re.compile(r'"frame_frame_number"\s*:\s*"?(\d+)')


def read_ek(lines: Iterable[str]) -> WiresharkFrames:
    """Frames from tshark's EK output; a line that does not parse marks its frame (when its
    number can still be found) or the whole output as unreadable, with the reason."""
    out = WiresharkFrames()
    for line in lines:
        if not line.strip():
            continue
        try:
            got = parse_ek(line)
        except EkError as e:
            m = _FRAME_NUMBER.search(line)
            if m is None:
                out.lost = out.lost or f"tshark output unreadable: {e}"
            else:
                out.unreadable[int(m.group(1))] = f"tshark output unreadable: {e}"
            continue
        if got is not None:
            out[got[0]] = got[1]
    for n in out:
        out.unreadable.pop(n, None)
    return out
