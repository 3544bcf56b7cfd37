"""RecentDns keeps what a bounded deque of every unknown host's DNS kept, by client."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap.correlator.recentdns import RecentDns
from capfcap.correlator.state import State
from capfcap.events import DnsTransaction, FileTransfer


def _dns(frame: int, client: str) -> DnsTransaction:
    return DnsTransaction(client, "198.51.100.53", 40000, 53, "udp", frame, "cucm.example",
                          1, (frame,), (frame * 1000,), None, None, None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), max_size=60),
       st.integers(1, 6))
def test_same_as_a_bounded_deque(ops: list[tuple[bool, int]], limit: int) -> None:
    """The reference: a deque(maxlen=limit) of every transaction, a taken client's removed."""
    ref: deque[DnsTransaction] = deque(maxlen=limit)
    got = RecentDns(limit)
    for frame, (take, c) in enumerate(ops, start=1):
        client = f"2001:db8::{c}"
        if take:
            want = [d for d in ref if d.client == client]
            ref = deque((d for d in ref if d.client != client), maxlen=limit)
            assert got.take(client) == want
        else:
            d = _dns(frame, client)
            ref.append(d)
            got.append(d)
        assert list(got) == list(ref) and len(got) == len(ref)


def test_a_new_phone_takes_its_own_dns_without_scanning_the_others() -> None:
    st_ = State()
    for k in range(3000):
        st_.add(_dns(k + 1, f"2001:db8:1::{k:x}"))
    st_.add(FileTransfer(protocol="tftp", client="2001:db8:1::7", server="198.51.100.5",
                         server_port=69, filename="SEP0000000000AA.cnf.xml",
                         status="no_response", request_frames=(5000,), frames=(5000,),
                         first_ts=0, last_ts=0))
    assert [d.query_frames for d in st_.dns] == [(8,)]
    assert len(st_.other_dns) == 2999
    (p,) = st_.phones().values()
    assert [d.query_frames for d in p.dns] == [(8,)]
