"""Which TCP ports a phone uses for CAPF and TVS (DOMAIN §3.1, §4.1, §5).

The config a phone downloads names them: `capfList/capf/phonePort` (3804 when absent) and
each TVS member's `port` (2445 when absent). A phone's CAPF ports are the phonePorts of
the configs it downloaded (of every config in the capture when it downloaded none), plus
the ports given with `--capf-port`; 3804 when neither names one. TVS likewise with
`--tvs-port` and 2445. Every CAPF/TVS verdict asks this module, never a constant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from capfcap.events import ConfigSeen
from capfcap.protocol import CAPF_PORT, TVS_PORT

Service = Literal["CAPF", "TVS"]


class PhonePorts(Protocol):
    """What these questions read of a phone (`state.PhoneState` has it)."""

    @property
    def capf_ports(self) -> frozenset[int]: ...

    @property
    def tvs_ports(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class GivenPorts:
    """Ports given on the command line (`--capf-port`, `--tvs-port`)."""

    capf: frozenset[int] = frozenset()
    tvs: frozenset[int] = frozenset()


def config_ports(configs: Iterable[ConfigSeen]) -> tuple[frozenset[int], frozenset[int]]:
    """(CAPF ports, TVS ports) the readable configs name."""
    capf: set[int] = set()
    tvs: set[int] = set()
    for cs in configs:
        if cs.config is None:
            continue
        capf.update(p for _h, p in cs.config.capf_servers)
        tvs.update(p for _h, p in cs.config.tvs_servers)
    return frozenset(capf), frozenset(tvs)


def phone_ports(own: Iterable[ConfigSeen],
                every: Iterable[ConfigSeen] | Callable[[], tuple[frozenset[int], frozenset[int]]],
                given: GivenPorts) -> tuple[frozenset[int], frozenset[int]]:
    """(CAPF ports, TVS ports) of one phone: its own configs' ports (every config's when
    its own name none), plus the given ports; the default when that leaves none.

    `every`: every config of the capture, or a function giving their ports once (a
    capture of many phones need not read every config again for each phone). Equal sets
    are returned as one shared object: most phones of a capture have the same ports."""
    capf, tvs = config_ports(own)
    if not capf or not tvs:
        all_capf, all_tvs = every() if callable(every) else config_ports(every)
        capf, tvs = capf or all_capf, tvs or all_tvs
    capf, tvs = capf | given.capf, tvs | given.tvs
    return (_shared(capf or frozenset({CAPF_PORT})),
            _shared(tvs or frozenset({TVS_PORT})))


_SHARED: dict[frozenset[int], frozenset[int]] = {}


def _shared(ports: frozenset[int]) -> frozenset[int]:
    """One object per distinct set of ports (bounded: a capture names few port sets)."""
    if len(_SHARED) >= 1024:
        return ports
    return _SHARED.setdefault(ports, ports)


def spotting_ports(configs: Iterable[ConfigSeen], given: GivenPorts) -> frozenset[int]:
    """A host connecting to one of these ports is a phone (DOMAIN §2): the defaults, every
    port a captured config names, and the given ports."""
    capf, tvs = config_ports(configs)
    return frozenset({CAPF_PORT, TVS_PORT}) | capf | tvs | given.capf | given.tvs


def service(phone: PhonePorts, port: int) -> Service | None:
    """"CAPF" or "TVS" when a connection of this phone to `port` is one (CAPF first)."""
    if port in phone.capf_ports:
        return "CAPF"
    if port in phone.tvs_ports:
        return "TVS"
    return None


def is_capf(phone: PhonePorts, port: int) -> bool:
    return port in phone.capf_ports


def is_tvs(phone: PhonePorts, port: int) -> bool:
    return service(phone, port) == "TVS"


def capf_ports_text(phone: PhonePorts) -> str:
    """"3804", "3806", "3804/3806": the phone's CAPF ports for a sentence."""
    return "/".join(str(p) for p in sorted(phone.capf_ports))


def tvs_ports_text(phone: PhonePorts) -> str:
    return "/".join(str(p) for p in sorted(phone.tvs_ports))
