"""Cisco ITL/CTL (`.tlv`) and signed-file header tag numbers and names, record tag
numbers, and the role codes of a trust-list record (DOMAIN.md §1.4-§1.6)."""

from __future__ import annotations

# DOMAIN.md §1.4 (tlvfile numbering; 16-27 from the encrypted-config header).
HEADER_TAGS: dict[int, str] = {
    1: "VERSION",
    2: "HEADER_LENGTH",
    3: "SIGNER_INFO",
    4: "SIGNER_NAME",
    5: "SERIAL_NUMBER",
    6: "ISSUER_NAME",
    7: "SIGNATURE_INFO",
    8: "HASH_ALGORITHM",
    9: "SIGNATURE_ALGORITHM_INFO",
    10: "SIGNATURE_ALGORITHM",
    11: "SIGNATURE_MODULUS",
    12: "SIGNATURE",
    13: "PADDING",
    14: "FILENAME",
    15: "TIMESTAMP",
    16: "ENCRYPTION_INFO",
    17: "ENCRYPTION_IV_INFO",
    18: "ENCRYPTION_18",
    19: "ENCRYPTION_IV",
    20: "ENCRYPTION_PADDING",
    21: "ENCRYPTION_KEY_INFO",
    22: "ENCRYPTION_22",
    23: "ENCRYPTION_KEY_SIZE",
    24: "ENCRYPTION_KEY_ALGORITHM",
    25: "ENCRYPTION_KEY",
    26: "ENCRYPTION_HASH_ALGORITHM",
    27: "ENCRYPTION_HASH",
    28: "SIGNER_VERSION",
}

# DOMAIN.md §1.5.
RECORD_TAGS: dict[int, str] = {
    1: "RECORD_LENGTH",
    2: "DNS_NAME",
    3: "SUBJECT_NAME",
    4: "ROLE",
    5: "ISSUER_NAME",
    6: "SERIAL_NUMBER",
    7: "PUBLIC_KEY",
    8: "SIGNATURE",
    9: "CERTIFICATE",
    10: "IP_ADDRESS",
    11: "CERTIFICATE_HASH",
    12: "HASH_ALGORITHM",
}

# DOMAIN.md §1.6 (tag 4 value, u16).
ROLE_NAMES: dict[int, str] = {
    0: "SAST",
    1: "CCM",
    2: "CCM+TFTP",
    3: "TFTP",
    4: "CAPF",
    7: "APP-SERVER",
    21: "TVS",
}

# Header tag numbers used by callers.
TAG_VERSION = 1
TAG_HEADER_LENGTH = 2
TAG_SIGNER_INFO = 3
TAG_SIGNER_NAME = 4
TAG_SERIAL_NUMBER = 5
TAG_ISSUER_NAME = 6
TAG_SIGNATURE_INFO = 7
TAG_HASH_ALGORITHM = 8
TAG_SIGNATURE_ALGORITHM_INFO = 9
TAG_SIGNATURE_ALGORITHM = 10
TAG_SIGNATURE_MODULUS = 11
TAG_SIGNATURE = 12
TAG_PADDING = 13
TAG_FILENAME = 14
TAG_TIMESTAMP = 15
TAG_SIGNER_VERSION = 28
CONTAINER_TAGS = frozenset({TAG_SIGNER_INFO, TAG_SIGNATURE_INFO, TAG_SIGNATURE_ALGORITHM_INFO})

# Record tag numbers.
REC_LENGTH = 1
REC_DNS_NAME = 2
REC_SUBJECT_NAME = 3
REC_ROLE = 4
REC_ISSUER_NAME = 5
REC_SERIAL_NUMBER = 6
REC_PUBLIC_KEY = 7
REC_SIGNATURE = 8
REC_CERTIFICATE = 9
REC_IP_ADDRESS = 10
REC_CERTIFICATE_HASH = 11
REC_HASH_ALGORITHM = 12


def role_name(code: int) -> str:
    """Name of a function/role code; unnamed codes keep their number."""
    return ROLE_NAMES.get(code, str(code))
