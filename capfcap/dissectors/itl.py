"""scapy layers for Cisco ITL/CTL trust lists (`.tlv`) and signed-file (`.sgn`) headers.

Wire format (DOMAIN.md §1.2-§1.5), all integers big-endian:

    element   = tag(u8) length(u16) value[length]
    padding   = 0x0d                              (tag 13: one byte, no length, no value)
    container = tag(u8) length(u16) element*      (tags 3, 7, 9: length spans the children)

    file      = header-element* (until byte HEADER_LENGTH)  record*      (.tlv)
              | header-element* (until byte HEADER_LENGTH)  body         (.sgn)
    record    = 01 00 02 record_length(u16, whole record)  record-element*

The header ends at the offset carried by HEADER_LENGTH (tag 2), wherever that tag sits
(parsing never relies on tag order). Truncated or inconsistent bytes still dissect: an
element cut short keeps its declared length and the bytes that were there, and bytes
that cannot form an element become a `Raw` item, so `bytes(ItlFile(data)) == data` for
any input. Validation is the caller's job (`capfcap.trust.itl`); this module only parses.
Tag numbers and names are in `itltags.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scapy.base_classes import BasePacket
from scapy.config import conf
from scapy.fields import (
    ByteEnumField,
    ByteField,
    FieldLenField,
    PacketListField,
    ShortField,
    StrField,
)
from scapy.packet import Packet, Raw

from capfcap.dissectors.itltags import (
    CONTAINER_TAGS,
    HEADER_TAGS,
    REC_LENGTH,
    RECORD_TAGS,
    TAG_HEADER_LENGTH,
    TAG_PADDING,
    TAG_SIGNER_INFO,
)
from capfcap.dissectors.tlv import Bounded, tlv_element, tlv_fields

RECORD_PREFIX_LEN = 5  # 01 00 02 <u16 record_length>
MAX_HEADER_LEN = 0xFFFF  # HEADER_LENGTH is a u16: no header is longer
# Object-count bounds (real files: ~17 header items, 3 children per container, <= 12 tags
# per record, tens of records). Past a bound the rest of the input becomes one `Raw`
# item, so hostile input never turns into a flood of packet objects.
MAX_NESTING = 3  # real files nest 2 deep (7 > 9); deeper "containers" are read as leaves
MAX_HEADER_ITEMS = 256
MAX_CONTAINER_ITEMS = 16
MAX_RECORD_ITEMS = 64
MAX_RECORDS = 1024


class HeaderElement(Bounded):
    """Header leaf element: tag(u8) length(u16) value. Dispatches to padding/containers."""

    name = "ITL header element"
    fields_desc = tlv_fields(HEADER_TAGS)

    @classmethod
    def dispatch_hook(cls, _pkt: bytes | None = None, *args: Any, **kargs: Any) -> type[Packet]:
        if _pkt:
            tag = _pkt[0]
        else:
            tag = kargs.get("tag", -1)
        parent = kargs.get("_parent")
        if tag == TAG_PADDING and not isinstance(parent, HeaderContainer):
            return HeaderPadding
        if tag in CONTAINER_TAGS and _nesting(parent) < MAX_NESTING:
            return HeaderContainer
        return HeaderElement


def _nesting(parent: Packet | None) -> int:
    """Number of containers enclosing an element (bounded by MAX_NESTING + 1 steps)."""
    depth = 0
    while isinstance(parent, HeaderContainer) and depth <= MAX_NESTING:
        depth += 1
        parent = parent.parent
    return depth


class HeaderPadding(HeaderElement):
    """Tag 13: one byte, no length, no value (pads the header to 4 bytes; top level only)."""

    name = "ITL header padding"
    fields_desc = [ByteEnumField("tag", TAG_PADDING, HEADER_TAGS)]


class HeaderContainer(HeaderElement):
    """Tags 3/7/9: the length covers the nested elements that follow."""

    name = "ITL header container"
    fields_desc = [
        ByteEnumField("tag", TAG_SIGNER_INFO, HEADER_TAGS),
        FieldLenField("length", None, length_of="children", fmt="!H"),
        PacketListField(
            "children",
            [],
            HeaderElement,
            length_from=lambda p: p.length,
            max_count=MAX_CONTAINER_ITEMS,
        ),
    ]


_MAX_ITEM_LEN = 3 + 0xFFFF  # one element or record: a u16 length plus its 3-byte prefix


def _take(cls: type[Packet], s: bytes, offset: int) -> tuple[BasePacket, int]:
    """Dissect one item at `offset`: (item, next offset). Failure -> Raw(rest of input).

    Only a window of at most _MAX_ITEM_LEN bytes is handed to scapy, so no item keeps a
    reference to (or a copy of) the rest of a large input.
    """
    window = s[offset : offset + _MAX_ITEM_LEN]
    try:
        item: Packet = cls(window)
    except Exception:
        if conf.debug_dissector:
            raise
        return Raw(load=s[offset:]), len(s)
    pad = item.lastlayer()
    if isinstance(pad, conf.padding_layer) and pad.underlayer is not None:
        del pad.underlayer.payload
    return item, offset + wire_len(item)


class _HeaderElementsField(PacketListField):
    """Header elements up to the byte offset given by HEADER_LENGTH (tag 2).

    Stops when the bytes consumed reach that offset, when the input ends, or after
    MAX_HEADER_LEN bytes if no HEADER_LENGTH is found (a u16 cannot point further).
    Every iteration consumes at least one byte; past MAX_HEADER_ITEMS items the rest of
    the input is one Raw item.
    """

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, list[BasePacket]]:
        items: list[BasePacket] = []
        offset = 0
        limit = MAX_HEADER_LEN
        seen_length = False
        while offset < len(s) and offset < limit:
            if len(items) >= MAX_HEADER_ITEMS:
                items.append(Raw(load=s[offset:]))
                return b"", items
            item, offset = _take(HeaderElement, s, offset)
            items.append(item)
            if (
                not seen_length
                and type(item) is HeaderElement
                and item.tag == TAG_HEADER_LENGTH
                and len(item.value) == 2
            ):
                seen_length = True
                limit = int.from_bytes(item.value, "big")
        return s[offset:], items


class _RecordsField(PacketListField):
    """Records until the input ends. A record that does not start with 01 00 02 and a
    length >= 5, or more than MAX_RECORDS records, ends the list: the rest is one Raw."""

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, list[BasePacket]]:
        items: list[BasePacket] = []
        offset = 0
        while offset < len(s):
            if len(items) >= MAX_RECORDS:
                items.append(Raw(load=s[offset:]))
                break
            item, offset = _take(ItlRecord, s, offset)
            items.append(item)
            if isinstance(item, ItlRecord) and offset < len(s) and not _record_framed(item):
                items.append(Raw(load=s[offset:]))
                break
        return b"", items


def _record_framed(rec: Packet) -> bool:
    return bool(
        rec.length_tag == REC_LENGTH
        and rec.length_size == 2
        and rec.record_length >= RECORD_PREFIX_LEN
    )


RecordElement = tlv_element(__name__, "RecordElement", "ITL record element", RECORD_TAGS)


class ItlRecord(Bounded):
    """One record: RECORD_LENGTH element (01 00 02 <u16>) then the record's elements."""

    name = "ITL record"
    fields_desc = [
        ByteField("length_tag", REC_LENGTH),
        ShortField("length_size", 2),
        FieldLenField(
            "record_length",
            None,
            length_of="elements",
            fmt="!H",
            adjust=lambda p, x: x + RECORD_PREFIX_LEN,
        ),
        PacketListField(
            "elements",
            [],
            RecordElement,
            length_from=lambda p: max(p.record_length - RECORD_PREFIX_LEN, 0),
            max_count=MAX_RECORD_ITEMS,
        ),
    ]


class ItlFile(Packet):
    """A whole `.tlv` trust list: header elements, then records."""

    name = "ITL/CTL file"
    fields_desc = [
        _HeaderElementsField("header", [], HeaderElement),
        _RecordsField("records", [], ItlRecord),
    ]


class SgnFile(Packet):
    """A signed file (`.sgn`, `.enc.sgn`): the same header, then the file body."""

    name = "signed file"
    fields_desc = [
        _HeaderElementsField("header", [], HeaderElement),
        StrField("body", b""),
    ]


def dissect_file(data: bytes, name: str = "") -> ItlFile | SgnFile:
    """The scapy entry point for a carved file (from Wireshark's File > Export Objects >
    TFTP, or `capfcap analyze --bundle`): a signed file `*.sgn` as SgnFile, anything else
    (ITLFile.tlv, CTLFile.tlv, ITLSEP<MAC>.tlv) as ItlFile. Parsing only: the checks and
    the signature verification are capfcap.trust.itl.parse_trust_list."""
    if name.lower().endswith(".sgn"):
        return SgnFile(data)
    return ItlFile(data)


def wire_len(item: Packet) -> int:
    """Number of input bytes an element, record or `Raw` remainder occupies.

    Equal to `len(bytes(item))` (dissection round-trips) without rebuilding.
    """
    if isinstance(item, HeaderPadding):
        return 1
    if isinstance(item, HeaderContainer):
        return 3 + sum(wire_len(c) for c in item.children)
    if isinstance(item, (HeaderElement, RecordElement)):
        return 3 + len(item.value)
    if isinstance(item, ItlRecord):
        return RECORD_PREFIX_LEN + sum(wire_len(e) for e in item.elements)
    return len(bytes(item))


def walk_header(
    elements: list[Packet], offset: int = 0, depth: int = 0
) -> Iterator[tuple[int, int, Packet]]:
    """Yield (byte offset, nesting depth, element) for header elements, containers first.

    Recursion depth is bounded by the input: each level costs a 3-byte container header.
    """
    for el in elements:
        yield offset, depth, el
        if isinstance(el, HeaderContainer):
            yield from walk_header(el.children, offset + 3, depth + 1)
        offset += wire_len(el)


def walk_records(records: list[Packet], offset: int) -> Iterator[tuple[int, Packet]]:
    """Yield (byte offset, record) starting at `offset` (the header length)."""
    for rec in records:
        yield offset, rec
        offset += wire_len(rec)


def walk_record_elements(record: Packet, offset: int) -> Iterator[tuple[int, Packet]]:
    """Yield (byte offset, element) for the elements of a record at `offset`."""
    offset += RECORD_PREFIX_LEN
    for el in record.elements:
        yield offset, el
        offset += wire_len(el)


def cstring(text: str) -> bytes:
    """Encode a NUL-terminated string value (the length includes the NUL)."""
    return text.encode("utf-8") + b"\x00"
