"""Work over a home's whole history rather than one week: `horizon backfill` pages back through
sources to a date, `horizon reindex` re-embeds every stored item. Both commit in chunks and keep
a small progress record in the state database, so a killed run is continued, not repeated."""
