"""`sources.yaml`: the watched sources and the crawl's politeness settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from horizon.address_policy import AddressPolicy, parse_network
from horizon.config.reading import (
    ConfigError,
    StrictModel,
    describe_validation_error,
    duplicate_ids,
    read_yaml,
    shown,
)

SourceKind = Literal["rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing", "page-watch"]
SOURCE_KINDS: tuple[str, ...] = ("rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing")
FEED_KINDS: frozenset[str] = frozenset({"rss", "atom", "rdf"})
SourceCategory = Literal[
    "regulator", "government", "legislature", "standards-body", "vendor", "secondary"
]
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
JURISDICTION = re.compile(r"^(UK|EU|US|INT|GLOBAL|[A-Z]{2})$")


class ListingSelectors(StrictModel):
    """CSS selectors (parsel syntax, `::text` and `::attr(x)` allowed) for an HTML listing."""

    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None
    next: str | None = None  # the next (older) page's link, for `horizon backfill`


class JsonApiFields(StrictModel):
    """Where the fields of each record sit in a JSON API response (dotted paths)."""

    items: str
    title: str
    url: str
    summary: str | None = None
    published: str | None = None
    id: str | None = None
    deadline: str | None = None
    effective: str | None = None
    next: str | None = None  # the next (older) page's address, for `horizon backfill`


class Source(StrictModel):
    """One watched source, as declared in sources.yaml."""

    id: str
    name: str
    publisher: str
    category: SourceCategory
    jurisdiction: str
    kind: SourceKind
    url: str
    enabled: bool = True
    official: bool = True
    selectors: ListingSelectors | None = None
    fields: JsonApiFields | None = None
    watch_selector: str | None = None  # page-watch: compare this CSS selector's text only
    render: bool = False  # fetch through headless chromium (pages built by JavaScript)
    notes: str = ""
    allow_private_hosts: bool | list[str] = False

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not _SOURCE_ID.match(value):
            raise ValueError("use lowercase letters, digits and hyphens, e.g. 'ico-news'")
        return value

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        if not JURISDICTION.match(value):
            raise ValueError("use UK, EU, US, INT, GLOBAL or an ISO 3166 alpha-2 code")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = AddressPolicy(allow_all_private=True).url_refusal(value)
        if problem is None and re.search(r"\s", value):
            problem = "the address contains spaces; write it without them"
        if problem is not None:
            raise ValueError(f"{shown(value)}: {problem}")
        return value

    @field_validator("allow_private_hosts")
    @classmethod
    def _networks(cls, value: bool | list[str]) -> bool | list[str]:
        if not isinstance(value, bool):
            for text in value:
                parse_network(text)
        return value

    @model_validator(mode="after")
    def _public_unless_allowed(self) -> Source:
        problem = self.address_policy().url_refusal(self.url)
        if problem is not None:
            raise ValueError(f"url '{self.url}': {problem}")
        return self

    def address_policy(self) -> AddressPolicy:
        """What this source may reach beyond the public internet (see address_policy)."""
        return AddressPolicy.from_setting(self.allow_private_hosts)

    @model_validator(mode="after")
    def _kind_has_its_settings(self) -> Source:
        if self.kind == "html-listing" and self.selectors is None:
            raise ValueError("an html-listing source needs 'selectors' (item, title, link)")
        if self.kind == "json-api" and self.fields is None:
            raise ValueError("a json-api source needs 'fields' (items, title, url)")
        if self.kind != "html-listing" and self.selectors is not None:
            raise ValueError("'selectors' only applies to kind html-listing")
        if self.kind != "json-api" and self.fields is not None:
            raise ValueError("'fields' only applies to kind json-api")
        if self.kind != "page-watch" and self.watch_selector is not None:
            raise ValueError("'watch_selector' only applies to kind page-watch")
        return self


class CrawlSettings(StrictModel):
    """Politeness settings shared by every fetch."""

    user_agent: str = "HorizonBot/0.1 (+https://github.com/horizon-scan/horizon)"
    delay_seconds: float = Field(default=1.0, ge=0)
    concurrency_per_domain: int = Field(default=2, ge=1, le=16)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    obey_robots_txt: bool = True


class SourcesFile(StrictModel):
    crawl: CrawlSettings = CrawlSettings()
    sources: list[Source]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"source id {shown(source.id)} is used twice; ids must be unique")
            seen.add(source.id)
        return self

    def enabled(self) -> list[Source]:
        return [source for source in self.sources if source.enabled]


def load_sources(path: Path) -> SourcesFile:
    """Load and validate sources.yaml; raise ConfigError listing every problem at once."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with a 'sources' list at the top"])
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as error:
        problems = [
            line
            for line in describe_validation_error(path, data, error)
            if "is used twice" not in line
        ]
        raise ConfigError(problems + duplicate_ids(path, data.get("sources"))) from None


def append_sources(path: Path, sources: Sequence[Source]) -> None:
    """Add entries at the end of the file's `sources:` list, keeping every comment and line
    already there; the result is validated before it replaces the file."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    top_keys = [line.split(":", 1)[0] for line in lines if re.match(r"^[A-Za-z_][\w-]*:", line)]
    if not top_keys or top_keys[-1] != "sources":
        raise ConfigError(
            [
                f"{path}: 'sources:' is not the last section, so entries cannot be added safely; "
                "add them by hand"
            ]
        )
    items = [line for line in lines if re.match(r"^\s*- ", line)]
    indent = re.match(r"^(\s*)", items[0]).group(1) if items else ""  # type: ignore[union-attr]
    entries = yaml.safe_dump(
        [source.model_dump(mode="json", exclude_defaults=True) for source in sources],
        sort_keys=False,
        allow_unicode=True,
    )
    block = "".join(f"{indent}{line}\n" for line in entries.splitlines())
    updated = text + ("" if text.endswith("\n") else "\n") + block
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(updated, encoding="utf-8")
    try:
        load_sources(temporary)
    except ConfigError:
        temporary.unlink()
        raise
    temporary.replace(path)
