"""`horizon search` and `horizon similar` as users and scripts meet them: a home filled by
`horizon ingest --jsonl` (real model, real classifier, real Chroma), then each command run
in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pipelines.cli import app

pytestmark = pytest.mark.slow

ITEMS = [
    {
        "id": "ico-genai",
        "title": "ICO consultation on generative AI and data protection",
        "summary": "The regulator asks how data protection law applies to training generative "
        "AI models on personal data scraped from the web.",
        "publisher": "Information Commissioner's Office (ICO)",
        "published": "2025-03-01",
    },
    {
        "id": "ftc-companions",
        "title": "FTC launches inquiry into AI chatbots acting as companions",
        "summary": "Orders to seven companies about how their chatbots affect children and teens.",
        "publisher": "Federal Trade Commission (FTC)",
        "published": "2025-09-11",
    },
    {
        "id": "sb53",
        "title": "SB 53: Transparency in Frontier Artificial Intelligence Act",
        "summary": "California requires large developers of frontier AI models to publish a "
        "safety framework and report critical safety incidents.",
        "publisher": "Governor of California",
        "published": "2025-09-29",
    },
    {
        "id": "gpt-retire",
        "title": "OpenAI deprecates legacy GPT-4 snapshots in the API",
        "summary": "Developers must move to newer models before the shutdown date.",
        "publisher": "OpenAI",
        "published": "2025-06-30",
    },
    {
        "id": "boe-rates",
        "title": "Bank of England holds interest rates",
        "summary": "The Monetary Policy Committee voted to keep Bank Rate unchanged.",
        "publisher": "Bank of England",
        "published": "2025-08-07",
    },
]
REQUIRED = {"id", "title", "url", "publisher", "published", "score", "controls", "type"}
REQUIRED |= {"jurisdiction", "themes", "deadline", "effective", "snippet"}

runner = CliRunner()


def horizon(*args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "160"})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search-cli")
    jsonl = folder / "items.jsonl"
    jsonl.write_text("".join(json.dumps(item) + "\n" for item in ITEMS), encoding="utf-8")
    ingested = horizon("ingest", "--jsonl", str(jsonl), "--json", "--home", str(folder / "home"))
    assert ingested.exit_code == 0, ingested.stderr
    return folder / "home"


def search_json(home: Path, *args: str) -> list[dict[str, Any]]:
    result = horizon("search", *args, "--json", "--home", str(home))
    assert result.exit_code == 0, result.stderr
    hits: list[dict[str, Any]] = json.loads(result.stdout)
    return hits


def test_search_json_lists_hits_best_first_under_their_given_ids(home: Path) -> None:
    hits = search_json(home, "AI companion chatbots and children")
    assert hits[0]["id"] == "ftc-companions"
    assert {hit["id"] for hit in hits} <= {item["id"] for item in ITEMS}
    assert all(set(hit) >= REQUIRED for hit in hits)
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)
    assert "⟦chatbots⟧" in hits[0]["snippet"]


def test_search_table_shows_rank_date_publisher_title_tags_and_highlighted_snippet(
    home: Path,
) -> None:
    result = horizon("search", "SB 53", "--home", str(home))
    assert result.exit_code == 0
    for heading in ("#", "date", "publisher", "title", "tags", "id"):
        assert heading in result.stdout
    assert "2025-09-29" in result.stdout and "SB 53: Transparency" in result.stdout
    assert "Governor of" in result.stdout and "sb53" in result.stdout
    assert "⟦" not in result.stdout


def test_filters_on_publisher_and_dates_combine_with_the_query(home: Path) -> None:
    assert [hit["id"] for hit in search_json(home, "AI", "--publisher", "ico")] == ["ico-genai"]
    window = search_json(home, "AI rules", "--since", "2025-06-30", "--until", "2025-09-11")
    assert {hit["id"] for hit in window} <= {"gpt-retire", "ftc-companions", "boe-rates"}
    assert {"gpt-retire", "ftc-companions"} <= {hit["id"] for hit in window}


def test_a_tag_filter_keeps_only_items_with_that_tag(home: Path) -> None:
    everything = search_json(home, "AI", "--limit", "20")
    chosen = everything[0]["type"]
    only = search_json(home, "AI", "--type", chosen, "--limit", "20")
    assert only and all(hit["type"] == chosen for hit in only)
    assert {hit["id"] for hit in only} == {h["id"] for h in everything if h["type"] == chosen}


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--type", "rule", "'rule'"),
        ("--since", "2025-13-01", "'2025-13-01'"),
        ("--jurisdiction", "Europe", "'Europe'"),
        ("--control", "NOT-A-CONTROL", "'NOT-A-CONTROL'"),
        ("--category", "blog", "'blog'"),
    ],
)
def test_a_bad_filter_value_exits_2_naming_it_without_a_traceback(
    home: Path, option: str, value: str, named: str
) -> None:
    result = horizon("search", "AI", option, value, "--json", "--home", str(home))
    assert result.exit_code == 2
    assert named in result.stderr and option in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_nothing_matching_is_an_empty_list_and_exit_0(home: Path) -> None:
    assert search_json(home, "AI", "--publisher", "Nobody Of That Name") == []
    assert search_json(home, "AI", "--has-deadline", "--since", "2030-01-01") == []


def test_an_empty_or_missing_index_says_so_plainly_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = horizon("search", "AI", "--json", "--home", str(missing))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "empty" in result.stderr
    assert not missing.exists()
    bad = horizon("search", "AI", "--type", "rule", "--home", str(missing))
    assert bad.exit_code == 2


def test_similar_lists_the_nearest_other_items_and_refuses_an_unknown_id(home: Path) -> None:
    result = horizon("similar", "sb53", "--json", "--limit", "3", "--home", str(home))
    assert result.exit_code == 0
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and "sb53" not in {hit["id"] for hit in hits}
    assert all(set(hit) >= REQUIRED for hit in hits)
    unknown = horizon("similar", "no-such-item", "--home", str(home))
    assert unknown.exit_code == 1
    assert "'no-such-item'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_batch_answers_each_line_in_order_like_single_searches_with_errors_per_line(
    home: Path, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"qid": "q1", "query": "AI companion chatbots and children"}),
        json.dumps({"qid": "q2", "query": "AI", "publisher": "ico", "limit": 3}),
        json.dumps({"qid": "q3", "query": "AI", "type": "rule"}),
        "not json at all",
        json.dumps({"qid": "q5", "text": "no query key"}),
        json.dumps({"qid": "q6", "query": "SB 53", "colour": "red"}),
        json.dumps({"qid": 7, "query": "AI rules", "since": "2025-06-30", "until": "2025-09-11"}),
    ]
    batch = tmp_path / "queries.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = horizon("search", "--batch", str(batch), "--json", "--home", str(home))
    assert result.exit_code == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["qid"] for answer in answers] == ["q1", "q2", "q3", "line 4", "q5", "q6", 7]
    assert answers[0]["hits"] == search_json(home, "AI companion chatbots and children")
    assert [hit["id"] for hit in answers[1]["hits"]] == ["ico-genai"]
    assert all(set(hit) >= REQUIRED | {"passage"} for hit in answers[0]["hits"])
    assert "'rule'" in answers[2]["error"] and "type" in answers[2]["error"]
    assert "not JSON" in answers[3]["error"]
    assert "query" in answers[4]["error"]
    assert "colour" in answers[5]["error"]
    window = search_json(home, "AI rules", "--since", "2025-06-30", "--until", "2025-09-11")
    assert answers[6]["hits"] == window


def test_batch_and_a_query_together_are_refused(home: Path, tmp_path: Path) -> None:
    batch = tmp_path / "queries.jsonl"
    batch.write_text('{"qid": "a", "query": "AI"}\n', encoding="utf-8")
    result = horizon("search", "AI", "--batch", str(batch), "--home", str(home))
    assert result.exit_code == 2 and "either" in result.stderr
