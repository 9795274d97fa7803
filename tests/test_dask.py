"""Parallel stages on Dask: reading `--dask` / HORIZON_DASK_ADDRESS, cutting the crawl into
shards by host and the embedding into chunks, and (slow) the weekly flow on a real
`distributed.LocalCluster` of 2 workers giving exactly what the default runner gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from horizon.config import PROJECT_ROOT, Source, load_settings, load_sources
from horizon.parallel import (
    DaskAddressError,
    DaskTarget,
    chunked,
    host_of,
    parse_dask_address,
    shard_by_host,
)
from horizon.state import StateDB

SNAPSHOT = Path(__file__).parent / "snapshots" / "small"


def test_a_scheduler_address_or_local_workers_are_read_and_anything_else_explained() -> None:
    assert parse_dask_address("tcp://10.0.0.5:8786") == DaskTarget(address="tcp://10.0.0.5:8786")
    assert parse_dask_address(" local[3] ") == DaskTarget(local_workers=3)
    assert parse_dask_address("local[3]").shards == 3
    for bad in ("10.0.0.5:8786", "local[0]", "local", "http://"):
        with pytest.raises(DaskAddressError, match="local"):
            parse_dask_address(bad)


def test_horizon_dask_address_is_read_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, env={"HORIZON_DASK_ADDRESS": "tcp://127.0.0.1:8786"})
    assert settings.dask_address == "tcp://127.0.0.1:8786"
    assert load_settings(tmp_path, env={}).dask_address is None


def test_every_source_of_a_host_lands_in_the_same_shard_in_source_order() -> None:
    sources = load_sources(PROJECT_ROOT / "sources.yaml").enabled()
    shards = shard_by_host(sources, 4)
    assert len(shards) == 4
    assert sorted(s.id for shard in shards for s in shard) == sorted(s.id for s in sources)
    owner: dict[str, int] = {}
    for number, shard in enumerate(shards):
        positions = [sources.index(source) for source in shard]
        assert positions == sorted(positions)
        for source in shard:
            assert owner.setdefault(host_of(source), number) == number
    assert max(map(len, shards)) - min(map(len, shards)) <= max(
        sum(1 for s in sources if host_of(s) == host) for host in owner
    )


def test_fewer_hosts_than_shards_gives_one_shard_per_host() -> None:
    def source(source_id: str, url: str) -> Source:
        return Source.model_validate(
            {
                "id": source_id,
                "name": source_id,
                "publisher": "P",
                "category": "regulator",
                "jurisdiction": "UK",
                "kind": "rss",
                "url": url,
            }
        )

    sources = [source("one-a", "https://one.example/a"), source("one-b", "https://ONE.example/b")]
    assert shard_by_host(sources, 8) == [sources]
    assert chunked(list(range(5)), 2) == [[0, 1], [2, 3], [4]]


def test_local_n_starts_a_local_cluster_of_n_workers_and_an_address_connects() -> None:
    from pipelines.weekly import scan_flow, weekly_scan

    assert scan_flow(None) is weekly_scan
    local = scan_flow("local[2]").task_runner
    assert local.cluster_kwargs["n_workers"] == 2
    assert local.cluster_class is not None
    assert scan_flow("tcp://127.0.0.1:8786").task_runner.address == "tcp://127.0.0.1:8786"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real LocalCluster of 2 workers, in this process (threads) to spare memory, reached
    over TCP on loopback as an existing cluster would be."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        # The scheduler still serves /health and /metrics; without an address it takes port
        # 8787 and, when another cluster has it, warns (an error in tests) and moves.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as local_cluster:
        yield local_cluster


def stored(home: Path) -> dict[str, Any]:
    state = StateDB(home / "state.db")
    items = state.get_items(state.item_ids())
    return {
        item_id: (
            stored.item.content_hash,
            stored.item.tags.model_dump() if stored.item.tags else None,
            stored.sources,
        )
        for item_id, stored in items.items()
    }


@pytest.mark.slow
def test_the_flow_on_a_two_worker_dask_cluster_gives_the_same_ids_tags_and_digest(
    cluster: Any, tmp_path: Path
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.weekly import scan_flow

    def run(home: Path, dask_address: str | None) -> dict[str, Any]:
        return scan_flow(dask_address)(
            home=str(home),
            sources_file=str(SNAPSHOT / "sources.yaml"),
            controls_file=str(PROJECT_ROOT / "controls.yaml"),
            replay_dir=str(SNAPSHOT),
            dask_address=dask_address,
        )

    with prefect_test_harness(server_startup_timeout=120):
        local = run(tmp_path / "local", None)
        parallel = run(tmp_path / "dask", str(cluster.scheduler_address))
    ran_on_the_cluster = set(cluster.scheduler.task_prefixes)
    assert {"crawl_shard", "normalise_source", "embed_chunk"} <= ran_on_the_cluster
    for key in ("sources", "failed_sources", "items"):
        assert parallel[key] == local[key]
    assert local["items"]["indexed"] == 7
    assert stored(tmp_path / "dask") == stored(tmp_path / "local")
    digest = "digests/2025-W37.md"
    assert (tmp_path / "dask" / digest).read_text() == (tmp_path / "local" / digest).read_text()
