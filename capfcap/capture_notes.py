"""Warnings about a capture file that was read but could not be fully analysed.

Two cases are told to the user once per file (a line in the report's notes and a
`capfcap: warning:` line on stderr), never silently dropped:
- frames under a link type the decoder does not read (https://www.tcpdump.org/linktypes.html);
- frames cut by the capture's snap length (caplen < original length).
"""

from __future__ import annotations

from capfcap.headers import SUPPORTED_LINKTYPES
from capfcap.sources.files import FileInfo
from capfcap.sources.frame import LINKTYPE_NAMES

# Names of common link types capfcap does not decode (for the message only).
OTHER_LINKTYPE_NAMES = {
    6: "IEEE 802.5 Token Ring",
    9: "PPP",
    50: "PPP in HDLC framing",
    104: "Cisco HDLC",
    105: "IEEE 802.11",
    119: "802.11 Prism header",
    127: "802.11 radiotap",
    143: "DOCSIS",
    163: "802.11 AVS header",
    187: "Bluetooth HCI H4",
    192: "PPI",
    195: "IEEE 802.15.4",
    220: "USB Linux mmapped",
    249: "Netlink",
    252: "Wireshark upper PDU",
}


def linktype_name(lt: int) -> str:
    if 147 <= lt <= 162:
        return f"USER{lt - 147}, private use"
    return LINKTYPE_NAMES.get(lt) or OTHER_LINKTYPE_NAMES.get(lt, "unknown")


def file_warnings(files: list[FileInfo]) -> list[str]:
    """One line per problem, each naming the file (without the "capfcap: " prefix)."""
    out: list[str] = []
    for f in files:
        for lt, n in sorted(f.linktype_frames.items()):
            if n and lt not in SUPPORTED_LINKTYPES:
                out.append(f"{f.path}: link type {lt} ({linktype_name(lt)}) is not "
                           f"supported; its {n} frame{'s were' if n != 1 else ' was'} skipped")
        if f.cut:
            out.append(f"{f.path}: {f.cut} frame{'s' if f.cut != 1 else ''} cut short by the "
                       f"capture's snap length (first: frame {f.first_cut}); bytes beyond "
                       f"the captured length could not be analysed")
    return out


def nothing_decodable(files: list[FileInfo]) -> bool:
    """Frames were read, but every one of them is under an unsupported link type."""
    total = sum(f.packets for f in files)
    supported = sum(n for f in files for lt, n in f.linktype_frames.items()
                    if lt in SUPPORTED_LINKTYPES)
    return total > 0 and supported == 0
