"""Scrapy spiders that fetch Horizon's sources: one spider per kind of source.

Everything here is a thin adapter: requests are built from `horizon.config.Source`, responses are
parsed by `horizon.parse`, and each source ends as one `horizon.fetch.FetchOutcome`. Callers use
`spiders.crawl.run_crawl`, which runs the crawl in a child process.
"""
