"""The ticket bundle (--bundle OUT.zip): contents, goldens, redaction, safety, exit status."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography import x509

from capfcap import exitcodes
from capfcap.bundle.archive import build, object_name, safe_component, write_bundle
from capfcap.bundle.frames import cited_frames
from capfcap.bundle.redact import Redactor, link_macs
from capfcap.cli import main
from capfcap.correlator.objects import carve
from capfcap.correlator.state import PhoneState, State
from capfcap.errors import UsageError
from capfcap.events import FileTransfer
from capfcap.pipeline import Options, analyze
from capfcap.report import CarvedObject, Report
from capfcap.reporters.html import render as render_html
from capfcap.reporters.json import render as render_json
from capfcap.sources.files import read_capture
from tests.conftest import REALPEER, ROOT

GOLDEN = ROOT / "tests" / "golden" / "summary"
SHARED = ["S05_capf_filtered", "S07_capf_cert_mismatch", "S08_asymmetric_capture",
          "S11_two_tftp_itl_mismatch"]


def _bundle(tmp_path: Path, name: str, redact: bool = False) -> tuple[Report, zipfile.ZipFile]:
    src = REALPEER / f"{name}.pcap"
    report, inputs = analyze([str(src)], Options())
    out = tmp_path / f"{name}.zip"
    write_bundle(str(out), report, inputs, None, redact=redact)
    return report, zipfile.ZipFile(out)


def _tshark(data: bytes, tmp_path: Path, *args: str) -> list[list[str]]:
    p = tmp_path / "ev.pcapng"
    p.write_bytes(data)
    out = subprocess.run(["tshark", "-n", "-r", str(p), "-d", "tcp.port==3804,tls", *args],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


# -- contents -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHARED)
def test_bundle_contents(tmp_path: Path, name: str) -> None:
    report, z = _bundle(tmp_path, name)
    names = z.namelist()
    assert names[:4] == ["summary.md", "findings.json", "evidence.pcapng", "report.html"]
    assert all(n.startswith("objects/") for n in names[4:])
    assert z.read("findings.json").decode() == render_json(report)
    assert z.read("report.html").decode() == render_html(report)
    summary = z.read("summary.md").decode()
    assert "<" not in summary.replace("\\<", "")  # no HTML
    for line in summary.splitlines():
        assert len(line) <= 100, line
    flat = " ".join(summary.split())  # wrapped code spans render as one line
    for f in report.findings:
        assert f.code in summary and f"`{' '.join(f.evidence.filter.split())}`" in flat
    for c in report.files:
        assert c.sha256 in summary


@pytest.mark.parametrize("name", SHARED)
def test_summary_golden(tmp_path: Path, name: str, update_golden: bool) -> None:
    _report, z = _bundle(tmp_path, name)
    got = z.read("summary.md").decode()
    path = GOLDEN / f"{name}.md"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"{path} missing: run pytest --update-golden and review it"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.tshark
@pytest.mark.parametrize("name", SHARED)
def test_bundle_evidence_in_tshark(tmp_path: Path, name: str) -> None:
    report, z = _bundle(tmp_path, name)
    cited = cited_frames(report)
    rows = _tshark(z.read("evidence.pcapng"), tmp_path, "-Y", "frame.comment", "-T", "fields",
                   "-e", "frame.comment")
    assert [r[0] for r in rows] == [
        f"capfcap: {', '.join(c)}; original frame {n}" for n, c in cited.items()]
    head = subprocess.run(["capinfos", "-k", str(tmp_path / "ev.pcapng")], capture_output=True,
                          text=True, check=True).stdout
    verdict = z.read("summary.md").decode()
    assert "Capture comment:" in head
    assert report.phones[0].verdict.split(":")[0] in head
    assert report.phones[0].verdict.split(":")[0] in verdict


def test_objects_are_the_wire_bytes(tmp_path: Path) -> None:
    _report, z = _bundle(tmp_path, "S07_capf_cert_mismatch")
    names = z.namelist()
    assert "objects/tftp_198.51.100.11_ITLFile.tlv_frame7.tlv" in names
    assert "objects/cert_3804_198.51.100.11_frame64_CN=CAPF-1a2b3c4d.pem" in names
    itl = z.read("objects/tftp_198.51.100.11_ITLFile.tlv_frame7.tlv")
    assert itl == (REALPEER / "data/itl/ITL_capf_mismatch.tlv").read_bytes()
    pem = z.read("objects/cert_3804_198.51.100.11_frame64_CN=CAPF-1a2b3c4d.pem")
    want = x509.load_pem_x509_certificate((REALPEER / "data/certs/capf.crt.pem").read_bytes())
    assert x509.load_pem_x509_certificate(pem) == want
    cfg = [n for n in names if n.endswith(".cnf.xml_frame44.xml")]
    assert len(cfg) == 1 and b"capfAuthMode" in z.read(cfg[0])


# -- redaction ----------------------------------------------------------------------------
def _all_macs(path: Path) -> set[bytes]:
    macs: set[bytes] = set()
    for fr in read_capture(str(path)):
        macs.update(m for m in link_macs(fr.linktype, fr.data) if not m[0] & 1)
    return macs


def _forms(mac: bytes) -> list[bytes]:
    h = mac.hex()
    pairs = [h[i : i + 2] for i in range(0, 12, 2)]
    text = [":".join(pairs), "-".join(pairs), h, f"{h[:4]}.{h[4:8]}.{h[8:]}"]
    return [mac] + [t.encode() for t in text] + [t.upper().encode() for t in text]


@pytest.mark.parametrize("name", ["S07_capf_cert_mismatch", "S11_two_tftp_itl_mismatch",
                                  "S05_capf_filtered"])
def test_redacted_bundle_has_no_original_mac(tmp_path: Path, name: str) -> None:
    macs = _all_macs(REALPEER / f"{name}.pcap")
    assert len(macs) >= 2
    report, z = _bundle(tmp_path, name, redact=True)
    blobs = {n: z.read(n) for n in z.namelist()}
    blobs["(zip names)"] = "\n".join(z.namelist()).encode()
    blobs["(whole zip)"] = (tmp_path / f"{name}.zip").read_bytes()
    for mac in macs:
        for form in _forms(mac):
            for n, b in blobs.items():
                assert form not in b, f"{form!r} in {n}"
    summary = blobs["summary.md"].decode()
    assert "## Redaction" in summary
    # pseudonyms are consistent: the table's MAC is the evidence's Ethernet source
    doc = json.loads(blobs["findings.json"])
    mac = doc["phones"][0]["mac"]
    assert mac.startswith("02:ca:fe:") and mac in summary
    assert doc["phones"][0]["device"] == "SEP" + mac.replace(":", "").upper()


def test_redacted_bundle_leaves_out_a_per_device_trust_list(tmp_path: Path) -> None:
    src = REALPEER.parent / "synthetic" / "itlsep_download.pcap"
    report, inputs = analyze([str(src)], Options())
    (itlsep,) = [o for o in report.objects if o.name.startswith("ITLSEP")]
    (mac,) = [m for m in _all_macs(src) if m.hex().upper() in itlsep.name]
    assert mac.hex().upper().encode() in itlsep.data  # the signed header names the file
    out = tmp_path / "b.zip"
    write_bundle(str(out), report, inputs, None, redact=True)
    z = zipfile.ZipFile(out)
    blobs = {n: z.read(n) for n in z.namelist()}
    blobs["(zip names)"] = "\n".join(z.namelist()).encode()
    blobs["(whole zip)"] = out.read_bytes()
    for m in _all_macs(src):
        for form in _forms(m):
            for n, b in blobs.items():
                assert form not in b, f"{form!r} in {n}"
    assert not [n for n in z.namelist() if n.startswith("objects/") and "ITLSEP" in n]
    summary = blobs["summary.md"].decode()
    assert "1 file(s) whose signed bytes name a device MAC" in summary
    assert "ITLSEP" in summary  # the parsed summary stays
    # unredacted, the file is there as captured
    write_bundle(str(tmp_path / "full.zip"), report, inputs, None)
    full = zipfile.ZipFile(tmp_path / "full.zip")
    assert itlsep.data in [full.read(n) for n in full.namelist() if n.startswith("objects/")]


@pytest.mark.tshark
def test_redacted_evidence_keeps_handshake_and_drops_payloads(tmp_path: Path) -> None:
    report, z = _bundle(tmp_path, "S11_two_tftp_itl_mismatch", redact=True)
    ev = z.read("evidence.pcapng")
    doc = json.loads(z.read("findings.json"))
    rows = _tshark(ev, tmp_path, "-T", "fields", "-e", "ip.src", "-e", "eth.src",
                   "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.comment")
    assert len(rows) == len(cited_frames(report))
    phones = {p["ip"]: p["mac"] for p in doc["phones"]}
    for ip, src, _wire, _cap, _comment in rows:
        if ip in phones:
            assert src == phones[ip]
    cut = [r for r in rows if r[2] != r[3]]
    assert cut and all("payload removed by --redact" in r[4] for r in cut)
    # the server Certificate stays readable (public material)
    certs = _tshark(ev, tmp_path, "-Y", "tls.handshake.certificate", "-T", "fields",
                    "-e", "frame.comment")
    orig = subprocess.run(["tshark", "-n", "-r", str(REALPEER / "S11_two_tftp_itl_mismatch.pcap"),
                           "-d", "tcp.port==3804,tls", "-Y", "tls.handshake.certificate",
                           "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                          check=True).stdout.split()
    want = [n for n in map(int, orig) if n in cited_frames(report)]
    assert want and [int(c[0].rsplit(" ", 1)[1]) for c in certs] == want
    # the trust-list downloads are whole
    assert any(r[2] == r[3] == "558" for r in rows)
    assert not any(n.endswith(".xml") for n in z.namelist())  # configs left out


def test_redactor_forms_and_lengths() -> None:
    r = Redactor()
    r.add("00:23:AB:12:CD:34")
    r.add("ff:ff:ff:ff:ff:ff")  # broadcast: not identifying, unchanged
    assert len(r.map) == 1
    s = "SEP0023AB12CD34 00:23:ab:12:cd:34 00-23-AB-12-CD-34 0023.ab12.cd34 x0023ab12cd34f"
    assert r.text(s) == ("SEP02CAFE000001 02:ca:fe:00:00:01 02-CA-FE-00-00-01 02ca.fe00.0001 "
                         "x0023ab12cd34f")
    raw = b"\x00\x23\xab\x12\xcd\x34" + b"CTLSEP0023AB12CD34.tlv"
    assert r.blob(raw) == b"\x02\xca\xfe\x00\x00\x01CTLSEP02CAFE000001.tlv"


# -- safety -------------------------------------------------------------------------------
def _transfer(name: str, data: bytes) -> FileTransfer:
    return FileTransfer("tftp", "192.0.2.50", "198.51.100.9", 69, name, "complete", (4,),
                        (4, 5, 6), 1, 2, data)


def test_capture_paths_never_leave_objects(tmp_path: Path) -> None:
    st = State()
    for n in ("../../../etc/ITLFile.tlv", "..\\..\\CTLFile.tlv", "/abs/SEP0023AB12CD99.cnf.xml"):
        st.add(_transfer(n, b"payload " + n.encode()))
    p = PhoneState("192.0.2.50", 4, addrs={"192.0.2.50"})
    objs, omitted = carve(st, [p])
    assert len(objs) == 3 and omitted == 0
    objs.append(CarvedObject("CONFIG", "tftp", "198.51.100.9", "../../etc/passwd", 9, b"x"))
    objs.append(CarvedObject("CERT", "3804", "2001:db8::1", "CN=../../x/y", 10, b"\x30\x00"))
    objs.append(CarvedObject("ITL", "tftp", "198.51.100.9", ".." + "/" * 3, 11, b"y"))
    report = Report([], [], [], objects=objs)
    out = tmp_path / "b.zip"
    write_bundle(str(out), report, [], None)
    names = zipfile.ZipFile(out).namelist()
    assert names[:4] == ["summary.md", "findings.json", "evidence.pcapng", "report.html"]
    for n in names[4:]:
        assert n.startswith("objects/") and n.count("/") == 1 and "\\" not in n
        assert not n.split("/", 1)[1].startswith(".")
    assert "objects/tftp_198.51.100.9_ITLFile.tlv_frame4.tlv" in names
    assert "objects/tftp_198.51.100.9_passwd_frame9.xml" in names
    dest = tmp_path / "x"
    zipfile.ZipFile(out).extractall(dest)
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert all(f in names for f in files) and len(files) == len(names)
    assert safe_component("../..") == "object"
    assert object_name(objs[4]) == "cert_3804_2001_db8_1_frame10_CN=.._.._x_y.pem"
    assert "objects/cert_3804_2001_db8_1_frame10_CN=.._.._x_y.pem" in names
    assert "objects/tftp_198.51.100.9_unnamed_frame11.tlv" in names


def test_no_overwrite_without_force(tmp_path: Path) -> None:
    report, inputs = analyze([str(REALPEER / "S05_capf_filtered.pcap")], Options())
    out = tmp_path / "b.zip"
    out.write_bytes(b"keep me")
    with pytest.raises(UsageError, match="exists"):
        write_bundle(str(out), report, inputs, None)
    assert out.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["b.zip"]  # no temporary left behind
    write_bundle(str(out), report, inputs, None, force=True)
    assert zipfile.ZipFile(out).namelist()[0] == "summary.md"


def test_bundle_is_deterministic(tmp_path: Path) -> None:
    report, inputs = analyze([str(REALPEER / "S05_capf_filtered.pcap")], Options())
    a = build(report, inputs)
    b = build(report, inputs)
    assert a == b


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(args)
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("name,fail_on,want", [
    ("S01_happy", "warning", exitcodes.OK),
    ("S05_capf_filtered", "warning", exitcodes.ERRORS),
    ("S08_asymmetric_capture", "warning", exitcodes.WARNINGS),
    ("S08_asymmetric_capture", "error", exitcodes.OK),
    ("S05_capf_filtered", "never", exitcodes.OK),
])
def test_exit_status_unchanged_by_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         name: str, fail_on: str, want: int) -> None:
    src = str(REALPEER / f"{name}.pcap")
    base = ["analyze", src, "--fail-on", fail_on, "-o", str(tmp_path / "r.txt")]
    assert _cli(base, capsys)[0] == want
    for extra in (["--bundle", str(tmp_path / "b.zip")],
                  ["--bundle", str(tmp_path / "r.zip"), "--redact"]):
        rc, err = _cli(base + extra + ["--force"], capsys)
        assert rc == want and err == ""
        assert zipfile.is_zipfile(extra[1])


def test_cli_refuses_existing_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.zip"
    out.write_bytes(b"old")
    rc, err = _cli(["analyze", str(REALPEER / "S05_capf_filtered.pcap"), "--bundle", str(out)],
                   capsys)
    assert rc == exitcodes.USAGE
    assert err.startswith("capfcap: ") and "exists" in err and err[-1] == "\n"
    assert err.count("\n") == 1
    assert out.read_bytes() == b"old"


def test_cli_bundle_directory_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _cli(["analyze", str(REALPEER / "S05_capf_filtered.pcap"), "--bundle",
                    str(tmp_path / "nope" / "b.zip")], capsys)
    assert rc == exitcodes.USAGE and "does not exist" in err


# -- README findings reference ------------------------------------------------------------
def test_readme_findings_reference_is_generated() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_readme

    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if gen_readme.BEGIN not in text:
        pytest.skip("README.md has no <!-- findings:begin --> marker yet")
    from capfcap.commands.explain import markdown_reference

    assert gen_readme.current(text) == markdown_reference(), "run tools/gen_readme.py"
    assert gen_readme.rewrite(text) == text


def test_gen_readme_rewrites_block(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    import gen_readme

    p = tmp_path / "R.md"
    p.write_text("intro\n<!-- findings:begin -->\nstale\n<!-- findings:end -->\nend\n")
    assert gen_readme.main([str(p), "--check"]) == 1
    assert gen_readme.main([str(p)]) == 0
    text = p.read_text()
    assert text.startswith("intro\n<!-- findings:begin -->\n| code |")
    assert text.endswith("<!-- findings:end -->\nend\n") and "stale" not in text
    assert gen_readme.main([str(p), "--check"]) == 0
    p.write_text("no markers")
    assert gen_readme.main([str(p)]) == 2


# -- the text report fits 80 columns --------------------------------------------------------
@pytest.mark.parametrize("path", sorted(REALPEER.glob("S*.pcap*")), ids=lambda p: p.name)
def test_text_report_fits_80_columns(path: Path) -> None:
    from rich.cells import cell_len

    from capfcap.reporters.text import render

    report, _ = analyze([str(path)], Options())
    buf = io.StringIO()
    render(report, buf, color=False, width=80)
    text = buf.getvalue()
    assert text.strip()
    # a display filter and the file's own name are never broken (issue 17): a copied
    # filter must stay valid; everything else fits
    too_wide = [line for line in text.splitlines() if cell_len(line) > 80
                and not line.startswith(("  Filter: ", str(path)))]
    assert too_wide == []
    assert re.search(r"^Verdict: ", text, re.M) or "No phone traffic" in text


def test_summary_tells_phones_with_one_cause_once(tmp_path: Path) -> None:
    """Six phones whose CAPF never answers: one finding section, one table row and one
    verdict line for the six (reporters/groups.py), the seventh phone (refused) on its
    own; findings.json still holds one finding per phone."""
    src = ROOT / "pcaps" / "synthetic" / "capf_outage_six.pcap"
    report, inputs = analyze([str(src)], Options())
    out = tmp_path / "six.zip"
    write_bundle(str(out), report, inputs, None)
    z = zipfile.ZipFile(out)
    md = z.read("summary.md").decode()
    silent = [f.phone["ip"] for f in report.findings if f.code == "CAPF_UNIDIRECTIONAL"]
    assert len(silent) == 6
    assert len(re.findall(r"^#### \d+\. CAPF_UNIDIRECTIONAL: 6 phones", md, re.M)) == 1
    assert len(re.findall(r"^#### \d+\. CAPF_REFUSED", md, re.M)) == 1
    assert md.count("| 6 phones: ") == 1
    assert "; 6 phones: CAPF_UNIDIRECTIONAL" in md.replace("\n", " ")
    phones_line = re.search(r"^- Phones \(6\): (.*?)\n- First frames", md, re.M | re.S)
    assert phones_line is not None and all(ip in phones_line.group(1) for ip in silent)
    findings = json.loads(z.read("findings.json"))["findings"]
    assert sorted(f["phone"]["ip"] for f in findings
                  if f["code"] == "CAPF_UNIDIRECTIONAL") == sorted(silent)


# -- many objects ---------------------------------------------------------------------------
def test_past_the_bound_trust_lists_are_kept_before_configs_and_the_rest_is_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from capfcap.correlator import objects

    monkeypatch.setattr(objects, "MAX_OBJECTS", 3)
    st = State()
    names = [f"SEP02B10000000{i}.cnf.xml" for i in range(4)] + ["ITLFile.tlv"]
    for i, n in enumerate(names):  # the trust list comes last, after four configs
        st.add(FileTransfer("tftp", "192.0.2.50", "198.51.100.9", 69, n, "complete",
                            (10 * i,), (10 * i, 10 * i + 1), 1, 2, n.encode()))
    p = PhoneState("192.0.2.50", 4, addrs={"192.0.2.50"})
    kept, omitted = carve(st, [p])
    assert [o.name for o in kept] == names[:2] + ["ITLFile.tlv"]  # frame order
    assert omitted == 2


def test_the_summary_counts_a_servers_many_configs_and_tells_what_was_not_kept() -> None:
    from capfcap.reporters.summary import OBJECTS_PER_GROUP, BundleFacts, Listed, render_summary

    many = OBJECTS_PER_GROUP + 5
    listed = [Listed("objects/itl.tlv", "ITL file ITLFile.tlv", "ITL files from 198.51.100.9")]
    listed += [Listed(f"objects/c{i}.xml", f"CONFIG file SEP{i:012X}.cnf.xml",
                      "CONFIG files from 198.51.100.9 over TFTP") for i in range(many)]
    text = render_summary(Report([], [], []), BundleFacts(objects=listed, objects_omitted=7))
    assert text.count("- `objects/c") == OBJECTS_PER_GROUP
    assert "- and 5 more CONFIG files from 198.51.100.9 over TFTP (in objects/)" in text
    assert "`objects/itl.tlv`" in text
    assert re.search(rf"{many + 1} of the\s+{many + 8} files", text)
