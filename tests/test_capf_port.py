"""The CAPF and TVS ports come from the phone's config (capfList/capf/phonePort, TVS member
port) and from --capf-port/--tvs-port, never from a constant (DESIGN §4, DOMAIN §3.1, §5).

S16 (real capture): CAPF listens on 3806 and both configs say phonePort 3806; phone1
enrols, phone2's SYNs are dropped. notftp_S16 is the same capture without its TFTP frames,
so no config names the port and only --capf-port can.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from capfcap import exitcodes
from capfcap.catalog import CATALOG
from capfcap.commands import live as live_cmd
from capfcap.correlator.engine import Correlator
from capfcap.correlator.ports import GivenPorts, phone_ports
from capfcap.decode import Prefilter, decode, ip_packed
from capfcap.events import ConfigSeen, FileTransfer, FlowKey, PhoneConfig, TcpConnection
from capfcap.learn import phones_shown
from capfcap.pipeline import Options, analyze
from capfcap.report import Report
from capfcap.sources.files import read_capture
from capfcap.sources.frame import Frame
from capfcap.sources.live import capture_filter
from tests.conftest import REALPEER, ROOT
from tests.live.test_live_unit import _args as _live_args
from tests.live.test_live_unit import _Replay as _LiveReplay

S16 = REALPEER / "S16_capf_port3806.pcap"
NOTFTP = ROOT / "pcaps" / "synthetic" / "notftp_S16.pcap"
PHONE1, PHONE2, PUB = "192.0.2.21", "192.0.2.22", "198.51.100.11"
PHONE2_SYNS = [142, 143, 144, 147, 148]  # MANIFEST S16: TCP stream 1


def run(path: Path, **kw: object) -> Report:
    r, inputs = analyze([str(path)], Options(jobs=1, **kw))  # type: ignore[arg-type]
    assert not inputs.errors
    return r


def texts(r: Report) -> str:
    """Everything a reader of the report sees about the findings and phones."""
    return json.dumps([[f.summary, f.detail, f.remediation, f.evidence.filter, f.server]
                       for f in r.findings] + [p.verdict for p in r.phones])


def one(r: Report, code: str, ip: str):  # type: ignore[no-untyped-def]
    fs = [f for f in r.findings if f.code == code and f.phone.get("ip") == ip]
    assert len(fs) == 1, (code, ip, [(f.code, f.phone) for f in r.findings])
    return fs[0]


def _check_s16(r: Report) -> None:
    issued = one(r, "CAPF_LSC_ISSUED", PHONE1)
    assert issued.server == {"ip": PUB, "port": 3806, "name": "pub.cucm.example"}
    assert 77 in issued.evidence.frames  # the ~1 kB STORE_CERTIFICATE_REQUEST record
    filtered = one(r, "CAPF_UNIDIRECTIONAL", PHONE2)
    assert filtered.server["port"] == 3806
    assert list(filtered.evidence.frames) == PHONE2_SYNS
    assert "tcp.port==3806" in filtered.evidence.filter
    assert "3806" in filtered.summary
    verdicts = {p.ip: p.verdict for p in r.phones}
    assert verdicts[PHONE1].startswith("LSC installed")
    assert "port 3806 filtered" in verdicts[PHONE2]
    assert {f.code for f in r.findings if f.severity == "error"} == {"CAPF_UNIDIRECTIONAL"}
    assert "3804" not in texts(r)


# --- S16: the config names the port ------------------------------------------------------

def test_s16_verdicts_follow_the_config_port() -> None:
    r = run(S16)
    _check_s16(r)
    timeline = {p.ip: [e.what for e in p.timeline if e.stage == "capf"] for p in r.phones}
    assert any(":3806" in w for w in timeline[PHONE2])
    flows = [fl for p in r.phones for fl in p.flows if fl["server_port"] == 3806]
    assert {fl["service"] for fl in flows} == {"CAPF"}


def test_s16_keylog_decodes_the_capf_dialogue_on_3806() -> None:
    """The TLS handler decodes CAPF messages on the config's port, not only on 3804."""
    r = run(S16, keylog_data=_keylog("S16_capf_port3806"))
    f = one(r, "CAPF_LSC_ISSUED", PHONE1)
    assert f.extra["confidence"] == "certain"
    assert "STORE_CERTIFICATE_REQUEST" in f.detail


def _keylog(name: str) -> object:
    from capfcap.extractors.tlsdecrypt import load_keylog

    return load_keylog(str(REALPEER / "keylogs" / f"{name}.keylog"))


def test_s16_a_given_port_adds_to_the_config() -> None:
    """--capf-port 3804 on top of a config saying 3806: 3806 still judged (union)."""
    _check_s16(run(S16, capf_ports=[3806]))
    r = run(S16, capf_ports=[3804])
    assert one(r, "CAPF_UNIDIRECTIONAL", PHONE2).server["port"] == 3806


# --- no config in the capture: --capf-port makes the verdict -------------------------------

def test_without_config_and_without_option_nothing_is_judged() -> None:
    r = run(NOTFTP)
    assert not r.findings and not r.phones


def test_without_config_capf_port_option_gives_the_verdicts() -> None:
    _check_s16_cut(run(NOTFTP, capf_ports=[3806]))


def test_without_config_the_reader_process_spots_the_phones_too() -> None:
    r, _inputs = analyze([str(NOTFTP)], Options(jobs=2, capf_ports=[3806]))
    _check_s16_cut(r)


def _check_s16_cut(r: Report) -> None:
    assert {p.ip for p in r.phones} == {PHONE1, PHONE2}
    assert one(r, "CAPF_LSC_ISSUED", PHONE1).server["port"] == 3806
    f = one(r, "CAPF_UNIDIRECTIONAL", PHONE2)
    assert f.server["port"] == 3806 and len(f.evidence.frames) == len(PHONE2_SYNS)
    assert "3804" not in texts(r)


def test_a_given_tvs_port_is_judged_as_tvs() -> None:
    """--tvs-port 3806 on the cut capture: the same SYNs are a TVS verdict, not CAPF."""
    r = run(NOTFTP, tvs_ports=[3806])
    assert one(r, "TVS_UNIDIRECTIONAL", PHONE2).server["port"] == 3806
    assert not [f for f in r.findings if f.code.startswith("CAPF_")]


def test_cli_capf_port_changes_the_exit_status() -> None:
    base = [sys.executable, "-m", "capfcap", "analyze", str(NOTFTP), "--format", "json"]
    plain = subprocess.run(base, capture_output=True, text=True, timeout=120, check=False)
    given = subprocess.run([*base, "--capf-port", "3806"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert plain.returncode == exitcodes.OK
    assert given.returncode == exitcodes.ERRORS, given.stderr
    codes = {f["code"] for f in json.loads(given.stdout)["findings"]}
    assert codes == {"CAPF_LSC_ISSUED", "CAPF_UNIDIRECTIONAL"}


# --- the port rule, from events alone ------------------------------------------------------

def _config(port: int, client: str = PHONE1) -> ConfigSeen:
    t = FileTransfer("tftp", client, PUB, 69, "SEP0023AB12CD34.cnf.xml", "complete", (1,),
                     (1, 2), 0, 1, client_port=40000)
    return ConfigSeen(t, PhoneConfig("SEP0023AB12CD34", 2, (("pub", port),),
                                     (("pub", 2445),), (), None, ""))


def test_phone_ports_rule() -> None:
    none = GivenPorts()
    assert phone_ports([], [], none) == (frozenset({3804}), frozenset({2445}))
    assert phone_ports([_config(3806)], [_config(3806)], none)[0] == {3806}
    # a phone without its own config: the cluster's configs in the capture
    assert phone_ports([], [_config(3807)], none)[0] == {3807}
    given = GivenPorts(frozenset({3900}), frozenset({2500}))
    assert phone_ports([], [], given) == (frozenset({3900}), frozenset({2500}))
    assert phone_ports([_config(3806)], [], given)[0] == {3806, 3900}


def _syn_only(client: str, port: int) -> TcpConnection:
    syns = (10, 11, 12, 13, 14)
    return TcpConnection(FlowKey("tcp", client, 43000, PUB, port), 1_000, 17_000_000_000,
                         syns, syns, (), (), None, (), "S0", "S", 1, 5, 0, 0, 0,
                         retransmissions=4)


def test_correlator_spots_a_phone_by_a_given_port_only() -> None:
    ev = _syn_only(PHONE2, 3806)
    c = Correlator()
    c.add(ev)
    assert not c.report().phones
    c = Correlator(capf_ports=[3806])
    c.add(ev)
    assert [p.ip for p in c.report().phones] == [PHONE2]


# --- the prefilter, the reader and the live filter -----------------------------------------

def test_prefilter_and_learning_take_the_given_ports() -> None:
    syn = next(fr for fr in read_capture(str(NOTFTP)) if _is_syn_to(fr, 3806, PHONE2))
    plain, given = Prefilter(), Prefilter(service_ports=(3806,))
    assert decode(syn, plain) is None
    pkt = decode(syn, given)
    assert pkt is not None and 3806 in given.tcp_ports
    assert phones_shown(pkt) == ()
    assert phones_shown(pkt, given.phone_ports) == (PHONE2,)


def _is_syn_to(fr: Frame, port: int, src: str) -> bool:
    pkt = decode(fr, None)
    return pkt is not None and pkt.dport == port and pkt.src == src and bool(pkt.flags & 2)


class _Replay(_LiveReplay):
    """test_live_unit's LiveCapture stand-in, recording the ports of its kernel filter."""

    tcp_ports: set[int] = set()

    def __init__(self, iface: str, extra: str | None, tcp_ports: object, udp_ports: object):
        super().__init__(iface, extra, tcp_ports, udp_ports)
        type(self).tcp_ports = set(tcp_ports)  # type: ignore[call-overload]


def test_live_kernel_filter_and_verdicts_include_the_given_port(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _Replay.frames = list(read_capture(str(NOTFTP)))
    monkeypatch.setattr(live_cmd, "LiveCapture", _Replay)
    rc = live_cmd.run(_live_args(count=len(_Replay.frames), capf_port=["3806"],
                                 tvs_port=["2500"]))
    assert {3806, 2500, 3804, 2445} <= _Replay.tcp_ports
    streamed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {(f["code"], f["server"]["port"]) for f in streamed} == {
        ("CAPF_UNIDIRECTIONAL", 3806), ("CAPF_LSC_ISSUED", 3806)}
    assert rc == exitcodes.ERRORS


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_live_kernel_filter_passes_the_syns_to_a_given_port(tmp_path: Path) -> None:
    """The BPF program compiled from the given ports keeps phone2's SYNs to 3806, which the
    default program drops (tcpdump applies the same libpcap compiler as the live socket)."""
    def kept(pf: Prefilter) -> int:
        out = tmp_path / "out.pcap"
        r = subprocess.run(["tcpdump", "-r", str(NOTFTP), "-w", str(out),
                            capture_filter(pf.tcp_ports, pf.udp_ports)],
                           capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 0, r.stderr
        return sum(_is_syn_to(fr, 3806, PHONE2) for fr in read_capture(str(out)))

    assert kept(Prefilter()) == 0
    assert kept(Prefilter(service_ports=(3806,))) == len(PHONE2_SYNS)


# --- options and texts ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "65536", "-1", "x", "38o4", ""])
@pytest.mark.parametrize("flag", ["--capf-port", "--tvs-port"])
def test_bad_port_is_a_one_line_usage_error(flag: str, value: str) -> None:
    p = subprocess.run([sys.executable, "-m", "capfcap", "analyze", str(NOTFTP),
                        f"{flag}={value}"], capture_output=True, text=True, timeout=120,
                       check=False)
    assert p.returncode == exitcodes.USAGE
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"capfcap: {flag}"), p.stderr
    assert "1..65535" in lines[0] and not p.stdout


def test_live_bad_port_is_a_usage_error() -> None:
    p = subprocess.run([sys.executable, "-m", "capfcap", "live", "-i", "lo",
                        "--capf-port", "70000"], capture_output=True, text=True, timeout=120,
                       check=False)
    assert p.returncode == exitcodes.USAGE
    assert p.stderr.strip() == "capfcap: --capf-port 70000: not a TCP port (1..65535)"


@pytest.mark.parametrize("command", ["analyze", "live"])
def test_help_names_the_port_options(command: str) -> None:
    p = subprocess.run([sys.executable, "-m", "capfcap", command, "--help"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert "--capf-port N" in p.stdout and "--tvs-port N" in p.stdout
    assert "phonePort" in p.stdout


def test_catalog_and_explain_describe_the_port() -> None:
    for code in ("CAPF_UNIDIRECTIONAL", "CAPF_REFUSED", "CAPF_NOT_ATTEMPTED"):
        info = CATALOG[code]
        text = " ".join([info.meaning, *info.causes, info.confirm, info.fix])
        assert "phonePort" in text, code
    p = subprocess.run([sys.executable, "-m", "capfcap", "explain", "CAPF_UNIDIRECTIONAL"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert "--capf-port" in p.stdout and "phonePort" in p.stdout
    tvs = subprocess.run([sys.executable, "-m", "capfcap", "explain", "TVS_UNIDIRECTIONAL"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert "--tvs-port" in tvs.stdout and "2445" in tvs.stdout


# --- Wireshark and the bundle read the config's port as TLS --------------------------------

@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_crosscheck_decodes_the_config_port_as_tls() -> None:
    from capfcap.crosscheck import crosscheck

    r = run(S16)
    assert r.service_ports() == {3806}
    crosscheck(r, [str(S16)])
    v = str(one(r, "CAPF_LSC_ISSUED", PHONE1).extra["crosscheck"])
    assert v.startswith("confirmed by Wireshark") and "application_data record" in v, v


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_redacted_bundle_keeps_the_tls_record_headers_on_the_config_port(
        tmp_path: Path) -> None:
    """--redact keeps the TLS record headers (the record sizes the CAPF verdict rests on)
    on the config's CAPF port, as on 3804, and drops only the application data."""
    import zipfile

    from capfcap.bundle.archive import write_bundle

    report, inputs = analyze([str(S16)], Options(jobs=1))
    out = tmp_path / "b.zip"
    write_bundle(str(out), report, inputs, None, redact=True)
    ev = tmp_path / "ev.pcapng"
    ev.write_bytes(zipfile.ZipFile(out).read("evidence.pcapng"))
    rows = subprocess.run(["tshark", "-n", "-r", str(ev), "-d", "tcp.port==3806,tls",
                           "-T", "fields", "-e", "frame.comment", "-e", "tls.record.length"],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    lengths = {line.split("original frame ")[1].split(";")[0]: line.rsplit("\t", 1)[1]
               for line in rows.splitlines() if "CAPF_LSC_ISSUED" in line}
    assert lengths["77"] == "997" and lengths["69"] == "40", lengths


def test_mid_stream_connection_on_a_given_port_is_oriented_to_it() -> None:
    """A capture that starts inside phone1's session (first frame: the server's ACK from
    3806): with --capf-port 3806 the server side is 3806, as it would be for 3804."""
    from capfcap.events import TcpConnection
    from capfcap.pipeline import Analysis

    def conns(opts: Options) -> list[TcpConnection]:
        a = Analysis(opts)
        a.pf.add_host(ip_packed(PHONE1))  # known from earlier traffic: its frames pass
        seen: list[TcpConnection] = []
        a.listeners.append(lambda evs: seen.extend(
            e for e in evs if isinstance(e, TcpConnection)))
        for fr in read_capture(str(S16)):
            if 63 <= fr.number <= 83:
                a.feed(fr)
        a.finish()
        return seen

    (plain,) = conns(Options(jobs=1))
    assert plain.key.server_port != 3806  # the first packet's sender taken as originator
    (given,) = conns(Options(jobs=1, capf_ports=[3806]))
    assert (given.key.client, given.key.server, given.key.server_port) == (PHONE1, PUB, 3806)
