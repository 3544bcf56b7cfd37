"""capfcap: packet-capture diagnosis of Cisco phone LSC enrolment (CAPF on TCP 3804)."""

__version__ = "0.1.0"
