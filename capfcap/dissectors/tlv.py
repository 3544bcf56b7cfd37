"""The tag-length-value element shared by CAPF messages (DOMAIN §3.2) and ITL/CTL headers
and records (DOMAIN §1.2): tag(u8) length(u16, big-endian) value[length]."""

from __future__ import annotations

from typing import Any

from scapy.fields import ByteEnumField, FieldLenField, StrLenField
from scapy.packet import Packet


def tlv_fields(tags: dict[int, str]) -> list[Any]:
    """Fresh scapy fields of one element whose tag is named by `tags`; `length` follows
    the value when a layer is built."""
    return [
        ByteEnumField("tag", 0, tags),
        FieldLenField("length", None, length_of="value", fmt="!H"),
        StrLenField("value", b"", length_from=lambda p: p.length),
    ]


class Bounded(Packet):
    """A layer that ends with its own fields: the bytes after it are the next item of the
    list that holds it, never its payload (each element, each record)."""

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s
