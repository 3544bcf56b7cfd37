"""The correlator: events in, Report out. Never imports scapy; testable with event lists."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

from capfcap import phonesel
from capfcap.correlator import (
    objects,
    rules_capf,
    rules_capture,
    rules_clientcert,
    rules_config,
    rules_conn,
    rules_distrust,
    rules_dns,
    rules_itl,
    rules_tls,
    rules_trust,
)
from capfcap.correlator.common import Context, FrameTimes
from capfcap.correlator.ports import GivenPorts
from capfcap.correlator.state import PhoneState, State, is_ip
from capfcap.correlator.timeline import flows, timeline, verdict
from capfcap.correlator.volume import Volume
from capfcap.correlator.wire import wire_steps
from capfcap.events import ORDER_MIN_FRAMES, ORDER_NOTE, ORDER_SLACK_NS, Event
from capfcap.findings import Finding
from capfcap.report import CaptureInfo, PhoneReport, Report

_CN = re.compile(r"(?:^|[,;/]\s*)CN\s*=\s*\"?([^,;/\"]+)", re.I)


def _cn(name: str) -> str:
    m = _CN.search(name)
    return m.group(1).strip() if m else ""


class Correlator:
    def __init__(self, cucm: Iterable[str] = (), phones: Iterable[str] = (),
                 capf_ports: Iterable[int] = (), tvs_ports: Iterable[int] = (),
                 ladder: bool = True, carve: bool = True) -> None:
        self.state = State(given=GivenPorts(frozenset(capf_ports), frozenset(tvs_ports)))
        self.cucm_given = [c.strip().lower().rstrip(".") for c in cucm if c.strip()]
        self.phone_given = [p.strip() for p in phones if p.strip()]
        self.frame_ts = FrameTimes()  # relevant frames' times (findings' time spans)
        self.phone_filter = {phonesel.key(p) for p in self.phone_given}
        self.volume = Volume()  # port sweeps and SYN floods (correlator/volume.py)
        self.ladder = ladder  # build PhoneReport.wire (the HTML ladder's finer steps)
        self.carve = carve  # fill Report.objects (the ticket bundle's objects/)

    def add(self, ev: Event) -> None:
        self.state.add(ev)
        self.volume.add(ev, self.state.spot_ports)

    def add_all(self, evs: Iterable[Event]) -> None:
        for ev in evs:
            self.state.add(ev)
            self.volume.add(ev, self.state.spot_ports)

    # -- names --------------------------------------------------------------------------
    def _cucm_names(self, phones: dict[str, PhoneState]) -> tuple[dict[str, str], set[str]]:
        names: dict[str, str] = {}
        ips: set[str] = set()
        for c in self.cucm_given:
            if is_ip(c):
                ips.add(c)
            else:
                names.setdefault(c, "given with --cucm")
        for cs in self.state.configs:
            cfg = cs.config
            if cfg is None:
                continue
            src = f"named in {cs.transfer.filename} (frame {cs.transfer.request_frames[0]})" \
                if cs.transfer.request_frames else f"named in {cs.transfer.filename}"
            for host, _port in cfg.capf_servers:
                self._add_name(names, ips, host, "CAPF processNodeName " + src)
            for host, _port in cfg.tvs_servers:
                self._add_name(names, ips, host, "TVS member " + src)
            for host in cfg.callmanagers:
                self._add_name(names, ips, host, "CallManager " + src)
        for tls in self.state.trust_lists:
            tl = tls.trust_list
            if tl is None:
                continue
            for r in tl.records:
                where = f"record {r.index} ({r.role_name}) of {tls.transfer.filename}"
                if r.dns_name:
                    self._add_name(names, ips, r.dns_name, "DNSNAME of " + where)
                cn = _cn(r.subject)
                if cn and "." in cn and not cn.upper().startswith(("CAPF-", "ITLRECOVERY")):
                    self._add_name(names, ips, cn, "subject CN of " + where)
                if r.ip_address:
                    ips.add(r.ip_address)
        servers = self.state.server_ips() | ips
        for qname, addrs in self.state.answers.items():
            hit = sorted(a for a in addrs if a in servers)
            if hit:
                names.setdefault(qname, f"resolves to {hit[0]}, seen serving phones")
        return names, ips

    @staticmethod
    def _add_name(names: dict[str, str], ips: set[str], host: str, why: str) -> None:
        h = host.strip().lower().rstrip(".")
        if not h:
            return
        if is_ip(h):
            ips.add(h)
        else:
            names.setdefault(h, why)

    def _selected(self, p: PhoneState) -> bool:
        if not self.phone_filter:
            return True
        return bool(phonesel.phone_keys(p.addrs, p.mac, p.device) & self.phone_filter)

    def _unmatched(self, every: dict[str, PhoneState]) -> tuple[list[str], list[str]]:
        """`--phone` values matching no phone, and every phone seen (IP, name, MAC) when
        one does not match (the usage error names them)."""
        if not self.phone_given:
            return [], []
        seen = [phonesel.phone_keys(p.addrs, p.mac, p.device) for p in every.values()]
        shown = [" ".join(x for x in (ip, p.device, p.mac) if x)
                 for ip, p in sorted(every.items())]
        unmatched = phonesel.unmatched(self.phone_given, seen)
        return unmatched, shown if unmatched else []

    # -- evaluation -----------------------------------------------------------------------
    def _context(self, phones: dict[str, PhoneState], end_ts: int | None) -> Context:
        """What every rule reads besides the phone: CUCM names, server names, which hosts
        were heard from, the capture's end, each phone's one-sidedness."""
        st = self.state
        names, ips = self._cucm_names(phones)
        to, spoke = rules_capture.heard_and_spoke(st)
        server_names: dict[str, str] = {}
        for qname, addrs in st.answers.items():
            for a in sorted(addrs):
                server_names.setdefault(a, qname)
        ctx = Context(
            state=st,
            cucm_names=names,
            cucm_ips=ips,
            server_names=server_names,
            reverse_seen={ip: not to.isdisjoint(p.addrs) for ip, p in phones.items()},
            heard_from=spoke,
            end_ts=end_ts,
            frame_ts=self.frame_ts,
            out_of_order=_out_of_order(st, phones, self.frame_ts),
        )
        for p in phones.values():
            rules_capture.judge_phone(ctx, p, spoke)
        return ctx

    def report(self, files: list[CaptureInfo] | None = None,
               end_ts: int | None = None, final: bool = False) -> Report:
        """Evaluate every rule on what has been seen so far (safe to call repeatedly,
        unless `final`).

        `end_ts`: the time of the capture's last frame, which the verdicts of silence
        measure the protocols' patience against (DESIGN §4 "What silence proves").
        `final`: nothing is added or reported after this: the state lets go of its event
        lists once the findings are made, so each phone's events go with its state as its
        report is built (a capture of many phones never holds every event and every
        report at once)."""
        st = self.state
        every = st.phones()
        hostile = self.volume.judge(end_ts)
        if hostile.sources:
            every = {ip: p for ip, p in every.items() if ip not in hostile.sources}
        phones = {ip: p for ip, p in every.items() if self._selected(p)} \
            if self.phone_filter else every
        unmatched, seen = self._unmatched(every)
        del every  # each phone's state is dropped once its report is built (below)
        ctx = self._context(phones, end_ts)
        findings = _findings(ctx, phones)
        by_phone: dict[object, list[Finding]] = {}
        for f in findings:
            by_phone.setdefault(f.phone.get("ip"), []).append(f)
        carved, omitted = objects.carve(st, phones.values()) if self.carve else ([], 0)
        if final:
            st.drop_events()
        reports = _phone_reports(ctx, phones, by_phone, self.ladder)
        notes = [n.message for n in st.notes if n.kind != "duplicates"] + hostile.notes
        return Report(
            files=files or [],
            notes=notes,
            phones=reports,
            findings=findings,
            withheld=_by_phone_and_code(ctx.withheld),
            objects=carved,
            objects_omitted=omitted,
            unmatched_phones=unmatched,
            phones_seen=seen,
            narrowed=bool(self.phone_given),
        )


def _out_of_order(st: State, phones: dict[str, PhoneState], times: FrameTimes
                  ) -> dict[str, str]:
    """Phone -> why its frames' order proves nothing: when the pipeline noted the capture
    out of time order, each phone with ORDER_MIN_FRAMES of its own frames (any of its
    events') older than one of its frames before them by more than ORDER_SLACK_NS. Another
    phone's conversations in order keep their verdicts."""
    if not any(n.kind == ORDER_NOTE for n in st.notes):
        return {}
    out: dict[str, str] = {}
    for ip, p in phones.items():
        frames = sorted({f for evs in (p.conns, p.transfers, p.dns, p.udp)
                         for ev in evs for f in ev.frames} | {i.frame for i in p.icmp})
        newest: int | None = None
        late: list[int] = []
        for f in frames:
            ts = times.get(f)
            if ts is None:
                continue
            if newest is None or ts > newest:
                newest = ts
            elif newest - ts > ORDER_SLACK_NS:
                late.append(f)
        if len(late) >= ORDER_MIN_FRAMES:
            out[ip] = (
                f"the capture is out of time order ({len(late)} of this phone's frames go "
                f"back in time, first: frame {late[0]}), so answers and ACKs may be read "
                "before what they answer: rewrite it in time order with `reordercap "
                "in.pcapng out.pcapng` and analyse that")
    return out


def _findings(ctx: Context, phones: dict[str, PhoneState]) -> list[Finding]:
    """Every rule on every phone, in the order later rules depend on (a TVS vouching for
    CAPF, CAPF_NOT_ATTEMPTED after the errors that explain it), then the capture-level
    rules; sorted."""
    findings: list[Finding] = []
    for ip in sorted(phones):
        p = phones[ip]
        mine = [rules_distrust.vouch(f, p, f.evidence.frames[-1])
                if f.code == "ITL_NO_CAPF" and f.evidence.frames else f
                for f in rules_trust.trust_findings(ctx, p)]
        mine += rules_config.config_findings(ctx, p)
        mine += rules_dns.dns_findings(ctx, p)
        mine += rules_conn.conn_findings(ctx, p)
        mine += rules_tls.tls_findings(ctx, p)
        mine += rules_capf.outcome_findings(ctx, p)
        mine += rules_clientcert.client_cert_findings(ctx, p)
        mine += rules_distrust.distrust_findings(ctx, p, mine)
        findings += mine + rules_trust.not_attempted(ctx, p, mine)
    findings += rules_itl.mismatch_findings(ctx, phones)
    for ip in sorted(phones):
        findings += rules_capture.one_sided_findings(ctx, phones[ip])
    findings += rules_capture.gaps_findings(ctx, phones)
    findings += rules_capture.note_findings(ctx, phones)
    findings.sort(key=Finding.sort_key)
    return findings


def _phone_reports(ctx: Context, phones: dict[str, PhoneState],
                   by_phone: dict[object, list[Finding]], ladder: bool) -> list[PhoneReport]:
    """Each phone's timeline, verdict and flows, in order of first appearance. `phones` is
    emptied on the way: a phone's events go once its report holds what is shown of them,
    so a capture of many phones never holds every state and every report at once."""
    reports = []
    for ip in sorted(phones, key=lambda i: phones[i].first_frame):
        p = phones.pop(ip)
        mine = by_phone.get(ip, [])
        steps = timeline(ctx, p, mine)
        reports.append(PhoneReport(  # lists of their own size (appending over-allocates)
            ip=ip, mac=p.mac, device=p.device, timeline=steps[:],
            verdict=sys.intern(verdict(ctx, p, mine, steps)), flows=flows(p)[:],
            wire=wire_steps(ctx, p) if ladder else [],
        ))
    return reports


def _by_phone_and_code(withheld: list[dict[str, object]]) -> list[dict[str, object]]:
    """Sorted by (phone, code): by code, then stably by phone (no key tuple per entry)."""
    out = sorted(withheld, key=lambda w: str(w.get("code")))
    out.sort(key=lambda w: str(w.get("phone")))
    return out
