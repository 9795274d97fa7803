"""The FTS5 full-text index: kept in step with the items table by SQLite itself, BM25 ranking,
and free-text queries turned into safe FTS5 expressions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from horizon.item import Item
from horizon.lexical import (
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    ItemCondition,
    LexicalIndex,
    identifier_phrases,
    match_expression,
    query_words,
)
from horizon.lexical.expressions import budgeted_query
from horizon.normalise import item_from_record
from horizon.state import StateDB

SEEN = datetime(2025, 9, 15, tzinfo=UTC)


def item(item_id: str, title: str, summary: str = "", **fields: str) -> Item:
    return item_from_record({"id": item_id, "title": title, "summary": summary, **fields})


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    return StateDB(tmp_path / "state.db")


@pytest.fixture
def lexical(state: StateDB) -> LexicalIndex:
    return LexicalIndex(state)


def found(lexical: LexicalIndex, query: str, limit: int = 10) -> list[str]:
    return [match.item_id for match in lexical.search(query, limit)]


def test_items_saved_by_the_ingest_code_are_searchable_at_once(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items(
        [
            item("a1", "ICO fines retailer over facial recognition", "A penalty notice."),
            item("a2", "Bank of England holds interest rates"),
        ],
        SEEN,
    )
    assert found(lexical, "facial recognition") == ["a1"]
    assert found(lexical, "penalty") == ["a1"]
    assert lexical.count() == 2


def test_a_changed_item_is_found_by_its_new_words_and_no_longer_by_its_old_ones(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items([item("a1", "Draft guidance on biometric data")], SEEN)
    state.save_new_items([item("a1", "Final guidance on emotion recognition")], SEEN)
    assert found(lexical, "biometric") == []
    assert found(lexical, "emotion recognition") == ["a1"]
    assert lexical.count() == 1


def test_a_deleted_item_leaves_the_index(state: StateDB, lexical: LexicalIndex) -> None:
    state.save_new_items([item("a1", "Consultation on AI assurance")], SEEN)
    with state.connect() as connection:
        connection.execute("DELETE FROM reports WHERE item_id = 'a1'")
        connection.execute("DELETE FROM items WHERE id = 'a1'")
    assert found(lexical, "assurance") == []
    assert lexical.count() == 0


def test_a_write_that_rolls_back_leaves_nothing_in_the_index(
    state: StateDB, lexical: LexicalIndex
) -> None:
    with pytest.raises(sqlite3.IntegrityError), state.connect() as connection:
        connection.execute(
            "INSERT INTO items (id, title, summary, publisher, content_hash, first_seen,"
            " last_seen) VALUES ('a1', 'Sandbox for AI', '', 'FCA', 'h', 'x', 'x')"
        )
        connection.execute("INSERT INTO items (id) VALUES ('a2')")
    assert found(lexical, "sandbox") == []
    assert lexical.count() == 0


def test_items_stored_before_the_index_existed_are_indexed_when_it_opens(
    state: StateDB,
) -> None:
    state.save_new_items([item("old", "Deprecation of legacy GPT model snapshots")], SEEN)
    assert found(LexicalIndex(state), "deprecation") == ["old"]


def test_rebuild_recovers_an_index_that_lost_track_of_its_items(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items([item("a1", "Guidelines on prohibited AI practices")], SEEN)
    with state.connect() as connection:
        connection.execute("DELETE FROM search_rows")
        connection.execute("INSERT INTO search_text (search_text) VALUES ('delete-all')")
    assert found(lexical, "prohibited") == []
    lexical.rebuild()
    assert found(lexical, "prohibited") == ["a1"]


def test_more_of_the_query_matched_ranks_higher(state: StateDB, lexical: LexicalIndex) -> None:
    state.save_new_items(
        [
            item("one", "Employers must tell staff", "A general notice."),
            item("both", "Employers using AI to screen job applicants", "Hiring rules."),
            item("none", "Rates held steady"),
        ],
        SEEN,
    )
    matches = lexical.search("rules for employers screening applicants", 10)
    assert [match.item_id for match in matches] == ["both", "one"]
    assert matches[0].score > matches[1].score > 0


def test_an_identifier_ranks_the_item_that_names_it_exactly_first(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items(
        [
            item("near", "Memo 10 of 24 agencies", "Agency M reported 24 cases in 10 states."),
            item("exact", "M-24-10: Advancing governance of agency AI use"),
        ],
        SEEN,
    )
    assert found(lexical, "M-24-10")[0] == "exact"


def test_an_abbreviation_finds_items_that_spell_it_out_and_the_other_way_round(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items(
        [
            item("long", "Guidelines on prohibited artificial intelligence practices"),
            item("short", "EO 14179 removes barriers"),
        ],
        SEEN,
    )
    assert found(lexical, "AI bans") == ["long"]
    assert found(lexical, "executive order on barriers") == ["short"]


def test_conditions_on_the_items_row_restrict_the_matches(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items(
        [
            item("ico", "Consultation on generative AI", publisher="ICO"),
            item("fca", "Consultation on AI live testing", publisher="FCA"),
        ],
        SEEN,
    )
    only_fca = [ItemCondition("i.publisher = ?", ("FCA",))]
    assert [m.item_id for m in lexical.search("consultation", 10, only_fca)] == ["fca"]


def test_conditions_that_few_matches_meet_still_find_them_all(
    state: StateDB, lexical: LexicalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("horizon.lexical.index.OVERFETCH", 1)
    crowd = [item(f"c{n}", f"Consultation number {n} on AI", publisher="ICO") for n in range(12)]
    state.save_new_items([*crowd, item("f1", "A consultation", publisher="FCA")], SEEN)
    only_fca = [ItemCondition("i.publisher = ?", ("FCA",))]
    assert [m.item_id for m in lexical.search("consultation", 3, only_fca)] == ["f1"]


def test_the_most_common_words_are_left_out_on_a_large_index_but_identifiers_never(
    state: StateDB, lexical: LexicalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("horizon.lexical.expressions.POSTINGS_BUDGET", 5)
    notices = [item(f"n{n}", f"Notice of meeting {n}") for n in range(8)]
    state.save_new_items([*notices, item("rare", "Notice on the Hiroshima AI Process")], SEEN)
    prepared = lexical.prepare("notice Hiroshima process SB 53")
    assert prepared.expression is not None
    assert '"notice"' not in prepared.expression
    assert '"hiroshima"' in prepared.expression and '"sb 53"' in prepared.expression
    assert [m.item_id for m in lexical.search(prepared, 5)] == ["rare"]
    assert lexical.prepare("notice").expression == '"notice"'


def test_a_query_is_budgeted_by_its_clauses_match_counts_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rarest first while the items scored stay within the budget; all common: all required."""
    monkeypatch.setattr("horizon.lexical.expressions.POSTINGS_BUDGET", 10)
    counts = {'"notice"': 11, '"hiroshima"': 2, '"process"': 9}
    assert budgeted_query("notice Hiroshima process", counts).expression == '"hiroshima"'
    assert budgeted_query("notice process", {'"notice"': 11, '"process"': 12}).expression == (
        '("notice" AND "process")'
    )
    assert budgeted_query("notice process", {'"notice"': 3, '"process"': 4}).expression == (
        '"notice" OR "process"'
    )


def test_a_query_whose_every_word_is_common_requires_them_all(
    state: StateDB, lexical: LexicalIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keeping only the rarest common word would score every item that has it."""
    monkeypatch.setattr("horizon.lexical.expressions.POSTINGS_BUDGET", 5)
    meetings = [item(f"m{n}", f"Notice of meeting {n}") for n in range(6)]
    notices = [item(f"n{n}", f"Notice of inventory completion {n}") for n in range(6)]
    closed = [item(f"c{n}", f"Closed meeting {n} of the board") for n in range(6)]
    state.save_new_items([*meetings, *notices, *closed], SEEN)

    prepared = lexical.prepare("Notice of meeting")

    assert prepared.expression == '("notice" AND "meeting")'
    assert sorted(m.item_id for m in lexical.search(prepared, 20)) == [f"m{n}" for n in range(6)]
    assert lexical.prepare("notice").expression == '"notice"'  # one word: nothing to require


def test_snippets_mark_the_matched_words_in_the_summary(
    state: StateDB, lexical: LexicalIndex
) -> None:
    state.save_new_items(
        [
            item("a1", "Fine", "The regulator fined the company for unlawful facial recognition."),
            item("a2", "Title only about facial recognition"),
        ],
        SEEN,
    )
    snippets = lexical.snippets("facial recognition", ["a1", "a2"])
    assert f"{SNIPPET_OPEN}facial{SNIPPET_CLOSE} {SNIPPET_OPEN}recognition" in snippets["a1"]
    assert snippets["a1"].startswith("The regulator fined")
    assert f"{SNIPPET_OPEN}facial{SNIPPET_CLOSE}" in snippets["a2"]


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "AND OR NOT", "NEAR(a b", "col:umn * ^start", "a-b-c", "(", "✓ ☃", "''"],
)
def test_any_text_is_a_safe_query(state: StateDB, lexical: LexicalIndex, query: str) -> None:
    state.save_new_items([item("a1", "AND OR NOT NEAR column start")], SEEN)
    lexical.search(query, 10)


def test_stop_words_are_dropped_unless_nothing_else_is_left() -> None:
    assert query_words("What are the rules for the AI Act?") == ["rules", "ai", "act"]
    assert match_expression("what is this") == '"what" OR "is" OR "this"'
    assert match_expression("   ") is None


def test_identifiers_are_read_as_phrases() -> None:
    assert identifier_phrases("SB 53 and M-24-10 under ISO/IEC 42005") == [
        ["sb", "53"],
        ["m", "24", "10"],
        ["iso", "iec", "42005"],
    ]
    assert identifier_phrases("Opinion 28/2024 on Article 50") == [
        ["opinion", "28", "2024"],
        ["article", "50"],
    ]
    assert identifier_phrases("rules for employers") == []
