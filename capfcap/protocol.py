"""Port numbers and TLS names of the protocols capfcap reads, each defined once here.

Ports: DOMAIN §3.1 (CAPF), §4.1 (TVS), the CUCM port table (DOMAIN, "phone -> UCM");
TFTP RFC 1350; DNS RFC 1035. TLS names: RFC 5246 §7.2, RFC 8446 §6 and §4.2.1, and the
IANA TLS registries. A CAPF or TVS verdict asks `correlator/ports.py` for a phone's own
ports; the defaults below are only its starting point.
"""

from __future__ import annotations

DNS_PORT = 53
TFTP_PORT = 69  # RFC 1350: the server's well-known port for read requests
HTTP_CONFIG_PORT = 6970  # a CUCM's TFTP files over HTTP
HTTPS_CONFIG_PORTS = (6971, 6972)  # a CUCM's TFTP files over HTTPS (secure configs)
CAPF_PORT = 3804  # DOMAIN §3.1: CAPF default (a config's capfList phonePort may differ)
TVS_PORT = 2445  # DOMAIN §4.1: TVS default (a config's TVS member port may differ)
CTL_PROVIDER_PORT = 2444  # DOMAIN: CTL client -> CTL provider
SCCP_TLS_PORT = 2443
SIP_TLS_PORT = 5061
HTTPS_PORT = 443
HTTPS_ALT_PORT = 8443  # a CUCM node's HTTPS, where a phone may present its certificate
HTTP_PORT = 80
HTTP_ALT_PORT = 8080
SCCP_PORT = 2000
SIP_PORT = 5060

# Well-known ports of this domain: a packet to one of them is from the originator
SERVICE_PORTS = frozenset({DNS_PORT, TFTP_PORT, HTTP_PORT, HTTPS_PORT, SCCP_PORT, SCCP_TLS_PORT,
                           CTL_PROVIDER_PORT, TVS_PORT, CAPF_PORT, SIP_PORT, SIP_TLS_PORT,
                           HTTP_CONFIG_PORT, *HTTPS_CONFIG_PORTS, HTTP_ALT_PORT, HTTPS_ALT_PORT})
# A SYN or SYN-ACK on one of these shows a phone (learn.py, decode.Prefilter)
PHONE_PORTS = frozenset({TVS_PORT, CAPF_PORT})

# Three uses of "the TLS ports", each its own set on purpose:
# - TLS_READ_PORTS: server ports whose TCP streams capfcap parses as TLS. 443 is not one
#   (a SPAN's admin sessions); 8443 is, but only a known phone's traffic reaches it.
# - TSHARK_TLS_PORTS: ports `--crosscheck` tells tshark to decode as TLS (`-d`), in this
#   order; 5061, 443 and 8443 tshark decodes as TLS without being told.
# - REDACT_TLS_PORTS: ports whose TLS record headers a redacted bundle keeps (the CAPF/TVS
#   ports a report names are added at run time).
TLS_READ_PORTS = frozenset({SCCP_TLS_PORT, TVS_PORT, CAPF_PORT, SIP_TLS_PORT,
                            *HTTPS_CONFIG_PORTS, HTTPS_ALT_PORT})
TSHARK_TLS_PORTS = (CAPF_PORT, TVS_PORT, SCCP_TLS_PORT, CTL_PROVIDER_PORT, *HTTPS_CONFIG_PORTS)
REDACT_TLS_PORTS = frozenset({HTTPS_PORT, SCCP_TLS_PORT, TVS_PORT, CAPF_PORT, SIP_TLS_PORT,
                              *HTTPS_CONFIG_PORTS})

# RFC 5246 §7.2, RFC 8446 §6, IANA "TLS Alerts"
TLS_ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}
# alerts by which a peer says it does not trust the certificate it was shown
TLS_TRUST_ALERTS = (42, 43, 44, 45, 46, 48)

# ProtocolVersion values (RFC 8446 §4.2.1 and earlier)
TLS_VERSIONS = {
    0x0200: "SSL 2.0",
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}
