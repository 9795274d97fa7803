"""Where the parallel stages run, and how their work is cut up.

`horizon run --dask ADDRESS` (or HORIZON_DASK_ADDRESS) names a Dask cluster: `tcp://HOST:8786`
(or any scheme Dask knows) for an existing scheduler, `local[N]` for a `LocalCluster` of N worker
processes started for the run. Crawl shards group sources by host, so each host is crawled by
one Scrapy process and its politeness settings still hold; embedding is cut into chunks. The
wiring onto Prefect's Dask task runner lives in `pipelines/weekly.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from horizon.config import Source

T = TypeVar("T")

DEFAULT_SHARDS = 8
EMBED_CHUNK = 256
_LOCAL = re.compile(r"^local\[(\d{1,3})\]$")
_SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")


class DaskAddressError(ValueError):
    """A Dask address that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class DaskTarget:
    """An existing scheduler (`address`) or a local cluster of `local_workers` processes."""

    address: str | None = None
    local_workers: int | None = None

    @property
    def shards(self) -> int:
        """How many crawl shards to cut: one per local worker, else up to DEFAULT_SHARDS."""
        return self.local_workers or DEFAULT_SHARDS


def parse_dask_address(text: str) -> DaskTarget:
    """`local[N]` or a scheduler address such as `tcp://10.0.0.5:8786`."""
    value = text.strip()
    local = _LOCAL.match(value)
    if local:
        workers = int(local.group(1))
        if workers < 1:
            raise DaskAddressError(f"'{value}': a local cluster needs at least one worker")
        return DaskTarget(local_workers=workers)
    parts = urlsplit(value)
    if parts.scheme not in _SCHEMES or not parts.netloc:
        raise DaskAddressError(
            f"'{value}' is not a Dask scheduler address; write tcp://HOST:8786 for an existing "
            "cluster, or local[N] for N local workers"
        )
    return DaskTarget(address=value)


def host_of(source: Source) -> str:
    return (urlsplit(source.url).hostname or "").lower()


def shard_by_host(sources: Sequence[Source], shards: int) -> list[list[Source]]:
    """At most `shards` groups of sources, every source of a host in the same group, hosts
    dealt out largest first onto the smallest group; groups keep the sources' order."""
    by_host: dict[str, list[int]] = {}
    for position, source in enumerate(sources):
        by_host.setdefault(host_of(source), []).append(position)
    groups: list[list[int]] = [[] for _ in range(max(1, min(shards, len(by_host))))]
    for positions in sorted(by_host.values(), key=len, reverse=True):
        min(groups, key=len).extend(positions)
    return [[sources[p] for p in sorted(group)] for group in groups if group]


def chunked(values: Sequence[T], size: int = EMBED_CHUNK) -> list[list[T]]:
    return [list(values[start : start + size]) for start in range(0, len(values), size)]
