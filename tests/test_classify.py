"""Tagging items a compliance team can trust: relevance, controls with evidence, type,
jurisdiction, dates and analyst feedback, with the real catalogue and the real model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pytest

from horizon.catalogue import Catalogue
from horizon.classify import (
    Classifier,
    Feedback,
    PhraseSet,
    classify_output,
    item_type_of,
    jurisdiction_of,
)
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import HashingEmbedder, ProgressCallback, default_embedder
from horizon.item import Item
from horizon.normalise import content_hash, item_from_record


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([PROJECT_ROOT / "controls.yaml"])


@pytest.fixture(scope="module")
def classifier(catalogue: Catalogue) -> Classifier:
    return Classifier(catalogue, default_embedder())


def _item(**record: Any) -> Item:
    return item_from_record(record)


def _sourced_item(title: str, summary: str, jurisdiction: str, category: str) -> Item:
    return Item(
        id="sourced",
        title=title,
        summary=summary,
        publisher="Some publisher",
        source="some-source",
        source_category=category,
        source_jurisdiction=jurisdiction,
        content_hash=content_hash(title, summary),
    )


RETIREMENT = _item(
    title="Deprecation: older GPT-4 snapshots to be retired",
    summary=(
        "OpenAI will shut down the gpt-4-0613 snapshot on 30 June 2026. "
        "Developers should migrate to the recommended replacement model before then."
    ),
    publisher="OpenAI",
    published="2025-12-01",
)
CONSULTATION = _item(
    title="ICO consults on generative AI and personal data",
    summary=(
        "The regulator asks how data protection law applies when developers train generative "
        "AI models on personal data scraped from the web. The consultation closes on "
        "15 March 2026."
    ),
    publisher="Information Commissioner's Office (ICO)",
    published="2026-01-20",
)


# ---- phrases -------------------------------------------------------------------------------


def test_phrases_match_across_case_hyphens_and_word_endings() -> None:
    phrases = PhraseSet(["end of life", "deprecat*", "AI Act"])

    assert phrases.find("End-of-life is set; the model was DEPRECATED under the AI Act") == [
        "end-of-life",
        "deprecated",
        "ai act",
    ]


def test_ai_in_a_phrase_also_matches_artificial_intelligence() -> None:
    phrases = PhraseSet(["leading AI companies", "AI * Act"])

    found = phrases.find(
        "Leading Artificial Intelligence Companies back the Responsible AI Governance Act"
    )

    assert found == ["leading artificial intelligence companies", "ai governance act"]
    assert PhraseSet(["AI * Act"]).find("the Colorado AI Consumer Act") == ["ai consumer act"]


def test_a_negated_phrase_does_not_count() -> None:
    phrases = PhraseSet(["AI"])

    assert phrases.find("These rules do not apply to AI systems") == []
    assert phrases.find("Rules for AI systems") == ["ai"]


def test_phrases_with_punctuation_or_wildcards_are_found_in_long_texts() -> None:
    phrases = PhraseSet(["Art. 50", "A.I. Act", "model card*", "AI * Act"])
    text = (
        "Several unrelated sentences come first. Providers must follow Art. 50 and publish "
        "model cards; the A.I. Act and the Colorado AI Consumer Act also apply."
    )

    assert phrases.find(text) == ["art. 50", "model cards", "a.i. act", "ai consumer act"]
    assert phrases.find("Nothing here concerns any of them.") == []


def test_an_exception_cancels_the_term_inside_it() -> None:
    phrases = PhraseSet(["Gemini"], exceptions=["Gemini Trust"])

    assert phrases.find("SEC settles with Gemini Trust Company") == []
    assert phrases.find("Google retires a Gemini model") == ["gemini"]


# ---- relevance -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        {
            "title": "ICO fines council £90,000 after residents' data went to the wrong people",
            "summary": "Staff sent a spreadsheet of personal details to hundreds of recipients.",
            "publisher": "Information Commissioner's Office (ICO)",
        },
        {
            "title": "FCA fines building society £5m for anti-money laundering failings",
            "summary": "The firm failed to monitor high-risk customers and transactions.",
            "publisher": "Financial Conduct Authority (FCA)",
        },
        {
            "title": "Amazon S3 storage prices change in three regions",
            "summary": "From next month, standard storage costs rise by 5% in those regions.",
            "publisher": "Amazon Web Services",
        },
    ],
)
def test_everyday_noise_from_the_same_publishers_is_not_relevant(
    classifier: Classifier, record: dict[str, str]
) -> None:
    explanation = classifier.explain([_item(**record)])[0]

    assert not explanation.tags.relevant
    assert explanation.tags.controls == [] and explanation.tags.themes == []
    assert explanation.reason.startswith("not relevant: relevance ")


def test_a_single_passing_mention_of_ai_does_not_make_an_item_relevant(
    classifier: Classifier,
) -> None:
    # (The example used to be a Commission proposal on cookie consent "alongside its AI
    # package": the labelled data counts that package, the digital omnibus, as relevant, and
    # the model trained on round 3's data scores it 0.28 against the threshold 0.21.)
    item = _item(
        title="CNIL fines online retailer €40 million over cookie consent",
        summary="The fine concerns advertising cookies set before visitors consented. The "
        "retailer, which also uses AI to recommend products, has three months to comply.",
        publisher="CNIL",
    )

    explanation = classifier.explain([item])[0]

    assert not explanation.tags.relevant
    assert explanation.reason.startswith("not relevant")
    assert explanation.relevance < explanation.threshold


def test_a_relevant_item_says_its_relevance_against_the_threshold_and_its_controls(
    classifier: Classifier,
) -> None:
    explanation = classifier.explain([CONSULTATION])[0]

    assert explanation.tags.relevant
    assert explanation.relevance >= explanation.threshold
    assert explanation.reason.startswith(
        f"relevant ({explanation.relevance:.2f} >= {explanation.threshold:.2f}): DATA-PRIVACY"
    )


def test_a_vendors_corporate_news_is_neither_a_vendor_change_nor_relevant(
    classifier: Classifier,
) -> None:
    item = _item(
        title="OpenAI opens a new office in Tokyo",
        summary="The company will hire local staff for sales and support.",
        publisher="OpenAI",
    )

    explanation = classifier.explain([item])[0]

    assert explanation.tags.type == "report"
    assert not explanation.tags.relevant
    assert explanation.ai_terms == ("openai",)


# ---- controls and evidence -----------------------------------------------------------------


def test_a_vendor_model_retirement_concerns_supplier_risk(classifier: Classifier) -> None:
    tags = classifier.classify([RETIREMENT])[0]

    assert tags.relevant
    assert "THIRD-PARTY" in tags.control_ids()
    assert tags.type == "vendor-change"
    assert tags.jurisdiction == "GLOBAL"
    assert tags.effective == date(2026, 6, 30)
    assert tags.deadline is None
    assert tags.themes == ["procurement"]


def test_a_regulators_consultation_on_training_ai_with_personal_data(
    classifier: Classifier,
) -> None:
    tags = classifier.classify([CONSULTATION])[0]

    assert tags.control_ids()[0] == "DATA-PRIVACY"
    assert tags.type == "consultation"
    assert tags.jurisdiction == "UK"
    assert tags.deadline == date(2026, 3, 15)
    assert "communication" in tags.themes


@pytest.mark.parametrize(
    ("record", "control"),
    [
        (
            {
                "title": "Guidance on AI literacy duties for deployers",
                "summary": "Staff who operate AI systems must receive training for their role.",
                "publisher": "European Commission (AI Office)",
            },
            "AI-LITERACY",
        ),
        (
            {
                "title": "Regulator publishes guidelines on banned AI practices",
                "summary": "The guidelines cover social scoring, emotion recognition in the "
                "workplace and untargeted scraping of facial images.",
                "publisher": "European Commission",
            },
            "PROHIBITED-PRACTICES",
        ),
        (
            {
                "title": "Copyright office report on training generative AI on copyrighted works",
                "summary": "The report considers licensing markets and fair use defences.",
                "publisher": "U.S. Copyright Office",
            },
            "IP-COPYRIGHT",
        ),
        (
            {
                "title": "FTC sues company over deceptive AI claims",
                "summary": "The company promised consumers its AI tool would earn them money.",
                "publisher": "Federal Trade Commission",
            },
            "CONSUMER-PROTECTION",
        ),
        (
            {
                "title": "Joint guidance on securing AI systems against prompt injection",
                "summary": "Cyber security agencies describe defences for deployed AI models.",
                "publisher": "National Cyber Security Centre",
            },
            "SECURITY-ROBUSTNESS",
        ),
    ],
)
def test_each_control_is_recognised_from_its_own_vocabulary(
    classifier: Classifier, record: dict[str, str], control: str
) -> None:
    assert control in classifier.classify([_item(**record)])[0].control_ids()


def test_every_tag_carries_a_probability_and_a_sentence_of_the_item_as_evidence(
    classifier: Classifier,
) -> None:
    items = [RETIREMENT, CONSULTATION]
    for item, tags in zip(items, classifier.classify(items), strict=True):
        sentences = [item.title, *(s.strip() for s in item.summary.split(". "))]
        for control in tags.controls:
            assert 0.0 < control.score <= 1.0
            assert any(control.evidence.rstrip(".") == s.rstrip(".") for s in sentences)


def test_the_evidence_is_the_sentence_that_names_the_control(classifier: Classifier) -> None:
    item = _item(
        title="Government publishes its AI plan for the film and music sectors",
        summary=(
            "The plan covers skills and export support for film and music. "
            "It also proposes new rules on copyright when AI models are trained on creative "
            "works, with an opt-out for rightsholders."
        ),
        publisher="Department for Culture, Media and Sport",
    )

    tags = classifier.classify([item])[0]

    ip = next(control for control in tags.controls if control.id == "IP-COPYRIGHT")
    assert ip.evidence.startswith("It also proposes new rules on copyright")


# ---- type, jurisdiction, dates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "place"),
    [
        (
            {
                "title": "Guide on processing personal information in generative AI services",
                "summary": "The commission sets out how developers and operators of generative "
                "AI services should collect training data, handle requests from data subjects "
                "and assess privacy risks before launch.",
                "publisher": "Personal Information Protection Commission",
                "url": "https://www.pipc.go.kr/np/cop/bbs/selectBoardArticle.do?nttId=1",
            },
            "KR",
        ),
        (
            {
                "title": "Draft national standard on labelling AI-generated content open for "
                "comment",
                "summary": "The technical committee invites comments on a draft standard setting "
                "out explicit and implicit labels for synthetic text, images, audio and video.",
                "publisher": "National Cybersecurity Standardization Technical Committee",
                "url": "https://www.tc260.org.cn/front/postDetail.html?id=1",
            },
            "CN",
        ),
        (
            {
                "title": "G7 digital ministers' statement on AI for the public sector",
                "summary": "Ministers agreed to share practices on trustworthy AI in public "
                "administration and to report on progress next year.",
                "publisher": "Ministry of Foreign Affairs",
                "url": "https://www.mofa.go.jp/ecm/ec/page1e_000001.html",
            },
            "INT",
        ),
        (
            {
                "title": "City court suspends the facial recognition system of the police",
                "summary": "The court found the system was deployed without the parliamentary "
                "oversight the law requires and ordered it suspended.",
                "publisher": "Poder Judicial de la Ciudad",
                "url": "https://www.consejo.jusbaires.gob.ar/noticias/1",
            },
            "AR",
        ),
    ],
)
def test_a_national_body_of_another_country_on_its_own_domain_is_that_country(
    classifier: Classifier, record: dict[str, str], place: str
) -> None:
    """The publishers name no country; the address's domain does, unless the item marks an
    international gathering."""
    assert classifier.classify([_item(**record)])[0].jurisdiction == place


@pytest.mark.parametrize(
    ("record", "kind", "place"),
    [
        (
            {
                "title": "California's SB 53 and frontier AI transparency",
                "summary": "The OECD AI Policy Observatory summarises California's new law "
                "requiring large frontier model developers to publish safety frameworks and "
                "report critical safety incidents to the state.",
                "publisher": "OECD.AI Policy Observatory",
            },
            None,
            "US",
        ),
        (
            {
                "title": "Guidance for firms on using AI foundation models fairly",
                "summary": "The note sets out what businesses should do to comply with "
                "consumer law when they deploy foundation models, with examples.",
                "publisher": "Competition and Markets Authority",
            },
            "guidance",
            "UK",
        ),
    ],
)
def test_type_and_jurisdiction_come_from_the_content_not_only_the_publisher(
    classifier: Classifier, record: dict[str, str], kind: str | None, place: str | None
) -> None:
    tags = classifier.classify([_item(**record)])[0]

    if kind is not None:
        assert tags.type == kind
    if place is not None:
        assert tags.jurisdiction == place


@pytest.mark.parametrize(
    ("title", "summary", "publisher", "expected"),
    [
        ("Artificial Intelligence Act enters into force", "", "European Union", "legislation"),
        ("Governor signs SB 1234 on AI disclosures", "", "Governor of California", "legislation"),
        (
            "Call for evidence on AI and copyright",
            "",
            "Intellectual Property Office",
            "consultation",
        ),
        ("Request for information on AI safety evaluations", "", "NIST", "consultation"),
        ("ICO reprimands a company for its use of facial recognition", "", "ICO", "enforcement"),
        ("Guidelines on the definition of an AI system", "", "European Commission", "guidance"),
        ("ISO/IEC 42001 published", "", "ISO", "standard"),
        ("Claude 2 models retired", "", "Anthropic", "vendor-change"),
        ("Speech on AI at the annual conference", "", "Bank of England", "report"),
    ],
)
def test_item_type_comes_from_the_publisher_and_cue_phrases(
    title: str, summary: str, publisher: str, expected: str
) -> None:
    assert item_type_of(_item(title=title, summary=summary, publisher=publisher)) == expected


@pytest.mark.parametrize(
    ("publisher", "title", "expected"),
    [
        ("Information Commissioner's Office (ICO)", "AI guidance", "UK"),
        ("European Data Protection Board (EDPB)", "AI opinion", "EU"),
        ("Council of Europe", "AI convention", "INT"),
        ("Federal Trade Commission (FTC)", "AI rule", "US"),
        ("Colorado General Assembly / Governor of Colorado", "AI Act delay", "US"),
        ("Garante per la protezione dei dati personali (Italy)", "AI order", "IT"),
        ("Cyberspace Administration of China", "Generative AI measures", "CN"),
        ("UK Government and Republic of Korea (AI Seoul Summit)", "Commitments", "INT"),
        ("Anthropic", "Model retired", "GLOBAL"),
        ("", "EU AI Act: Commission publishes GPAI guidelines", "EU"),
        ("", "A new AI model", "GLOBAL"),
    ],
)
def test_jurisdiction_comes_from_what_the_publisher_is(
    publisher: str, title: str, expected: str
) -> None:
    assert jurisdiction_of(_item(title=title, publisher=publisher)) == expected


def test_a_sources_jurisdiction_wins_unless_the_source_only_reports_on_others() -> None:
    regulator = _sourced_item(
        "AI in financial services", "The EU AI Act applies.", "UK", "regulator"
    )
    secondary = _sourced_item(
        "AI Act news", "The EU AI Act applies from August.", "GLOBAL", "secondary"
    )
    summit = _sourced_item("AI Summit declaration", "Countries agree.", "UK", "government")

    assert jurisdiction_of(regulator) == "UK"
    assert jurisdiction_of(secondary) == "EU"
    assert jurisdiction_of(summit) == "INT"


def test_dates_the_publisher_gave_in_its_api_win_over_the_text(classifier: Classifier) -> None:
    item = CONSULTATION.model_copy(
        update={"deadline_hint": date(2026, 3, 31), "effective_hint": date(2027, 1, 1)}
    )

    tags = classifier.classify([item])[0]

    assert (tags.deadline, tags.effective) == (date(2026, 3, 31), date(2027, 1, 1))


# ---- interface -----------------------------------------------------------------------------


def test_classify_output_is_the_taxonomy_json_object(classifier: Classifier) -> None:
    tags = classifier.classify([RETIREMENT])[0]

    output = classify_output("x1", tags)

    assert list(output) == [
        "id",
        "relevant",
        "controls",
        "themes",
        "type",
        "jurisdiction",
        "deadline",
        "effective",
    ]
    assert output["id"] == "x1" and output["relevant"] is True
    assert output["effective"] == "2026-06-30" and output["deadline"] is None
    [control] = json.loads(json.dumps(output))["controls"]
    assert set(control) == {"id", "score", "evidence"}
    assert control["id"] == "THIRD-PARTY"
    assert control["score"] == round(control["score"], 3)


class CountingEmbedder:
    """The hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self._inner = HashingEmbedder()
        self.name = self._inner.name
        self.dimensions = self._inner.dimensions
        self.texts = 0

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        self.texts += len(texts)
        return self._inner.embed(texts, on_progress)


def test_vectors_the_caller_already_has_are_used_not_recomputed(catalogue: Catalogue) -> None:
    embedder = CountingEmbedder()
    tagger = Classifier(catalogue, embedder)
    after_start = embedder.texts
    items = [RETIREMENT, CONSULTATION]

    given = tagger.classify(items, HashingEmbedder().embed([item.text() for item in items]))

    assert embedder.texts == after_start
    assert given == tagger.classify(items)
    assert embedder.texts == after_start + 2
    with pytest.raises(ValueError, match="one row per item"):
        tagger.classify(items, np.zeros((1, embedder.dimensions), dtype=np.float32))


def test_no_items_give_no_tags(classifier: Classifier) -> None:
    assert classifier.classify([]) == []


# ---- analyst feedback ----------------------------------------------------------------------

INVENTORY = _item(
    title="Acme Bank publishes the inventory of its AI credit models",
    summary="The bank listed every machine learning model it uses in lending decisions, with the "
    "date each was last validated.",
    publisher="Acme Bank",
)
INVENTORY_REWORDED = _item(
    title="Acme Bank releases a list of the AI models used in its lending",
    summary="Every machine learning model the bank relies on for credit decisions is listed, "
    "together with when it was last validated.",
    publisher="Acme Bank",
)
HIRING = _item(
    title="Regulator consults on AI in recruitment",
    summary="The regulator seeks views on how employers should audit AI hiring tools for bias.",
    publisher="Equality and Human Rights Commission",
)
HIRING_REWORDED = _item(
    title="Regulator consults on the use of AI in recruitment",
    summary="The regulator is seeking views on how employers should audit AI tools used in hiring "
    "for bias.",
    publisher="Equality and Human Rights Commission",
)


def test_a_confirmed_tag_is_given_to_a_similar_item(classifier: Classifier) -> None:
    assert "RECORDS-DOCS" not in classifier.classify([INVENTORY_REWORDED])[0].control_ids()
    confirmed = Feedback(text=INVENTORY.text(), control="RECORDS-DOCS", confirmed=True)

    learned = classifier.with_feedback([confirmed])

    tags = learned.classify([INVENTORY_REWORDED])[0]
    assert tags.relevant and "RECORDS-DOCS" in tags.control_ids()
    assert learned.classify([CONSULTATION]) == classifier.classify([CONSULTATION])


def test_a_rejected_tag_is_withheld_from_a_similar_item(classifier: Classifier) -> None:
    assert "FAIRNESS" in classifier.classify([HIRING_REWORDED])[0].control_ids()
    embedding = default_embedder().embed([HIRING.text()])[0]
    rejected = Feedback(HIRING.text(), "FAIRNESS", confirmed=False, embedding=embedding)

    learned = classifier.with_feedback([rejected])

    explanation = learned.explain([HIRING_REWORDED])[0]
    assert "FAIRNESS" not in explanation.tags.control_ids()
    fairness = next(score for score in explanation.scores if score.id == "FAIRNESS")
    assert fairness.feedback_vote < 0


def test_feedback_on_a_control_the_catalogue_does_not_have_is_ignored(
    classifier: Classifier,
) -> None:
    unknown = Feedback(text=HIRING.text(), control="NOT-A-CONTROL", confirmed=True)

    learned = classifier.with_feedback([unknown])

    assert learned.classify([HIRING_REWORDED]) == classifier.classify([HIRING_REWORDED])


def test_feedback_given_at_construction_equals_feedback_added_later(catalogue: Catalogue) -> None:
    feedback = [
        Feedback(INVENTORY.text(), "RECORDS-DOCS", confirmed=True),
        Feedback(HIRING.text(), "FAIRNESS", confirmed=False),
    ]
    items = [INVENTORY, HIRING_REWORDED, RETIREMENT]

    built = Classifier(catalogue, HashingEmbedder(), feedback)
    added = Classifier(catalogue, HashingEmbedder()).with_feedback(feedback)

    assert built.classify(items) == added.classify(items)
    assert built.classify(items) != Classifier(catalogue, HashingEmbedder()).classify(items)


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        (
            "Tech Secretary: priorities for AI and the AI Act",
            "https://www.gov.uk/government/speeches/tech-secretary-priorities",
            "report",
        ),
        (
            "AI assurance: have your say",
            "https://www.gov.uk/government/consultations/ai-assurance",
            "consultation",
        ),
        (
            "v1.102.0",
            "https://github.com/openai/openai-python/releases/tag/v1.102.0",
            "vendor-change",
        ),
        ("The EU AI Act Newsletter #86", "https://artificialintelligenceact.eu/n-86", "report"),
    ],
)
def test_where_a_publisher_files_a_page_and_newsletters_decide_the_type(
    title: str, url: str, expected: str
) -> None:
    assert item_type_of(item_from_record({"title": title, "url": url})) == expected


def test_colombias_domain_is_not_read_as_a_country_since_most_co_sites_are_generic() -> None:
    from horizon.tagging.rules import host_jurisdiction

    assert host_jurisdiction("https://www.consejo.jusbaires.gob.ar/x") == "AR"
    assert host_jurisdiction("https://www.ict.go.ke/x") == "KE"
    assert host_jurisdiction("https://example.co/news") is None
