"""Stage proposals are about the instrument itself: the cue and the instrument's name share a
sentence, the name nearest the cue wins, a name that belongs to someone else ("its AI Act")
or a cue that states a condition or asks a question proposes nothing. The negatives are the
demo snapshot's sentences that used to propose a wrong stage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from horizon.config import load_instruments
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import link_item
from horizon.instruments.stages import StageProposal, propose_stages

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogue() -> InstrumentsFile:
    return load_instruments(ROOT / "instruments.yaml")


def _proposals(
    catalogue: InstrumentsFile, title: str, summary: str, published: date
) -> list[tuple[str, str, date | None]]:
    links = link_item("i", title, summary, catalogue.instruments)
    found: list[StageProposal] = propose_stages(
        "i", title, summary, links, catalogue.instruments, published
    )
    return [(each.instrument_id, each.stage, each.date) for each in found]


def test_uk_data_act_commencement_regulations_propose_entry_into_force(
    catalogue: InstrumentsFile,
) -> None:
    assert _proposals(
        catalogue,
        "New data protection rules start to take effect",
        "The first commencement regulations under the Data (Use and Access) Act 2025 bring a "
        "set of changes into force today. Our hub explains which provisions are live.",
        date(2025, 8, 20),
    ) == [("uk-data-use-access-act", "in-force", date(2025, 8, 20))]


def test_colorado_moving_its_effective_date_is_an_amendment_of_the_colorado_act(
    catalogue: InstrumentsFile,
) -> None:
    assert _proposals(
        catalogue,
        "Colorado lawmakers act again",
        "The governor signed a bill moving the effective date of the Colorado AI Act's duties "
        "from 30 June 2026 to 1 January 2027.",
        date(2026, 5, 20),
    ) == [("colorado-ai-act", "amended", date(2026, 5, 20))]


def test_a_report_of_an_amendment_already_on_record_proposes_nothing(
    catalogue: InstrumentsFile,
) -> None:
    # The catalogue records SB 25B-004's amendment on 28 August 2025; the news came a day on.
    assert (
        _proposals(
            catalogue,
            "United States: Colorado delays its AI Act to 30 June 2026",
            "Colorado's governor signed SB 25B-004, moving the effective date of the Colorado "
            "AI Act's duties from 1 February 2026 to 30 June 2026.",
            date(2025, 8, 29),
        )
        == []
    )


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        # The delay is of the harmonised standards, and the sentence names no instrument.
        (
            "JTC 21 meets to accelerate AI Act harmonised standards",
            "Experts agreed a plan to bring the core standards to formal vote as soon as "
            "possible, following delays to the original April 2025 deadline.",
        ),
        # "its AI Act" is Colorado's, not the EU's.
        ("United States: Colorado delays its AI Act to 30 June 2026", ""),
        ("Korea's AI Act is amended before it applies", ""),
        # A rule, not an event.
        (
            "Framework Convention on AI - update on signatures",
            "The Framework Convention on Artificial Intelligence (CETS No. 225) has been signed "
            "by more States. It enters into force after five ratifications.",
        ),
        # A question, not an event.
        ("Data (Use and Access) Act 2025: how and when the changes take effect", ""),
        # The code is amended, not the act it helps providers comply with.
        (
            "Code update",
            "The General-Purpose AI Code of Practice, amended after feedback, helps providers "
            "show compliance with the AI Act.",
        ),
    ],
)
def test_a_cue_not_about_the_named_instrument_proposes_no_stage_for_it(
    catalogue: InstrumentsFile, title: str, summary: str
) -> None:
    found = _proposals(catalogue, title, summary, date(2025, 9, 1))
    assert all(instrument != "eu-ai-act" for instrument, _, _ in found)
    assert all(stage != "in-force" for _, stage, _ in found)
    assert all(instrument != "uk-data-use-access-act" for instrument, _, _ in found)


def test_the_amended_code_itself_is_proposed_not_the_act(catalogue: InstrumentsFile) -> None:
    assert _proposals(
        catalogue,
        "Code update",
        "The General-Purpose AI Code of Practice, amended after feedback, helps providers "
        "show compliance with the AI Act.",
        date(2025, 9, 1),
    ) == [("eu-gpai-code-of-practice", "amended", date(2025, 9, 1))]
