"""scapy ITL/CTL/.sgn layers: dissection of real files, building, byte-exact round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.dissectors import itl as d
from capfcap.dissectors import itltags as tg

ROOT = Path(__file__).resolve().parents[2]
REAL_ITL = ROOT / "pcaps" / "real-itl" / "ITLFile.tlv"
ALL_TLV = [
    REAL_ITL,
    *sorted((ROOT / "pcaps" / "realpeer" / "data" / "itl").glob("*.tlv")),
    *sorted((ROOT / "pcaps" / "itl").glob("*.tlv")),
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("path", ALL_TLV, ids=lambda p: p.name)
def test_round_trip_files(path: Path) -> None:
    data = path.read_bytes()
    pkt = d.ItlFile(data)
    assert bytes(pkt) == data
    total = sum(d.wire_len(x) for x in pkt.header) + sum(d.wire_len(x) for x in pkt.records)
    assert total == len(data)


def test_real_itl_structure() -> None:
    data = REAL_ITL.read_bytes()
    pkt = d.ItlFile(data)
    walked = [(off, depth, el.tag) for off, depth, el in d.walk_header(pkt.header)]
    # Offsets cross-checked against the raw bytes: each element's tag byte sits there.
    for off, _depth, tag in walked:
        assert data[off] == tag
    assert [t for _, depth, t in walked if depth == 0] == [1, 2, 28, 3, 7, 12, 14, 15]
    assert [t for _, depth, t in walked if depth == 1] == [4, 6, 5, 8, 9]
    assert [t for _, depth, t in walked if depth == 2] == [10, 11]
    containers = {el.tag: el.length for el in pkt.header if isinstance(el, d.HeaderContainer)}
    assert containers == {3: 71, 7: 15}
    hl = next(el for el in pkt.header if el.tag == tg.TAG_HEADER_LENGTH)
    assert int.from_bytes(hl.value, "big") == 388
    offsets = [off for off, _ in d.walk_records(pkt.records, 388)]
    assert offsets == [388, 1872, 3547, 5239, 7824]
    for off, rec in d.walk_records(pkt.records, 388):
        assert data[off : off + 3] == b"\x01\x00\x02"
        assert int.from_bytes(data[off + 3 : off + 5], "big") == rec.record_length
        tags = [el.tag for _, el in d.walk_record_elements(rec, off)]
        assert tags == [3, 5, 6, 4, 7, 8, 9]
    roles = [
        int.from_bytes(next(e.value for e in r.elements if e.tag == tg.REC_ROLE), "big")
        for r in pkt.records
    ]
    assert [tg.role_name(r) for r in roles] == ["SAST", "CCM", "CCM", "APP-SERVER", "APP-SERVER"]


def test_padding_is_one_byte_without_length() -> None:
    data = (ROOT / "pcaps" / "itl" / "itl_cucm_sha1.tlv").read_bytes()
    pkt = d.ItlFile(data)
    pads = [(off, el) for off, _, el in d.walk_header(pkt.header) if el.tag == tg.TAG_PADDING]
    assert len(pads) == 3
    for off, el in pads:
        assert isinstance(el, d.HeaderPadding)
        assert bytes(el) == b"\x0d" and data[off] == 0x0D
    hl = next(el for el in pkt.header if el.tag == tg.TAG_HEADER_LENGTH)
    assert int.from_bytes(hl.value, "big") == pads[-1][0] + 1
    assert int.from_bytes(hl.value, "big") % 4 == 0


def test_build_from_field_values_computes_lengths() -> None:
    pkt = d.ItlFile(
        header=[
            d.HeaderElement(tag=1, value=b"\x01\x02"),
            d.HeaderElement(tag=2, value=(5 + 5 + 18 + 1).to_bytes(2, "big")),
            d.HeaderContainer(
                tag=7,
                children=[
                    d.HeaderElement(tag=8, value=b"\x01"),
                    d.HeaderContainer(
                        tag=9,
                        children=[
                            d.HeaderElement(tag=10, value=b"\x00"),
                            d.HeaderElement(tag=11, value=b"\x02"),
                        ],
                    ),
                ],
            ),
            d.HeaderPadding(),
        ],
        records=[
            d.ItlRecord(
                elements=[
                    d.RecordElement(tag=4, value=b"\x00\x04"),
                    d.RecordElement(tag=2, value=d.cstring("node")),
                ]
            )
        ],
    )
    raw = bytes(pkt)
    assert raw[:10] == bytes.fromhex("0100020102020002001d")
    # SIGNATURE_INFO container = 4 + 3 + 4 + 4 = 15; algorithm container = 8 (DOMAIN §1.3)
    assert raw[10:13] == b"\x07\x00\x0f"
    assert raw[17:20] == b"\x09\x00\x08"
    assert raw[28] == 0x0D
    assert raw[29:34] == b"\x01\x00\x02\x00\x12"  # record length 5 + 5 + 8
    again = d.ItlFile(raw)
    assert bytes(again) == raw
    assert len(again.header) == 4 and len(again.records) == 1
    assert [e.tag for e in again.records[0].elements] == [4, 2]
    assert again.records[0].elements[1].value == b"node\x00"


def test_header_length_not_first_is_honoured() -> None:
    # HEADER_LENGTH after other elements: the header still ends at its value.
    header = [d.HeaderElement(tag=14, value=b"x\x00"), d.HeaderElement(tag=2, value=b"\x00\x0a")]
    raw = bytes(d.SgnFile(header=header, body=b"<xml/>"))
    pkt = d.SgnFile(raw)
    assert len(pkt.header) == 2 and pkt.body == b"<xml/>"


def test_nested_container_bomb_is_bounded() -> None:
    data = b"\x03\xff\xff" * 20000
    pkt = d.ItlFile(data)
    assert bytes(pkt) == data
    depths = [depth for _, depth, _ in d.walk_header(pkt.header)]
    assert max(depths) <= d.MAX_NESTING


def test_padding_flood_is_cut_at_item_limit() -> None:
    data = b"\x0d" * (d.MAX_HEADER_LEN + 100)
    pkt = d.ItlFile(data)
    assert len(pkt.header) == d.MAX_HEADER_ITEMS + 1
    assert isinstance(pkt.header[-1], d.Raw)
    assert len(pkt.header[-1].load) == len(data) - d.MAX_HEADER_ITEMS
    assert bytes(pkt) == data


def test_role_names() -> None:
    assert [tg.role_name(c) for c in (0, 1, 2, 3, 4, 7, 21, 5, 99)] == [
        "SAST",
        "CCM",
        "CCM+TFTP",
        "TFTP",
        "CAPF",
        "APP-SERVER",
        "TVS",
        "5",
        "99",
    ]


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes_round_trip(data: bytes) -> None:
    for cls in (d.ItlFile, d.SgnFile):
        pkt = cls(data)
        assert bytes(pkt) == data
    pkt = d.ItlFile(data)
    total = sum(d.wire_len(x) for x in pkt.header) + sum(d.wire_len(x) for x in pkt.records)
    assert total == len(data)


_values = st.binary(max_size=40)
_leaf_tags = st.integers(0, 255).filter(lambda t: t not in (3, 7, 9, 13))


@FUZZ
@given(
    st.lists(st.tuples(_leaf_tags, _values), max_size=6),
    st.lists(st.lists(st.tuples(st.integers(0, 255), _values), max_size=5), max_size=4),
)
def test_built_files_dissect_to_same_values(
    header: list[tuple[int, bytes]], records: list[list[tuple[int, bytes]]]
) -> None:
    elements = [d.HeaderElement(tag=t, value=v) for t, v in header if t != 2]
    size = sum(3 + len(v) for t, v in header if t != 2) + 5
    elements.insert(0, d.HeaderElement(tag=2, value=size.to_bytes(2, "big")))
    recs = [d.ItlRecord(elements=[d.RecordElement(tag=t, value=v) for t, v in r]) for r in records]
    raw = bytes(d.ItlFile(header=elements, records=recs))
    pkt = d.ItlFile(raw)
    assert bytes(pkt) == raw
    assert [(e.tag, e.value) for e in pkt.header] == [(e.tag, e.value) for e in elements]
    assert [[(e.tag, e.value) for e in r.elements] for r in pkt.records] == [
        [(t, v) for t, v in r] for r in records
    ]


@pytest.mark.parametrize(
    "data",
    [
        bytes(1 << 20),  # zero "elements" of 3 bytes each
        b"\x01\x00\x02\x00\x05" * 100_000,  # minimal well-framed records after a bad header
        b"\x03\x00\x30" + b"\x0d" * 0x30,  # padding bytes inside a container are not padding
    ],
)
def test_hostile_inputs_are_bounded(data: bytes) -> None:
    pkt = d.ItlFile(data)
    assert bytes(pkt) == data
    assert len(pkt.header) <= d.MAX_HEADER_ITEMS + 1
    assert len(pkt.records) <= d.MAX_RECORDS + 1
    for el in pkt.header:
        if isinstance(el, d.HeaderContainer):
            assert len(el.children) <= d.MAX_CONTAINER_ITEMS
