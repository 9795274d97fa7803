"""Full text for new items: the linked page's main content or PDF text, fetched in the crawl.

`model` holds the job's caps (they cross into the crawler process), `extract` the pure
extraction (trafilatura for HTML, pypdf for PDF), `store` the `full_texts` table.
"""
