"""Deadlines and effective dates read from the way publishers write them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from horizon.dates import extract_dates

PUBLISHED = date(2024, 1, 10)


@pytest.mark.parametrize(
    ("text", "deadline"),
    [
        ("Comments must be received on or before March 4, 2024.", date(2024, 3, 4)),
        (
            "Interested persons are invited to submit comments by February 1, 2024.",
            date(2024, 2, 1),
        ),
        ("Comments are due: January 16, 2024.", date(2024, 1, 16)),
        ("The consultation closes on 20 October 2023.", date(2023, 10, 20)),
        (
            "DOE will accept comments, data, and information no later than 5 p.m. (ET) on "
            "February 5, 2024.",
            date(2024, 2, 5),
        ),
        (
            "Written comments and recommendations on the proposed collection of information "
            "should be received on or before March 12, 2024.",
            date(2024, 3, 12),
        ),
    ],
)
def test_response_deadlines_are_read_as_deadlines(text: str, deadline: date) -> None:
    assert extract_dates(text, PUBLISHED) == (deadline, None)


@pytest.mark.parametrize(
    ("text", "effective"),
    [
        ("This final rule is effective February 2, 2024.", date(2024, 2, 2)),
        (
            "Employers may not use discriminatory AI and must give notice of its use; effective "
            "1 January 2026.",
            date(2026, 1, 1),
        ),
        ("The Act enters into force on 1 August 2024.", date(2024, 8, 1)),
        ("Rules on cryptoasset promotions, applying from 8 October 2023.", date(2023, 10, 8)),
        ("Bedrock lists Command as legacy with end-of-life on 12 August 2025.", date(2025, 8, 12)),
        ("The changes will go into effect on February 15, 2024.", date(2024, 2, 15)),
        ("Deprecation notice: image models (shutdown Dec 1, 2026).", date(2026, 12, 1)),
    ],
)
def test_dates_a_rule_or_change_takes_effect_are_read_as_effective(
    text: str, effective: date
) -> None:
    assert extract_dates(text, PUBLISHED) == (None, effective)


@pytest.mark.parametrize(
    ("text", "effective"),
    [
        ("Most provisions become operative on January 1, 2023.", date(2023, 1, 1)),
        (
            "The interim measures, taking effect on 15 August 2024, cover chatbots.",
            date(2024, 8, 15),
        ),
        ("Industry has until January 1, 2026 to comply.", date(2026, 1, 1)),
        (
            "The rules apply to shareholder meetings held on or after September 1, 2024.",
            date(2024, 9, 1),
        ),
        ("The city will not enforce Local Law 144 until April 15, 2024.", date(2024, 4, 15)),
        (
            "DHS is extending the date for full enforcement of the Act to May 7, 2025.",
            date(2025, 5, 7),
        ),
        ("Member States must transpose the directive by 2 December 2026.", date(2026, 12, 2)),
        (
            "Firms must design their systems of quality management by December 15, 2024, when "
            "the standards take effect.",
            date(2024, 12, 15),
        ),
        ("Agentforce will be generally available on 25 October 2024.", date(2024, 10, 25)),
        ("Properties stop processing new hits on 1 July 2024.", date(2024, 7, 1)),
        ("The current contract expires on September 22, 2024.", date(2024, 9, 22)),
    ],
)
def test_operative_enforcement_grace_and_availability_dates_are_effective(
    text: str, effective: date
) -> None:
    assert extract_dates(text, PUBLISHED) == (None, effective)


def test_a_change_from_a_date_after_publication_applies_from_it() -> None:
    text = "Salesforce will raise list prices by 6% for the Enterprise edition from 1 August 2024."

    assert extract_dates(text, PUBLISHED) == (None, date(2024, 8, 1))


def test_a_period_from_a_date_before_publication_gives_nothing() -> None:
    text = "The report covers complaints received from 1 January 2023 to 30 June 2023."

    assert extract_dates(text, PUBLISHED) == (None, None)


@pytest.mark.parametrize(
    ("text", "deadline"),
    [
        ("Stakeholders can reply, and express interest, until 2 October 2024.", date(2024, 10, 2)),
        ("Contributions were accepted until 1 February 2024.", date(2024, 2, 1)),
        ("The consultation ends on 8 March 2024.", date(2024, 3, 8)),
        ("Microsoft must reply by 27 January 2024 or face fines.", date(2024, 1, 27)),
        ("Existing users must make their choice by 28 February 2024.", date(2024, 2, 28)),
    ],
)
def test_replies_contributions_choices_and_consultations_ending_are_deadlines(
    text: str, deadline: date
) -> None:
    assert extract_dates(text, PUBLISHED) == (deadline, None)


def test_a_date_without_any_year_is_the_occurrence_nearest_publication() -> None:
    text = "When the Act takes effect on January 1, we will extend its rights to all customers."

    assert extract_dates(text, date(2019, 11, 11)) == (None, date(2020, 1, 1))
    assert extract_dates(text, date(2020, 2, 3)) == (None, date(2020, 1, 1))


def test_a_consultation_closing_and_a_rule_applying_are_told_apart() -> None:
    text = "Comments close on 4 June 2024; the rules apply from 1 January 2025."

    assert extract_dates(text, PUBLISHED) == (date(2024, 6, 4), date(2025, 1, 1))


def test_the_first_retirement_date_stands_when_several_follow() -> None:
    text = (
        "OpenAI told users of gpt-4-32k that it would shut down on 6 June 2025 and of "
        "gpt-4-vision-preview on 6 December 2024; from 17 June 2024 only existing users kept it."
    )

    assert extract_dates(text, date(2024, 6, 6)) == (None, date(2025, 6, 6))


def test_a_retirement_named_after_its_date_counts() -> None:
    text = (
        "Notices cited a 22 October 2025 retirement; trackers record shutdown on 28 October 2025."
    )

    assert extract_dates(text, date(2025, 8, 13)) == (None, date(2025, 10, 22))


def test_a_postponed_start_takes_the_new_date() -> None:
    text = "Colorado postponed the AI Act's start date from 1 February 2026 to 30 June 2026."

    assert extract_dates(text, date(2025, 8, 28)) == (None, date(2026, 6, 30))


def test_an_extended_deadline_without_a_year_takes_the_year_of_the_date_before_it() -> None:
    text = (
        "Initial comments originally due 18 October 2023 were later extended to 30 October "
        "(replies to 6 December 2023)."
    )

    assert extract_dates(text, date(2023, 8, 30)) == (date(2023, 10, 30), None)


def test_an_extension_announced_in_the_sentence_before_replaces_the_old_deadline() -> None:
    text = (
        "The comment period ended January 16, 2024. The comment period is extended. "
        "Comments must be received in writing by January 30, 2024."
    )

    assert extract_dates(text, PUBLISHED)[0] == date(2024, 1, 30)


def test_a_date_long_before_publication_gives_way_to_a_current_one() -> None:
    text = (
        "The framework has been in effect continuously since March 25, 2011. "
        "This rule is effective March 11, 2024."
    )

    assert extract_dates(text, date(2024, 2, 9)) == (None, date(2024, 3, 11))


@pytest.mark.parametrize(
    "text",
    [
        "Published in the Federal Register on 31 January 2025 (FR Doc 2025-02172).",
        "The deprecations table records 5 February 2025 as the release date of the models.",
        "The petition was filed on December 21, 2023.",
        "The meeting will be held Friday, January 26, 2024 from 8:30 a.m.",
        "A single AML rulebook applying from July 2027.",
        "Claude Sonnet 3.5 and Article 35 of the UK GDPR; Scope 1 and 2 emissions.",
    ],
)
def test_publication_meeting_and_month_only_dates_give_nothing(text: str) -> None:
    assert extract_dates(text, PUBLISHED) == (None, None)


def test_a_date_without_a_year_needs_a_year_from_somewhere() -> None:
    text = "Comments are due by 30 October."

    assert extract_dates(text, None) == (None, None)
    assert extract_dates(text, date(2023, 9, 1)) == (date(2023, 10, 30), None)


def test_iso_dates_are_read() -> None:
    assert extract_dates("Shutdown date: 2025-04-30.", PUBLISHED) == (None, date(2025, 4, 30))


def _register_documents(shared: Path) -> list[dict[str, object]]:
    path = shared / "data" / "feeds" / "us-federal-register-api-documents-2024.json"
    return list(json.loads(path.read_text(encoding="utf-8"))["results"])


def test_federal_register_dates_match_the_registers_own_fields(shared: Path) -> None:
    """From the text alone (title, abstract and the `dates` paragraph), the extracted dates
    agree with the register's structured fields for at least nine documents in ten."""
    deadlines = effectives = deadline_right = effective_right = 0
    for document in _register_documents(shared):
        parts = [document.get("title"), document.get("abstract"), document.get("dates")]
        text = ". ".join(str(part) for part in parts if part)
        published = date.fromisoformat(str(document["publication_date"]))
        deadline, effective = extract_dates(text, published)
        if document.get("comments_close_on"):
            deadlines += 1
            deadline_right += str(deadline) == document["comments_close_on"]
        if document.get("effective_on"):
            effectives += 1
            effective_right += str(effective) == document["effective_on"]

    assert deadlines > 200 and effectives > 100
    assert deadline_right / deadlines >= 0.9
    assert effective_right / effectives >= 0.9
