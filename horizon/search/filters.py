"""Search filters: checked once, then turned into SQL conditions on `items` and a Chroma
`where` (`Scope`), so that both engines apply the same ones."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args

from horizon.config import SourceCategory
from horizon.item import ITEM_TYPES
from horizon.lexical import (
    ItemCondition,
)
from horizon.store import Store

CATEGORIES: tuple[str, ...] = get_args(SourceCategory)
_JURISDICTION = re.compile(r"^(UK|EU|US|INT|GLOBAL|[A-Z]{2})$")
_CONTROL = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
_THEME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the filter and the value, and
    `field` is the `SearchFilters` field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SearchFilters:
    """Filters that combine with any query; within one field any value may match, across
    fields all must. Dates are inclusive and compare with the publication date (UTC);
    `has_deadline` asks for items with (True) or without (False) a response deadline;
    `relevant_only` keeps items the classifier found relevant to AI governance."""

    since: date | None = None
    until: date | None = None
    publishers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    has_deadline: bool | None = None
    relevant_only: bool = False

    def checked(self) -> SearchFilters:
        """The same filters in canonical case, or FilterError naming the first bad value.

        Publishers match whole words of the publisher's name, ignoring case ("ICO" finds
        "Information Commissioner's Office (ICO)").
        """
        if self.since and self.until and self.since > self.until:
            raise FilterError(
                "since", f"since {self.since} is after until {self.until}: no date can match"
            )
        publishers = tuple(value.strip() for value in self.publishers)
        if any(not value for value in publishers):
            raise FilterError("publishers", "publisher: an empty name matches nothing")
        return replace(
            self,
            publishers=publishers,
            categories=_checked(
                "categories",
                "category",
                self.categories,
                str.lower,
                CATEGORIES.__contains__,
                f"one of {', '.join(CATEGORIES)}",
            ),
            jurisdictions=_checked(
                "jurisdictions",
                "jurisdiction",
                self.jurisdictions,
                str.upper,
                _JURISDICTION.match,
                "UK, EU, US, INT, GLOBAL or a two-letter country code",
            ),
            controls=_checked(
                "controls",
                "control",
                self.controls,
                str.upper,
                _CONTROL.match,
                "a control id such as AI-POLICY",
            ),
            themes=_checked(
                "themes",
                "theme",
                self.themes,
                str.lower,
                _THEME.match,
                "a theme id such as governance",
            ),
            types=_checked(
                "types",
                "type",
                self.types,
                str.lower,
                ITEM_TYPES.__contains__,
                f"one of {', '.join(ITEM_TYPES)}",
            ),
        )


def _checked(
    field_name: str,
    label: str,
    values: Sequence[str],
    canonical: Callable[[str], str],
    valid: Callable[[str], object],
    expected: str,
) -> tuple[str, ...]:
    """Each value in canonical case, duplicates dropped; FilterError for the first bad one."""
    result = []
    for value in values:
        clean = canonical(value.strip())
        if not valid(clean):
            raise FilterError(field_name, f"{label} {value!r} is not valid: expected {expected}")
        result.append(clean)
    return tuple(dict.fromkeys(result))


@dataclass(frozen=True)
class Scope:
    """The filters as both engines take them: SQL conditions on `items` and a Chroma `where`."""

    conditions: tuple[ItemCondition, ...]
    where: dict[str, Any] | None


def scope_of(
    store: Store, filters: SearchFilters, connection: sqlite3.Connection | None = None
) -> Scope | None:
    """Checked filters as SQL conditions and a Chroma `where`; None when nothing can match
    (no stored publisher fits the publisher filter). Reads through `connection` when given,
    else through a new one."""
    if connection is None:
        with store.state.reading() as opened:
            return scope_of(store, filters, opened)
    conditions: list[ItemCondition] = []
    where: list[dict[str, Any]] = []
    if filters.since is not None:
        start = _utc_midnight(filters.since)
        conditions.append(ItemCondition("i.published >= ?", (start.isoformat(),)))
        where.append({"published_ts": {"$gte": int(start.timestamp())}})
    if filters.until is not None:
        end = _utc_midnight(filters.until + timedelta(days=1))
        conditions.append(ItemCondition("i.published < ?", (end.isoformat(),)))
        where.append({"published_ts": {"$lt": int(end.timestamp())}})
    if filters.publishers:
        publishers = _matching_publishers(connection, filters.publishers)
        if not publishers:
            return None
        conditions.append(_in("i.publisher", publishers))
        where.append({"publisher": {"$in": publishers}})
    for column, key, values in (
        ("i.source_category", "category", filters.categories),
        ("i.jurisdiction", "jurisdiction", filters.jurisdictions),
        ("i.type", "type", filters.types),
    ):
        if values:
            conditions.append(_in(column, values))
            where.append({key: {"$in": list(values)}})
    if filters.controls:
        marks = ",".join("?" * len(filters.controls))
        conditions.append(
            ItemCondition(
                "EXISTS (SELECT 1 FROM json_each(i.tags, '$.controls') c"
                f" WHERE json_extract(c.value, '$.id') IN ({marks}))",
                filters.controls,
            )
        )
        where.append(_any_of("controls", filters.controls))
    if filters.themes:
        marks = ",".join("?" * len(filters.themes))
        conditions.append(
            ItemCondition(
                "EXISTS (SELECT 1 FROM json_each(i.tags, '$.themes') t"
                f" WHERE t.value IN ({marks}))",
                filters.themes,
            )
        )
        where.append(_any_of("themes", filters.themes))
    if filters.has_deadline is not None:
        deadlines = _deadlines(connection)
        if filters.has_deadline:
            if not deadlines:
                return None
            conditions.append(ItemCondition("i.deadline IS NOT NULL"))
            where.append({"deadline": {"$in": deadlines}})
        else:
            conditions.append(ItemCondition("i.deadline IS NULL"))
            if deadlines:
                where.append({"deadline": {"$nin": deadlines}})
    if filters.relevant_only:
        conditions.append(ItemCondition("i.relevant = 1"))
        where.append({"relevant": True})
    combined = None if not where else where[0] if len(where) == 1 else {"$and": where}
    return Scope(tuple(conditions), combined)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _in(column: str, values: Sequence[str]) -> ItemCondition:
    return ItemCondition(f"{column} IN ({','.join('?' * len(values))})", tuple(values))


def _any_of(key: str, values: Sequence[str]) -> dict[str, Any]:
    clauses = [{key: {"$contains": value}} for value in values]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _matching_publishers(connection: sqlite3.Connection, wanted: Sequence[str]) -> list[str]:
    """Stored publisher names containing any wanted name as whole words, ignoring case."""
    patterns = [re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) for name in wanted]
    names = [row[0] for row in connection.execute("SELECT DISTINCT publisher FROM items")]
    return sorted(name for name in names if any(pattern.search(name) for pattern in patterns))


def _deadlines(connection: sqlite3.Connection) -> list[str]:
    """Every deadline date stored: Chroma cannot ask whether a key exists, only match values."""
    return [
        row[0]
        for row in connection.execute(
            "SELECT DISTINCT deadline FROM items WHERE deadline IS NOT NULL"
        )
    ]
