"""Real server and phone programs for the live-capture tests, run inside network
namespaces with `ip netns exec NS python3 netns_peers.py ROLE ...`.

server: a TFTP server (RFC 1350: RRQ, 512-byte DATA blocks from a fresh ephemeral port,
ACK, ERROR 1 for unknown files) and a TLS server on TCP 3804 (Python ssl).
phone: TFTP read requests, a DNS query built by hand (RFC 1035 §4.1), a connection to a
filtered 3804 and a TLS session to the real one.
Every loop is bounded by a deadline or a retry count.
"""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

BLOCK = 512
RETRIES = 5


# -- server -----------------------------------------------------------------------------------
def _serve_transfer(addr: str, client: tuple[str, int], data: bytes | None) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    s.settimeout(1.0)
    try:
        if data is None:
            s.sendto(b"\x00\x05\x00\x01File not found\x00", client)
            return
        nblocks = len(data) // BLOCK + 1  # a last block shorter than 512 ends the transfer
        for n in range(1, nblocks + 1):
            pkt = struct.pack("!HH", 3, n & 0xFFFF) + data[(n - 1) * BLOCK : n * BLOCK]
            for _ in range(RETRIES):
                s.sendto(pkt, client)
                try:
                    ack, _a = s.recvfrom(516)
                except TimeoutError:
                    continue
                if ack[:2] == b"\x00\x04" and struct.unpack("!H", ack[2:4])[0] == n & 0xFFFF:
                    break
            else:
                return
    finally:
        s.close()


def server(addr: str, files_dir: str, cert: str, key: str, dns: str, lifetime: float) -> None:
    files: dict[str, bytes] = {}
    for n in os.listdir(files_dir):
        with open(os.path.join(files_dir, n), "rb") as f:
            files[n] = f.read()
    tftp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tftp.bind((addr, 69))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the certificate is visible on the wire
    tls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tls.bind((addr, 3804))
    tls.listen(4)
    # dnsmasq is up once it answers a local query (this stays inside the namespace)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.settimeout(0.2)
    for _ in range(100):
        probe.sendto(dns_query("probe.cucm.example", 1), (dns, 53))
        try:
            probe.recvfrom(512)
            break
        except TimeoutError:
            continue
    else:
        print("dnsmasq did not answer", flush=True)
        return
    print("ready", flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        r, _w, _x = select.select([tftp, tls], [], [], 0.2)
        if tftp in r:
            pkt, client = tftp.recvfrom(1024)
            if pkt[:2] == b"\x00\x01":
                name = pkt[2:].split(b"\0", 1)[0].decode("ascii", "replace")
                threading.Thread(target=_serve_transfer, daemon=True,
                                 args=(addr, client, files.get(name))).start()
        if tls in r:
            conn, _a = tls.accept()
            threading.Thread(target=_tls_session, args=(ctx, conn), daemon=True).start()


def _tls_session(ctx: ssl.SSLContext, conn: socket.socket) -> None:
    conn.settimeout(5)
    try:
        with ctx.wrap_socket(conn, server_side=True) as t:
            t.sendall(b"capf-hello")  # the CAPF server speaks first (DOMAIN §3)
            t.recv(64)
    except (OSError, ssl.SSLError):
        pass


# -- phone ------------------------------------------------------------------------------------
def dns_query(name: str, qtype: int, qid: int = 0x1234) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def tftp_get(server_ip: str, name: str) -> str:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(b"\x00\x01" + name.encode() + b"\x00octet\x00", (server_ip, 69))
    got = b""
    expect = 1
    for _ in range(4096):  # bounded: at most 2 MB
        try:
            pkt, peer = s.recvfrom(1024)
        except TimeoutError:
            return "timeout"
        op = struct.unpack("!H", pkt[:2])[0]
        if op == 5:
            return "error"
        if op != 3:
            continue
        n = struct.unpack("!H", pkt[2:4])[0]
        if n == expect:
            got += pkt[4:]
            expect += 1
        s.sendto(struct.pack("!HH", 4, n), peer)
        if n == expect - 1 and len(pkt) - 4 < BLOCK:
            return f"{len(got)} bytes"
    return "too long"


def phone(tftp_ip: str, dns_ip: str, filtered_ip: str, capf_ip: str) -> None:
    out: dict[str, object] = {}
    for name in ("ITLSEP0023AB12CD34.tlv", "ITLFile.tlv", "SEP0023AB12CD34.cnf.xml"):
        out[name] = tftp_get(tftp_ip, name)
    d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    d.settimeout(3)
    d.sendto(dns_query("pub.cucm.example", 1, 0x4321), (dns_ip, 53))
    try:
        ans, _a = d.recvfrom(512)
        out["dns_rcode"] = ans[3] & 0x0F
    except TimeoutError:
        out["dns_rcode"] = None
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(4)  # tcp_syn_retries=2 in this namespace: SYNs at 0, 1 and 3 s
    try:
        c.connect((filtered_ip, 3804))
        out["filtered"] = "connected"
    except TimeoutError:
        out["filtered"] = "timeout"
    except OSError as e:
        out["filtered"] = f"error {e.errno}"
    c.close()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((capf_ip, 3804), timeout=5) as raw, \
                ctx.wrap_socket(raw) as t:
            out["tls_version"] = t.version()
            out["tls_data"] = t.recv(64).decode()
            t.sendall(b"bye")
    except (OSError, ssl.SSLError) as e:
        out["tls_error"] = str(e)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6],
               float(sys.argv[7]))
    else:
        phone(*sys.argv[2:6])
