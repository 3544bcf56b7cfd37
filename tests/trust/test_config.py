"""Phone config parsing (plain, signed, encrypted) and CUCM name extraction."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capfcap.events import PhoneConfig
from capfcap.trust.config import ConfigError, cucm_names, parse_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "pcaps" / "realpeer" / "data" / "config"
SGN = ROOT / "pcaps" / "itl" / "SEP00005E005301.cnf.xml.sgn"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", ["SEP0023AB12CD34.cnf.xml", "SEP0023AB12CD56.cnf.xml"])
def test_real_configs(name: str) -> None:
    data = (CONFIGS / name).read_bytes()
    cfg = parse_config(name, data)
    assert cfg.device == name.split(".")[0]
    assert cfg.capf_auth_mode == 2
    assert cfg.capf_servers == (("pub.cucm.example", 3804),)
    assert cfg.tvs_servers == (("pub.cucm.example", 2445), ("sub.cucm.example", 2445))
    assert cfg.callmanagers == ("pub.cucm.example", "sub.cucm.example")
    assert cfg.device_security_mode == 1
    assert cfg.load_information == "sip88xx.14-2-1-0001-14"
    assert cfg.observable and cfg.signer == ""
    assert cucm_names(cfg) == {"pub.cucm.example", "sub.cucm.example"}


def test_real_config_needs_lenient_parser() -> None:
    # The undeclared xsi: prefix defeats a namespace-aware parser.
    with pytest.raises(ET.ParseError):
        ET.fromstring((CONFIGS / "SEP0023AB12CD34.cnf.xml").read_bytes())


def test_signed_config() -> None:
    cfg = parse_config(SGN.name, SGN.read_bytes())
    assert cfg.device == "SEP00005E005301"
    assert cfg.signer.startswith("CN=cm-a.voice.example;OU=CallManager")
    assert cfg.capf_auth_mode == 1
    assert cfg.capf_servers == (("cm-a.voice.example", 3804),)
    assert cfg.device_security_mode == 2
    assert cfg.callmanagers == ("cm-a.voice.example", "198.51.100.22")
    assert cucm_names(cfg) == {"cm-a.voice.example"}  # IP literal left out


def test_signed_config_with_broken_header() -> None:
    with pytest.raises(ConfigError):
        parse_config(SGN.name, SGN.read_bytes()[:30])


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x02garbage", (SGN.read_bytes())])
def test_encrypted_config_is_not_observable(data: bytes) -> None:
    cfg = parse_config("SEP00005E005301.cnf.xml.enc.sgn", data)
    assert cfg.observable is False
    assert cfg.capf_auth_mode is None and cfg.capf_servers == ()


BAD = [
    b"",
    b"   ",
    b"<device>",
    b"\xff\xfe\x00garbage",
    b'<!DOCTYPE d [<!ENTITY a "aaaa">]><device>&a;</device>',
    b'<!DOCTYPE d SYSTEM "file:///etc/passwd"><device/>',
    b"<device>&undefined;</device>",
    b"<a>" * 1000 + b"</a>" * 1000,
]


@pytest.mark.parametrize("data", BAD)
def test_garbage_is_config_error(data: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_config("SEP00005E005301.cnf.xml", data)


def test_missing_fields_and_defaults() -> None:
    xml = (
        b"<device><capfAuthMode>x</capfAuthMode><capfList><capf><processNodeName>"
        b"Node-1.Example.</processNodeName></capf><capf><processNodeName/></capf></capfList>"
        b"<TVS><members><member><address>[2001:db8::5]</address></member></members></TVS>"
        b"</device>"
    )
    cfg = parse_config("XMLDefault.cnf.xml", xml)
    assert cfg.device == "XMLDefault"
    assert cfg.capf_auth_mode is None
    assert cfg.capf_servers == (("Node-1.Example.", 3804),)
    assert cfg.tvs_servers == (("[2001:db8::5]", 2445),)
    assert cfg.device_security_mode is None and cfg.load_information == ""
    assert cucm_names(cfg) == {"node-1.example"}


def test_cucm_names_skips_ip_literals() -> None:
    cfg = PhoneConfig(
        device="SEP00005E005301",
        capf_auth_mode=0,
        capf_servers=(("192.0.2.10", 3804),),
        tvs_servers=(("2001:db8::1", 2445), ("TVS.Voice.Example", 2445)),
        callmanagers=("cm1", "198.51.100.1"),
        device_security_mode=1,
        load_information="",
    )
    assert cucm_names(cfg) == {"tvs.voice.example", "cm1"}


_REAL = (CONFIGS / "SEP0023AB12CD34.cnf.xml").read_bytes()
_SIGNED = SGN.read_bytes()


@FUZZ
@given(
    st.sampled_from([("SEP0023AB12CD34.cnf.xml", _REAL), (SGN.name, _SIGNED)]),
    st.lists(
        st.tuples(
            st.integers(0, 2), st.integers(0, 1 << 16), st.integers(1, 255), st.binary(max_size=6)
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_fuzz_mutated_configs(
    sample: tuple[str, bytes], ops: list[tuple[int, int, int, bytes]]
) -> None:
    name, data = sample
    for kind, pos, xor, blob in ops:
        if not data:
            break
        pos %= len(data)
        if kind == 0:
            buf = bytearray(data)
            buf[pos] ^= xor
            data = bytes(buf)
        elif kind == 1:
            data = data[:pos]
        else:
            data = data[:pos] + blob + data[pos:]
    try:
        cfg = parse_config(name, data)
    except ConfigError:
        return
    assert isinstance(cfg, PhoneConfig)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([".cnf.xml", ".cnf.xml.sgn", ".cnf.xml.enc.sgn"]))
def test_fuzz_random_bytes(data: bytes, suffix: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config("SEP00005E005301" + suffix, data)
