"""The search page's query string: parsed and checked, turned into `horizon.search` filters,
described for the activity log, and written back as a link (for saved searches)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import ImmutableMultiDict

from horizon.search import FilterError, SearchFilters, SearchHit, search
from horizon.web.context import FormInvalid, WebContext
from horizon.web.forms import field_errors
from horizon.workspace.errors import InvalidField
from horizon.workspace.evidence import EARLIEST_DAY, LATEST_DAY

_LIST_FIELDS = ("control", "theme", "type", "jurisdiction", "category")
_SEPARATORS = re.compile(r"[\s,]+")
# SearchFilters' field names -> the search form's, so a refused filter names what was typed.
_FORM_FIELD = {
    "controls": "control",
    "themes": "theme",
    "types": "type",
    "jurisdictions": "jurisdiction",
    "categories": "category",
    "publishers": "publisher",
}


class SearchParams(BaseModel):
    """What the search form sends; every filter is optional."""

    model_config = ConfigDict(str_strip_whitespace=True)

    q: str = Field(default="", max_length=1000)
    control: list[str] = Field(default_factory=list)
    theme: list[str] = Field(default_factory=list)
    type: list[str] = Field(default_factory=list)
    jurisdiction: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    publisher: str = Field(default="", max_length=200)
    # Beyond these a date filter means nothing and overflows the calendar.
    since: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    until: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    deadline: bool = False
    relevant: bool = False
    limit: int = Field(default=20, ge=1, le=200)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def filters(self) -> dict[str, Any]:
        """The filters that are set, as JSON-ready values (what a saved search keeps)."""
        chosen = self.model_dump(mode="json", exclude={"q", "limit"})
        return {key: value for key, value in chosen.items() if value not in ("", [], None, False)}

    def pairs(self) -> list[tuple[str, str]]:
        """The filters as (name, value) pairs, one per value, for hidden form fields."""
        found: list[tuple[str, str]] = []
        for key, value in self.filters().items():
            values = value if isinstance(value, list) else [value]
            found.extend((key, "true" if item is True else str(item)) for item in values)
        return found

    def describe(self) -> str:
        pairs = ", ".join(f"{key}={value}" for key, value in self.pairs())
        return f"{self.q} [{pairs}]" if pairs else self.q

    def search_filters(self) -> SearchFilters:
        """The filters for `horizon.search`, checked there (FilterError names the field)."""
        return SearchFilters(
            since=self.since,
            until=self.until,
            publishers=(self.publisher,) if self.publisher else (),
            categories=tuple(self.category),
            jurisdictions=tuple(self.jurisdiction),
            controls=tuple(self.control),
            themes=tuple(self.theme),
            types=tuple(self.type),
            has_deadline=True if self.deadline else None,
            relevant_only=self.relevant,
        )


def parse_search(values: ImmutableMultiDict[str, Any]) -> SearchParams:
    """SearchParams from a query string or a form; FormInvalid names each bad field."""
    data: dict[str, Any] = {}
    for name in SearchParams.model_fields:
        if name in _LIST_FIELDS:
            data[name] = [
                part
                for value in values.getlist(name)
                if isinstance(value, str)
                for part in _SEPARATORS.split(value)
                if part
            ]
        elif isinstance(values.get(name), str):
            data[name] = values.get(name)
    try:
        return SearchParams.model_validate(data)
    except ValidationError as error:
        raise FormInvalid(field_errors(error)) from None


def run_search(ctx: WebContext, params: SearchParams) -> list[SearchHit]:
    """Hybrid search over the store; a filter the search module refuses names its field."""
    try:
        filters = params.search_filters()
        return search(ctx.runtime.store, ctx.runtime.embedder, params.q, filters, params.limit)
    except FilterError as error:
        raise FormInvalid({_FORM_FIELD.get(error.field, error.field): str(error)}) from None


def checked_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """A saved search's filters as the search form would have them; InvalidField names a
    filter that the search does not have or a value it cannot take."""
    unknown = sorted(set(filters) - set(SearchParams.model_fields) - {"q", "limit"})
    if unknown:
        known = ", ".join(sorted(set(SearchParams.model_fields) - {"q", "limit"}))
        raise InvalidField("filters", f"'{unknown[0]}' is not a search filter; use {known}")
    try:
        params = SearchParams.model_validate({key: value for key, value in filters.items()})
    except ValidationError as error:
        name, message = next(iter(field_errors(error).items()))
        raise InvalidField("filters", f"{name}: {message}") from None
    if params.q or params.limit != SearchParams().limit:
        raise InvalidField("filters", "give the query as 'query', and no 'q' or 'limit' filter")
    return params.filters()


def search_link(query: str, filters: dict[str, Any]) -> str:
    """The search page URL that runs this query with these filters."""
    pairs: list[tuple[str, str]] = [("q", query)]
    for key, value in filters.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, "true" if item is True else str(item)) for item in values)
    return "/search?" + urlencode(pairs)
