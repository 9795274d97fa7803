"""Benchmarks of Horizon's search (`make bench`, i.e. `python -m bench`): query latency of the
hybrid search against a raw Chroma query plus one query embedding at 1k, 10k and 100k items,
and what indexing into Chroma and SQLite FTS5 adds to the embedding time of an ingest."""
