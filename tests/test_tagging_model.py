"""The learned tagger: training on a small set, recall-first thresholds, calibrated control
decisions, the stored artefact, and retraining from analysts' verdicts."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import cycle
from pathlib import Path

import numpy as np
import pytest

from evaluation.common import LABELLED, is_frozen_test
from horizon.catalogue import Catalogue
from horizon.classify import Classifier, packaged_model
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import HashingEmbedder
from horizon.item import THEMES
from horizon.normalise import item_from_record
from horizon.tagging.calibration import (
    best_control_threshold,
    class_biases,
    recall_first_threshold,
)
from horizon.tagging.decision import resolve_jurisdiction
from horizon.tagging.examples import Example, Targets, data_hash, example_from_record, featurise
from horizon.tagging.features import GROUPS, FeatureBuilder, Reading
from horizon.tagging.heads import HEADS, THEME_THRESHOLD, Choice, fit_theme_heads, scaler
from horizon.tagging.model import PACKAGED, ModelError, SparseRows, TaggerModel, load_model
from horizon.tagging.rules import host_jurisdiction, publisher_jurisdiction, text_jurisdiction
from horizon.tagging.training import (
    Verdict,
    choose,
    decide,
    folds,
    folds_by_publisher,
    grouped_folds,
    out_of_fold,
    retrain_with_feedback,
    train,
)

PUBLISHERS = cycle(["ICO", "European Commission", "FTC", "Ofcom", "CNIL", "NIST"])
TOPICS = {
    "DATA-PRIVACY": [
        "personal data used to train the AI model needs a lawful basis under data protection law",
        "the regulator examined how the chatbot processed personal data of its users",
        "data protection impact of machine learning on customer records and consent",
    ],
    "TRANSPARENCY": [
        "AI-generated images must carry a visible label so people know they are synthetic",
        "deepfake videos and chatbots must disclose to users that they are talking to AI",
        "providers must explain automated decisions and disclose the use of AI to customers",
    ],
    "SECURITY-ROBUSTNESS": [
        "red-teaming of the AI model found prompt injection and adversarial attack weaknesses",
        "AI cyber security guidance on model robustness, poisoning and adversarial inputs",
        "the safety evaluation tested the AI system against jailbreaks and prompt injection",
    ],
}
NOISE = [
    "the bank was fined for anti-money laundering failings in its transaction monitoring",
    "storage prices rise by five per cent in three regions from next month",
    "the council sent a spreadsheet of residents' details to the wrong recipients",
    "the regulator published its annual report on complaints about broadband speeds",
]


def _record(index: int, title: str, summary: str, labels: dict[str, object]) -> dict[str, object]:
    return {
        "id": f"t{index:03d}",
        "title": title,
        "summary": summary,
        "publisher": next(PUBLISHERS),
        "labels": labels,
    }


def tiny_records() -> list[dict[str, object]]:
    """Forty-eight labelled items: three controls in varied words, and noise."""
    records: list[dict[str, object]] = []
    for round_ in range(4):
        for control, sentences in TOPICS.items():
            for number, sentence in enumerate(sentences):
                records.append(
                    _record(
                        len(records),
                        f"Update {round_}.{number} from the regulator",
                        f"{sentence.capitalize()}. Firms should act before year end.",
                        {
                            "relevant": True,
                            "controls": [control],
                            "type": "guidance",
                            "jurisdiction": "UK",
                        },
                    )
                )
        for number, sentence in enumerate(NOISE):
            records.append(
                _record(
                    len(records),
                    f"Update {round_}.{number} from the regulator",
                    f"{sentence.capitalize()}.",
                    {
                        "relevant": False,
                        "controls": [],
                        "type": "enforcement",
                        "jurisdiction": "UK",
                    },
                )
            )
    return records


ONE_CHOICE = dict.fromkeys(("relevance", "controls", "type", "jurisdiction"), Choice("all", 0.5))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([PROJECT_ROOT / "controls.yaml"])


@pytest.fixture(scope="module")
def trained(catalogue: Catalogue) -> tuple[TaggerModel, Classifier]:
    embedder = HashingEmbedder()
    examples = [example_from_record(record) for record in tiny_records()]
    builder = FeatureBuilder(catalogue, embedder, catalogue.control_ids())
    data = featurise(examples, embedder.embed([e.item.text() for e in examples]), builder)
    model = train(data, ONE_CHOICE, folds(examples), {"data_sha256": "test"})
    return model, Classifier(catalogue, embedder, model=model)


def test_a_model_trained_on_a_tiny_set_tags_new_wording_with_the_right_control(
    trained: tuple[TaggerModel, Classifier],
) -> None:
    _, classifier = trained
    unseen = item_from_record(
        {
            "title": "Guidance on labelling synthetic media",
            "summary": "Deepfake images made with AI must carry a label that tells people "
            "they are AI-generated.",
            "publisher": "Ofcom",
        }
    )
    noise = item_from_record(
        {"title": "Bank fined", "summary": "Anti-money laundering failings were found."}
    )

    tagged, not_relevant = classifier.classify([unseen, noise])

    assert tagged.relevant and "TRANSPARENCY" in tagged.control_ids()
    [transparency] = [tag for tag in tagged.controls if tag.id == "TRANSPARENCY"]
    assert transparency.evidence.startswith("Deepfake images")
    assert not not_relevant.relevant and not_relevant.controls == []


def test_the_relevance_threshold_is_the_highest_that_keeps_recall_at_097() -> None:
    probabilities = np.array([0.9] * 60 + [0.3, 0.2] + [0.1] * 38 + [0.15] * 10)
    relevant = np.array([1] * 62 + [0] * 38 + [0] * 10)

    threshold = recall_first_threshold(probabilities, relevant)

    said = probabilities >= threshold
    assert said[relevant == 1].mean() >= 0.97
    assert threshold == 0.3  # one miss of 62 is allowed; a higher threshold would miss two


def test_a_relevant_item_gets_every_likely_control_or_else_its_likeliest() -> None:
    types, places = np.eye(7)[0], np.eye(6)[0]

    several = decide(0.8, np.array([0.7, 0.2, 0.55]), types, places, threshold=0.5)
    unsure = decide(0.8, np.array([0.3, 0.45, 0.1]), types, places, threshold=0.5)
    not_relevant = decide(0.4, np.array([0.9, 0.9, 0.9]), types, places, threshold=0.5)

    assert [index for index, _ in several.controls] == [0, 2]
    assert unsure.relevant and [index for index, _ in unsure.controls] == [1]
    assert not not_relevant.relevant and not_relevant.controls == []


def test_a_lower_control_threshold_tags_controls_below_one_half() -> None:
    types, places = np.eye(7)[0], np.eye(6)[0]

    tagged = decide(0.8, np.array([0.7, 0.4, 0.3]), types, places, 0.5, control_threshold=0.35)

    assert [index for index, _ in tagged.controls] == [0, 1]


def test_the_control_threshold_is_the_one_with_the_best_micro_f1() -> None:
    # Half the positives score between 0.3 and 0.45; every negative scores 0.22 or less.
    probabilities = np.array([[0.9, 0.1], [0.45, 0.2], [0.3, 0.35], [0.1, 0.6], [0.2, 0.22]])
    gold = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 0]])

    threshold = best_control_threshold(probabilities, gold)

    assert threshold == 0.225  # the lowest threshold that tags every positive and no negative


def test_type_biases_undo_a_head_s_pull_towards_one_class() -> None:
    # A head that adds 1.5 to class 0 (as the type head leans to `report`): items of classes
    # 1 and 2 whose own logit is only a little ahead are read as class 0.
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3)) + 2.0 * np.eye(3)[classes]
    logits[:, 0] += 1.5
    before = (logits.argmax(axis=1) == classes).mean()

    bias = class_biases(logits, classes)

    assert abs(float(bias.sum())) < 1e-5  # centred: the softmax ignores a common shift
    assert -1.9 < bias[0] - (bias[1] + bias[2]) / 2 < -1.1  # the pull, taken back
    assert ((logits + bias).argmax(axis=1) == classes).mean() > before + 0.05


def test_the_host_of_an_address_names_its_jurisdiction() -> None:
    assert host_jurisdiction("https://www.gov.uk/guidance/x") == "UK"
    assert host_jurisdiction("https://ico.org.uk/for-organisations/") == "UK"
    assert host_jurisdiction("https://eur-lex.europa.eu/eli/reg/2024/1689") == "EU"
    assert host_jurisdiction("https://www.ftc.gov/news") == "US"
    assert host_jurisdiction("https://www.industry.gov.au/ai") == "AU"
    assert host_jurisdiction("https://www.cnil.fr/fr/ia") == "FR"
    assert host_jurisdiction("https://www.oecd.org/ai") is None
    assert host_jurisdiction("https://openai.com/index/x") is None
    assert host_jurisdiction(None) is None


def _reading(record: dict[str, str]) -> Reading:
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    builder = FeatureBuilder(catalogue, HashingEmbedder(), catalogue.control_ids())
    return builder.read(item_from_record(record))


def test_an_int_or_unnamed_country_on_another_country_s_domain_resolves_to_that_country() -> None:
    reading = _reading(
        {
            "title": "Basic requirements for AI services",
            "summary": "The committee publishes requirements for service providers.",
            "publisher": "National Standardization Technical Committee",
            "url": "https://www.example.cn/requirements",
        }
    )

    assert reading.national_host == "CN"
    assert resolve_jurisdiction("INT", reading) == "CN"
    assert resolve_jurisdiction("OTHER", reading) == "CN"
    assert resolve_jurisdiction("EU", reading) == "EU"


@pytest.mark.parametrize(
    ("publisher", "title", "subject"),
    [
        ("OECD.AI Policy Observatory", "California's SB 53 and frontier AI transparency", "US"),
        ("International Association of Privacy Professionals", "Korea passes AI Basic Act", "KR"),
        ("Tech Policy Press", "What the UK's AI bill would change", "UK"),  # names no place
        ("OECD", "AI rules in the UK and the US compared", None),  # two places
        ("OECD", "G7 ministers agree a code for AI developers", None),  # a gathering
        ("ETSI", "ETSI publishes a report on securing AI", None),  # a publisher with a place
    ],
)
def test_an_international_or_unplaced_publisher_s_item_is_about_the_place_its_title_names(
    publisher: str, title: str, subject: str | None
) -> None:
    reading = _reading({"title": title, "publisher": publisher})

    assert reading.subject_jurisdiction == subject
    assert resolve_jurisdiction("INT", reading) == (subject or "INT")


@pytest.mark.parametrize(
    ("publisher", "title", "url"),
    [
        ("SAP", "SAP updates its AI terms", "https://news.sap.de/ai-terms"),  # a vendor
        ("Ministry of Foreign Affairs", "G7 leaders' statement on AI", "https://www.mofa.go.jp/a"),
        ("DSIT", "AI assurance guidance", "https://www.gov.uk/guidance/ai"),  # a known class
        ("OECD", "AI incidents monitor update", "https://oecd.ai/en/incidents"),  # no country
    ],
)
def test_no_national_host_for_vendors_international_marks_or_known_jurisdictions(
    publisher: str, title: str, url: str
) -> None:
    reading = _reading({"title": title, "publisher": publisher, "url": url})

    assert reading.national_host is None


def test_singapore_s_personal_data_protection_commission_is_not_ireland_s() -> None:
    assert publisher_jurisdiction("Personal Data Protection Commission (PDPC) Singapore") == "SG"
    assert publisher_jurisdiction("Data Protection Commission") == "IE"
    assert publisher_jurisdiction("Hellenic Data Protection Authority") == "GR"


def test_the_us_bureau_of_industry_and_security_is_not_the_bank_for_international_settlements() -> (
    None
):
    commerce = "Bureau of Industry and Security (BIS), U.S. Department of Commerce"
    assert publisher_jurisdiction(commerce) == "US"
    assert publisher_jurisdiction("Bank for International Settlements") == "INT"
    assert publisher_jurisdiction("World Intellectual Property Organization (WIPO)") == "INT"
    assert text_jurisdiction("BS 30440:2023 Validation framework for AI in healthcare") == "UK"


def test_folds_are_fixed_disjoint_and_cover_every_example() -> None:
    examples = [example_from_record(record) for record in tiny_records()]

    first, second = folds(examples), folds(examples)

    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert sorted(np.concatenate(first).tolist()) == list(range(len(examples)))
    assert all(sum(examples[i].relevant for i in rows) >= 2 for rows in first)


def test_folds_by_publisher_keep_each_publisher_in_one_fold_and_cover_every_example() -> None:
    examples = [example_from_record(record) for record in tiny_records()]

    fold_rows = folds_by_publisher(examples)

    assert sorted(np.concatenate(fold_rows).tolist()) == list(range(len(examples)))
    folds_of: dict[str, set[int]] = {}
    for number, rows in enumerate(fold_rows):
        for row in rows:
            folds_of.setdefault(examples[row].item.publisher.lower(), set()).add(number)
    assert len(folds_of) >= len(fold_rows) and all(len(f) == 1 for f in folds_of.values())


def test_the_frozen_test_split_is_fixed_and_about_one_in_five() -> None:
    ids = [f"h{n:04d}" for n in range(4000)]

    frozen = [is_frozen_test(item_id) for item_id in ids]

    assert frozen == [is_frozen_test(item_id) for item_id in ids]
    assert 0.18 < sum(frozen) / len(ids) < 0.22


def test_training_rows_kept_sparse_give_back_the_same_matrix() -> None:
    """Rows with no nonzero value (first, middle, last) and one dense row all come back."""
    generator = np.random.default_rng(7)
    matrix = np.where(generator.random((6, 40)) < 0.1, generator.normal(size=(6, 40)), 0.0)
    matrix[[0, 3, 5]] = 0.0
    matrix[2] = generator.normal(size=40)
    matrix = matrix.astype(np.float32)
    sparse = SparseRows.of(matrix)
    assert sparse.shape == (6, 40) and len(sparse.data) == np.count_nonzero(matrix)
    np.testing.assert_array_equal(sparse.dense(), matrix)


def test_a_saved_model_loads_identically_and_a_changed_file_is_refused(
    trained: tuple[TaggerModel, Classifier], tmp_path: Path
) -> None:
    model, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)

    loaded = load_model(path)
    assert loaded.control_threshold == model.control_threshold
    features = model.rows.features.dense()[:5]
    np.testing.assert_array_equal(
        loaded.rows.features.dense(), model.rows.features.dense().astype(np.float16)
    )
    np.testing.assert_allclose(
        loaded.predict(features).controls, model.predict(features).controls, atol=1e-3
    )
    assert loaded.metadata["data_sha256"] == "test"
    assert (loaded.themes, loaded.theme_threshold) == (model.themes, model.theme_threshold)
    np.testing.assert_array_equal(loaded.heads.theme_w, model.heads.theme_w)
    assert loaded.learned_themes(loaded.predict(features)) == model.learned_themes(
        model.predict(features)
    )
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelError, match="does not match"):
        load_model(path)
    with pytest.raises(ModelError, match="run `make train`"):
        load_model(tmp_path / "absent.npz")


def test_retraining_with_analyst_verdicts_changes_the_verdict_on_that_item(
    trained: tuple[TaggerModel, Classifier],
) -> None:
    model, classifier = trained
    item = item_from_record(
        {
            "title": "Regulator on AI inventories",
            "summary": "Firms must keep an inventory of AI models used with personal data.",
            "publisher": "ICO",
        }
    )
    before = classifier.classify([item])[0].control_ids()
    assert "DATA-PRIVACY" in before and "SECURITY-ROBUSTNESS" not in before
    vector = classifier.embedder.embed([item.text()])
    row = classifier.features.matrix([item], vector, [classifier.features.read(item)])[0]

    retrained = retrain_with_feedback(
        model,
        [Verdict(row, "DATA-PRIVACY", confirmed=False), Verdict(row, "SECURITY-ROBUSTNESS", True)],
    )

    after = Classifier(classifier.catalogue, classifier.embedder, model=retrained)
    tags = after.classify([item])[0].control_ids()
    assert "DATA-PRIVACY" not in tags and "SECURITY-ROBUSTNESS" in tags
    assert retrained.relevance_threshold == model.relevance_threshold


def test_the_packaged_model_loads_and_was_trained_on_the_labelled_items_it_names() -> None:
    model = packaged_model()
    assert load_model(PACKAGED).metadata["weights_sha256"] == model.metadata["weights_sha256"]
    assert set(model.controls) == set(
        load_catalogue([PROJECT_ROOT / "controls.yaml"]).control_ids()
    )
    if not LABELLED.is_file():
        pytest.skip(f"{LABELLED} is not in this checkout")
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line]
    assert model.metadata["data_sha256"] == data_hash(
        [row for row in rows if not is_frozen_test(row["id"])]
    )


def test_theme_heads_learn_from_the_relevant_items_alone() -> None:
    """A theme is labelled on relevant items only, so the labels of the others must not
    shape its head (here they say the opposite)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 6)).astype(np.float32)
    relevant = np.arange(120) < 80
    delivery = THEMES.index("delivery")
    themes = np.zeros((120, len(THEMES)), dtype=np.int8)
    themes[:80, delivery] = features[:80, 0] > 0
    themes[80:, delivery] = features[80:, 0] < 0
    targets = Targets(
        relevant=relevant.astype(np.int8),
        controls=np.zeros((120, 1), dtype=np.int8),
        types=np.zeros(120, dtype=np.int16),
        jurisdictions=np.zeros(120, dtype=np.int16),
        themes=themes,
    )
    groups = {"embedding": (0, 6)} | {g: (6, 6) for g in GROUPS if g != "embedding"}
    mean, scale = scaler(features)

    weights, bias = fit_theme_heads(features, mean, scale, targets, groups, Choice("all", 1.0))

    assert weights.shape == (len(THEMES), 6) and bias.shape == (len(THEMES),)
    assert weights[delivery, 0] > 0 and abs(weights[delivery, 0]) > abs(weights[delivery, 1:]).max()
    others = [row for row in range(len(THEMES)) if row != delivery]
    assert not weights[others].any()  # a theme no relevant item carries: a constant head


def test_the_model_adds_each_theme_its_head_gives_at_the_threshold(
    trained: tuple[TaggerModel, Classifier],
) -> None:
    model, _ = trained
    features = model.rows.features.dense()[:3]

    assert model.themes == THEMES and model.theme_threshold == THEME_THRESHOLD
    predictions = model.predict(features)
    assert replace(model, theme_threshold=0.0).learned_themes(predictions) == [list(THEMES)] * 3
    assert replace(model, theme_threshold=1.01).learned_themes(predictions) == [[], [], []]


def test_an_example_keeps_its_labels() -> None:
    example = example_from_record(tiny_records()[0])
    assert isinstance(example, Example)
    assert example.relevant and example.controls == frozenset({"DATA-PRIVACY"})


def test_a_binary_head_with_more_columns_than_rows_fits_as_the_primal_form_would() -> None:
    """The dual form on the rows' Cholesky factor is only a faster route to the same
    L2-regularised fit, repeated rows included."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from horizon.tagging.heads import Design, fit_binary

    generator = np.random.default_rng(0)
    scaled = generator.normal(size=(60, 300))
    scaled[30] = scaled[29]
    target = (scaled[:, 0] + 0.5 * generator.normal(size=60) > 0).astype(int)
    design = Design(scaled)
    assert design.matrix.shape == (60, 60)
    weights, bias = fit_binary(design, target, 0.1)
    primal = LogisticRegression(
        C=0.1, solver="liblinear", class_weight="balanced", tol=1e-8, dual=False
    ).fit(scaled, target)
    assert np.allclose(weights, primal.coef_[0], atol=2e-3)
    assert abs(bias - primal.intercept_[0]) < 2e-3


def test_a_multinomial_head_with_more_columns_than_rows_fits_as_on_the_columns_themselves() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from horizon.tagging.heads import Design, fit_multiclass

    generator = np.random.default_rng(1)
    scaled = generator.normal(size=(80, 400))
    target = np.argmax(scaled[:, :3] + 0.3 * generator.normal(size=(80, 3)), axis=1)
    weights, bias = fit_multiclass(Design(scaled), target, 4, 0.1)
    direct = LogisticRegression(C=0.1, max_iter=5000, tol=1e-10).fit(scaled, target)
    assert np.allclose(weights[:3], direct.coef_, atol=1e-3)
    # the head's own tolerance (1e-4) stops lbfgs a little earlier on the unpenalised bias
    assert np.allclose(bias[:3], direct.intercept_, atol=2e-2)
    assert bias[3] == -30.0  # a class absent from the target stays unchosen


def test_grouped_folds_keep_each_writer_s_items_in_one_fold_and_cover_every_example() -> None:
    examples = [example_from_record(record) for record in tiny_records()]
    writers = [f"writer-{row % 7}" for row in range(len(examples))]

    fold_rows = grouped_folds(examples, writers)

    assert sorted(np.concatenate(fold_rows).tolist()) == list(range(len(examples)))
    folds_of: dict[str, set[int]] = {}
    for number, rows in enumerate(fold_rows):
        for row in rows:
            folds_of.setdefault(writers[row], set()).add(number)
    assert len(folds_of) == 7 and all(len(f) == 1 for f in folds_of.values())
    assert all(len(rows) > 0 for rows in fold_rows)


def test_the_chosen_heads_out_of_fold_scores_are_those_their_own_choices_give(
    catalogue: Catalogue,
) -> None:
    embedder = HashingEmbedder()
    examples = [example_from_record(record) for record in tiny_records()]
    builder = FeatureBuilder(catalogue, embedder, catalogue.control_ids())
    data = featurise(examples, embedder.embed([e.item.text() for e in examples]), builder)
    fold_rows = folds(examples)
    candidates = [Choice("rules-only", 1.0), Choice("all", 0.01), Choice("all", 1.0)]

    chosen = choose(data, fold_rows, candidates)

    again = out_of_fold(data, chosen.choices, fold_rows)
    for head in HEADS:
        np.testing.assert_allclose(chosen.out_of_fold[head], again[head])
    assert {head: len(scores) for head, scores in chosen.table.items()} == dict.fromkeys(HEADS, 3)
