"""The spider for JSON APIs whose records are mapped by a source's `fields`."""

from __future__ import annotations

from typing import ClassVar

from spiders.base import SourceSpider


class JsonApiSpider(SourceSpider):
    """Fetches JSON API responses, asking for JSON so APIs do not answer with an HTML page."""

    name = "json-api"
    kinds: ClassVar[frozenset[str]] = frozenset({"json-api"})
    accept: ClassVar[str] = "application/json, */*;q=0.5"
