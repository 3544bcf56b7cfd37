"""TFTP on the wire (RFC 1350 §5; options RFC 2347/2348/2349): the packets' fields and the
16-bit block numbers unwrapped to absolute indexes. Parsing only.

  RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | [opt | 0 | value | 0]* (RFC 2347)
  DATA     | 03 | block u16 | 0..blksize bytes   (a block shorter than blksize ends the file)
  ACK      | 04 | block u16 |
  ERROR    | 05 | code u16 | message | 0
  OACK     | 06 | [opt | 0 | value | 0]*           (RFC 2347; acknowledged with ACK 0)
"""

from __future__ import annotations

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6
DEFAULT_BLKSIZE = 512  # RFC 1350
MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464  # RFC 2348
MAX_FIELDS = 64  # NUL-terminated strings read from a request or OACK
MAX_STRING = 512  # characters kept of a filename, option or message
_U16 = 1 << 16


class TftpParseError(ValueError):
    """A TFTP packet does not follow RFC 1350 framing."""


def _strings(payload: bytes, start: int) -> list[str]:
    """NUL-terminated strings from `start`; a trailing unterminated field is kept too."""
    parts = payload[start:].split(b"\x00", MAX_FIELDS)[:MAX_FIELDS]
    if parts and parts[-1] == b"":
        parts.pop()
    return [p[:MAX_STRING].decode("latin-1") for p in parts]


def parse_request(payload: bytes) -> tuple[int, str, str, tuple[tuple[str, str], ...]]:
    """RRQ/WRQ -> (opcode, filename, mode, options). Option names are lower-cased."""
    if len(payload) < 4:
        raise TftpParseError("request shorter than 4 bytes")
    op = (payload[0] << 8) | payload[1]
    if op not in (OP_RRQ, OP_WRQ):
        raise TftpParseError(f"opcode {op} is not a request")
    fields = _strings(payload, 2)
    if len(fields) < 2 or not fields[0]:
        raise TftpParseError("request without filename and mode")
    opts = tuple((fields[i].lower(), fields[i + 1]) for i in range(2, len(fields) - 1, 2))
    return op, fields[0], fields[1].lower(), opts


def parse_oack(payload: bytes) -> tuple[tuple[str, str], ...]:
    fields = _strings(payload, 2)
    return tuple((fields[i].lower(), fields[i + 1]) for i in range(0, len(fields) - 1, 2))


def parse_error(payload: bytes) -> tuple[int, str]:
    if len(payload) < 4:
        raise TftpParseError("ERROR shorter than 4 bytes")
    code = (payload[2] << 8) | payload[3]
    msg = payload[4:].split(b"\x00", 1)[0][:MAX_STRING]
    return code, msg.decode("utf-8", "replace")


class BlockCounter:
    """Maps 16-bit block numbers to absolute block indexes (1-based) across wraps.

    After block 65535 a server continues with 0 (tftpd-hpa, most servers) or with 1; the
    first block seen after the wrap decides which. A block number maps to the absolute index
    nearest the next expected one, so late duplicates from before a wrap stay in their epoch.
    """

    def __init__(self) -> None:
        self.high = 0  # highest absolute index seen
        self.period: int | None = None  # 65536 (wrap to 0) or 65535 (wrap to 1)
        self.wrapped = False

    def absolute(self, block: int) -> int:
        ref = self.high + 1
        if self.period is None:
            if self.high >= _U16 - 1024 and block < 1024:
                # first block after the wrap: 0 means wrap-to-0, anything else wrap-to-1
                self.period = _U16 if block == 0 else _U16 - 1
            else:
                absn = block
                if absn > self.high:
                    self.high = absn
                return absn
        period = self.period
        if period == _U16 - 1 and block == 0:
            block = period  # 0 cannot occur after a wrap-to-1; treat as its alias
        k = max(0, round((ref - block) / period))
        absn = block + k * period
        if absn > self.high:
            self.high = absn
            if absn >= _U16:
                self.wrapped = True
        return absn
