"""Command line (DESIGN §3). Errors are one line on stderr and a documented exit status."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from capfcap import __version__, exitcodes
from capfcap.errors import InputError, UsageError


def _jobs(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {v!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per CPU) or more")
    return n  # without --each at most 2 are used: reading and analysis


def _epilog() -> str:
    return "exit status:\n" + "\n".join(f"  {n}  {what}" for n, what in exitcodes.MEANINGS)


def _parser() -> argparse.ArgumentParser:
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own (for its usage line in errors)."""
    p = argparse.ArgumentParser(
        prog="capfcap",
        description="Diagnose Cisco phone LSC enrolment (CAPF, ITL, TFTP, DNS) from captures.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"capfcap {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = _analyze_parser(sub)
    lv = _live_parser(sub)
    it = _itl_parser(sub)
    ex = _explain_parser(sub)
    return p, {"analyze": a, "live": lv, "itl": it, "explain": ex}


def _output_opts(sp: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """The options `analyze` and `live` share: output, filters, decryption, exit status."""
    sp.add_argument("--format", choices=list(formats), default="text",
                    help="report format (default: text)")
    sp.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    sp.add_argument("--bundle", metavar="OUT.zip", help="write a ticket bundle")
    sp.add_argument("--cucm", action="append", default=[], metavar="NAME",
                    help="a CUCM node name or IP (DNS failures for it are findings)")
    sp.add_argument("--phone", action="append", default=[], metavar="IP|MAC",
                    help="report only these phones")
    sp.add_argument("--keylog", metavar="FILE", help="NSS key log to decrypt CAPF TLS")
    sp.add_argument("--show-secrets", action="store_true",
                    help="show CAPF authentication strings (masked by default)")
    sp.add_argument("--crosscheck", action="store_true",
                    help="confirm every finding with Wireshark's dissectors (tshark)")
    sp.add_argument("--fail-on", choices=["error", "warning", "never"], default="warning",
                    help="exit status threshold (default: warning)")
    sp.add_argument("--redact", action="store_true",
                    help="bundle: drop unneeded payloads, pseudonymise MACs and names")
    sp.add_argument("--force", action="store_true", help="overwrite existing output files")
    sp.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                    help="colour the text report: auto (default) colours a terminal "
                         "unless NO_COLOR is set")
    # checked by ports() so that a bad value is a one-line usage error
    sp.add_argument("--capf-port", action="append", default=[], metavar="N",
                    help="a TCP port CAPF listens on, for captures without the phone's "
                         "config (repeatable; the config's capfList phonePort is used "
                         "when captured; default 3804)")
    sp.add_argument("--tvs-port", action="append", default=[], metavar="N",
                    help="a TCP port TVS listens on, for captures without the phone's "
                         "config (repeatable; the config's TVS member port is used when "
                         "captured; default 2445)")


def _analyze_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]
        ) -> argparse.ArgumentParser:
    """`capfcap analyze`: its captures and options."""
    a = sub.add_parser("analyze", help="analyse capture files", epilog=_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("captures", nargs="+", metavar="CAPTURE",
                   help="pcap, pcapng, .gz, a directory of captures, or - for a pcap or "
                        "pcapng stream on standard input (tcpdump -w -)")
    _output_opts(a, ["text", "json", "markdown", "html", "jsonl"])
    a.add_argument("--no-fast-path", dest="fast", action="store_false",
                   help="decode every frame (slow; for verification)")
    a.add_argument("--jobs", type=_jobs, metavar="N",
                   help="processes: 1 reads and analyses in one; 2 reads in a second "
                        "process (default: 2 for captures over 32 MB when 2 CPUs are free); "
                        "with --each, captures analysed at once (default 1; 0: one per CPU)")
    a.add_argument("--each", action="store_true",
                   help="analyse each capture (a directory: each capture in it) on its own, "
                        "then a fleet summary: phones per verdict and cause, worst first")
    return a


def _live_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]
        ) -> argparse.ArgumentParser:
    """`capfcap live`: the interface and when to stop."""
    lv = sub.add_parser("live", help="sniff an interface (SPAN port)", epilog=_epilog(),
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    lv.add_argument("-i", "--interface", required=True, metavar="IFACE",
                    help="the interface to capture on (e.g. the one a SPAN port feeds)")
    lv.add_argument("--bpf", metavar="EXPR", help="extra capture filter, ANDed with capfcap's")
    lv.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    lv.add_argument("--count", type=int, metavar="N", help="stop after N frames")
    lv.add_argument("--ring", metavar="DIR", help="keep relevant frames in rotating pcapng files")
    _output_opts(lv, ["text", "json", "markdown", "jsonl"])
    return lv


def _itl_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]
        ) -> argparse.ArgumentParser:
    """`capfcap itl`: a trust list file or a capture."""
    it = sub.add_parser("itl", help="dump and verify a trust list (.tlv) or those in a capture",
                        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    it.add_argument("file", metavar="FILE.tlv|CAPTURE",
                    help="an ITL/CTL file (ITLFile.tlv, CTLFile.tlv, ITLSEP<MAC>.tlv) or a "
                         "capture holding its TFTP/HTTP download")
    it.add_argument("--format", choices=["text", "json"], default="text",
                    help="output format (default: text)")
    it.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE")
    it.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return it


def _explain_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]
        ) -> argparse.ArgumentParser:
    """`capfcap explain`: codes or message texts."""
    ex = sub.add_parser("explain", help="what a finding code, or a message the phone or CUCM "
                                        "shows, means and how to fix it")
    ex.add_argument("what", nargs="*", metavar="CODE|TEXT",
                    help="a finding code (omit to list all), 'inconclusive', or the text of a "
                         "phone or CUCM message, quoted (e.g. \"LSC: Connection Failed\")")
    return ex


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = _parsers()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # the command's own usage, not the top-level one (as git and pip do)
            commands.get(args.command or "", parser).error(
                "unrecognized arguments: " + " ".join(extra))
    except SystemExit as e:  # argparse already printed its message
        return exitcodes.USAGE if e.code not in (0, None) else exitcodes.OK
    if not args.command:
        parser.print_help(sys.stderr)
        return exitcodes.USAGE
    try:
        if args.command == "analyze":
            from capfcap.commands.analyze import run

            return run(args)
        if args.command == "live":
            from capfcap.commands.live import run as run_live

            return run_live(args)
        if args.command == "itl":
            from capfcap.commands.itl import run as run_itl

            return run_itl(args)
        if args.command == "explain":
            from capfcap.commands.explain import run as run_explain

            return run_explain(args)
    except UsageError as e:
        _err(str(e))
        return exitcodes.USAGE
    except InputError as e:
        _err(str(e))
        return exitcodes.BAD_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return exitcodes.OK
    except Exception as e:  # a bug: one line, exit 1; CAPFCAP_DEBUG=1 shows the traceback
        if os.environ.get("CAPFCAP_DEBUG"):
            raise
        _err(f"internal error: {type(e).__name__}: {e} (set CAPFCAP_DEBUG=1 for details)")
        return exitcodes.INTERNAL
    return exitcodes.USAGE


def _err(msg: str) -> None:
    print(f"capfcap: {msg}", file=sys.stderr)
