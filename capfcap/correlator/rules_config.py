"""What the phone's config tells it about CAPF (DOMAIN §5, §3.4; FIELD §a C1-C3, C5).

`capfAuthMode` 0 means no certificate operation is pending; 1 means one is pending "By
Authentication String", and then the phone contacts CAPF only after someone enters the
string on it; 2-4 make the phone contact CAPF by itself at the `capfList/capf`
processNodeName and phonePort. These verdicts rest on the config's content, not on
silence: a short capture after the config does not weaken them.

Configs that cannot be read (`.enc.sgn`, HTTPS 6971/6972) give no verdict.
"""

from __future__ import annotations

from capfcap.correlator import facts
from capfcap.correlator.common import AUTH_MODES, Context, make, transfer_filter
from capfcap.correlator.ports import is_capf
from capfcap.correlator.rules_trust import EXPLAINED_BY_CONFIG
from capfcap.correlator.state import PhoneState
from capfcap.events import ConfigSeen
from capfcap.filenames import basename
from capfcap.findings import Finding
from capfcap.protocol import HTTPS_CONFIG_PORTS

CONFIG_CODES = EXPLAINED_BY_CONFIG
_LIST = {
    "absent": "has no capfList element",
    "no_entry": "has a capfList without any capf entry",
    "blank": "has capfList/capf entries whose processNodeName is empty",
}


def _last_frame(cs: ConfigSeen) -> int:
    return cs.transfer.frames[-1] if cs.transfer.frames else 0


def latest_config(phone: PhoneState) -> ConfigSeen | None:
    """The config the phone acts on: its last readable download, unless a later config
    (encrypted, or over HTTPS 6971/6972) could have replaced it unseen."""
    readable = [c for c in phone.configs if c.config is not None and c.config.observable]
    if not readable:
        return None
    cs = max(readable, key=_last_frame)
    after = _last_frame(cs)
    if any(c.config is not None and not c.config.observable and _last_frame(c) > after
           for c in phone.configs):
        return None
    if any(s.key.server_port in HTTPS_CONFIG_PORTS and s.key.client in phone.addrs
           and s.frames and s.frames[0] > after for s in phone.tls):
        return None
    return cs


def contacted_capf(phone: PhoneState, after: int) -> bool:
    """A TCP connection from the phone to one of its CAPF ports after frame `after`."""
    return any(is_capf(phone, c.key.server_port) and c.key.client in phone.addrs
               and c.frames and c.frames[-1] > after for c in phone.conns)


def config_findings(ctx: Context, phone: PhoneState) -> list[Finding]:
    cs = latest_config(phone)
    if cs is None:
        return []
    cfg = cs.config
    assert cfg is not None
    mode = cfg.capf_auth_mode
    if mode is None or contacted_capf(phone, _last_frame(cs)):
        return []
    t = cs.transfer
    name = basename(t.filename)
    where = f"{name} (frames {t.frames[0]}-{t.frames[-1]})" if t.frames else name
    fx = [facts.transfer(t), facts.unchecked(
        "capfAuthMode and capfList in the config file (Wireshark has no field for them)")]
    capf = ", ".join(f"{h}:{p}" for h, p in cfg.capf_servers)

    def finding(code: str, summary: str, detail: str) -> Finding:
        return make(ctx, code, phone, {}, summary, detail, t.frames, transfer_filter([t]),
                    times=(t.first_ts, t.last_ts), _facts=list(fx))

    if mode == 0:
        return [finding(
            "CAPF_NO_OPERATION",
            "The phone's config has no pending certificate operation (capfAuthMode 0): it "
            "will not contact CAPF",
            f"{where}: capfAuthMode 0 ({AUTH_MODES[0]}), CAPF {capf or '(none named)'}. "
            "With no operation pending the phone does not open a CAPF session, so no "
            "connection to CAPF is expected. Normal for a phone that already holds its "
            "LSC; if CUCM shows 'Operation Pending', the operation was not saved and "
            "applied to this device's config.")]
    if mode not in AUTH_MODES:
        return []
    if not cfg.capf_servers:
        how = _LIST.get(cfg.capf_list, "names no CAPF server")
        return [finding(
            "CONFIG_NO_CAPF_SERVER",
            f"A CAPF operation is pending ({AUTH_MODES[mode]}) but the config names no CAPF "
            f"server",
            f"{where}: capfAuthMode {mode} ({AUTH_MODES[mode]}), but the config {how}, so "
            "the phone has no CAPF address to contact; no CAPF connection follows in the "
            "capture.")]
    if mode == 1:
        return [finding(
            "CAPF_AWAITING_AUTH_STRING",
            "A CAPF operation waits for its authentication string to be entered on the "
            "phone",
            f"{where}: capfAuthMode 1 ({AUTH_MODES[1]}), CAPF {capf}. In this mode the "
            "phone contacts CAPF only after someone enters the string on it; the capture "
            "holds no connection to CAPF after the config, so the string has not been "
            "entered (yet).")]
    return []
