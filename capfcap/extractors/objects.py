"""Downloaded files become trust lists and configs (DOMAIN §1, §5)."""

from __future__ import annotations

from capfcap.correlator.state import phone_file
from capfcap.events import ConfigSeen, Event, FileTransfer, TrustListSeen


class ObjectStage:
    """Parses every complete trust-list and config download once."""

    def convert(self, evs: list[Event]) -> list[Event]:
        out: list[Event] = []
        for ev in evs:
            if not isinstance(ev, FileTransfer) or ev.status != "complete" or ev.data is None:
                continue
            pf = phone_file(ev.filename)
            if pf is None:
                continue
            if pf[0] == "CONFIG":
                out.append(self._config(ev))
            else:
                out.append(self._trust(ev))
        return out

    @staticmethod
    def _trust(t: FileTransfer) -> TrustListSeen:
        from capfcap.trust.itl import TrustListError, parse_trust_list

        assert t.data is not None
        try:
            return TrustListSeen(t, parse_trust_list(t.data, t.filename))
        except TrustListError as e:
            return TrustListSeen(t, None, str(e), e.offset)

    @staticmethod
    def _config(t: FileTransfer) -> ConfigSeen:
        from capfcap.trust.config import ConfigError, parse_config

        assert t.data is not None
        try:
            return ConfigSeen(t, parse_config(t.filename, t.data))
        except ConfigError as e:
            return ConfigSeen(t, None, str(e))
