"""Whether a file server answered a download: the two judgements the rules make.

`answered` is proof that the server answered, from its packets or from the client's
acknowledgements of data the capture lacks (DESIGN §4 rule 3: an ACK proves the data).
`answer_captured` is narrower: some answer of the server is in the file itself.
`ended_unanswered` is what a silence would have to prove: no answer, or no more of one.
"""

from __future__ import annotations

from capfcap.events import FileTransfer


def answered(t: FileTransfer) -> bool:
    """The server answered the request (whether or not its packets were captured)."""
    return t.status != "no_response"


def answer_captured(t: FileTransfer) -> bool:
    """Some packet of the server's answer is in the capture: the whole file, an error, or
    at least one byte of data."""
    return t.status in ("complete", "error") or bool(t.size)


def ended_unanswered(t: FileTransfer) -> bool:
    """The download failed for want of packets (none from the server, or no more of the
    file), not by an answer that says so (a TFTP ERROR, an HTTP error status)."""
    return t.status in ("no_response", "incomplete")


def not_modified(t: FileTransfer) -> bool:
    """HTTP 304 Not Modified (RFC 9110 §15.4.5): the client's cached copy is current. The
    file exists; this download simply did not carry it."""
    return t.protocol == "http" and t.http_status == 304


def refused(t: FileTransfer) -> bool:
    """The server answered that it will not serve the file (TFTP ERROR, HTTP 4xx/5xx)."""
    return t.status == "error" and not not_modified(t)
