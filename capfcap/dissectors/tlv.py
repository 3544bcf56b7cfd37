"""The tag-length-value element shared by CAPF messages (DOMAIN §3.2) and ITL/CTL headers
and records (DOMAIN §1.2): tag(u8) length(u16, big-endian) value[length]."""

from __future__ import annotations

from typing import Any

from scapy.config import conf
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


def tlv_element(module: str, cls_name: str, name: str, tags: dict[int, str]) -> type[Packet]:
    """The scapy layer `module.cls_name` of one element (tag, length, value) whose tags
    `tags` names: a `Bounded` layer, as each item of an element list is."""
    ns = {"__module__": module, "__qualname__": cls_name,
          "__doc__": f"{name}: tag(u8) length(u16, big-endian) value[length].", "name": name,
          "fields_desc": tlv_fields(tags)}
    meta: Any = type(Bounded)  # scapy's Packet_metaclass registers the layer
    layer: type[Packet] = meta(cls_name, (Bounded,), ns)
    return layer


def drop_vendor_table() -> None:
    """Free scapy's MAC-vendor table (Wireshark's manuf file or scapy's own: about 215,000
    entries, 15 MB), which scapy loads on import. For the analysis pipeline, which never
    resolves a vendor through scapy; importing these dissectors alone leaves it whole."""
    conf.manufdb.d.clear()
