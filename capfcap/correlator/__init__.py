"""Correlator: per-phone state and rules over events. Never imports scapy.

The entry point is `capfcap.correlator.engine.Correlator`; the package itself imports
nothing, so a rule module can be loaded on its own.
"""
