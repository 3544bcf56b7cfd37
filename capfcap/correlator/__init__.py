"""Correlator: per-phone state and rules over events. Never imports scapy."""

from capfcap.correlator.engine import Correlator

__all__ = ["Correlator"]
