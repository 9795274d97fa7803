"""The `words` feature group: a TF-IDF vocabulary learned from the training items only, the
same weights as scikit-learn's, and stored with the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from horizon.catalogue import Catalogue
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import HashingEmbedder
from horizon.normalise import item_from_record
from horizon.tagging.examples import example_from_record, featurise, with_words
from horizon.tagging.features import FeatureBuilder
from horizon.tagging.heads import Choice
from horizon.tagging.model import load_model
from horizon.tagging.training import folds, train
from horizon.tagging.words import WordVocabulary, terms_of

TEXTS = [
    "Guidance on AI transparency. The regulator publishes guidance for deployers.",
    "Consultation: call for evidence on AI assurance. Responses are due in March.",
    "Regulator fines a firm over facial recognition. The fine follows an investigation.",
    "Guidance on facial recognition in shops. Deployers must tell people.",
    "Call for evidence on AI and copyright. The consultation closes in April.",
]


def test_word_weights_are_those_of_scikit_learns_tfidf_with_word_pairs() -> None:
    vocabulary = WordVocabulary.fit(TEXTS)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(TEXTS)

    assert list(vocabulary.terms) == list(reference.get_feature_names_out())
    unseen = [*TEXTS, "New guidance: a call for evidence on facial recognition fines."]
    np.testing.assert_allclose(
        vocabulary.matrix(unseen), reference.transform(unseen).toarray(), atol=1e-6
    )


def test_the_vocabulary_keeps_only_terms_of_at_least_two_texts() -> None:
    vocabulary = WordVocabulary.fit(TEXTS)

    assert "call for" in vocabulary.terms and "facial recognition" in vocabulary.terms
    assert "copyright" not in vocabulary.terms
    assert terms_of("Fines, fines!")["fines"] == 2
    assert not vocabulary.matrix(["nothing known here zzz"]).any()


def _records() -> list[dict[str, object]]:
    records = []
    for index in range(30):
        guidance = index % 2 == 0
        records.append(
            {
                "id": f"w{index}",
                "title": ("Guidance on " if guidance else "Regulator fines firm over ")
                + f"AI system {index}",
                "summary": "Deployers of AI must tell people about automated decisions."
                if guidance
                else "The penalty follows an investigation into the AI system's data use.",
                "publisher": "ICO",
                "labels": {
                    "relevant": True,
                    "controls": ["TRANSPARENCY"] if guidance else ["DATA-PRIVACY"],
                    "type": "guidance" if guidance else "enforcement",
                    "jurisdiction": "UK",
                },
            }
        )
    return records


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([PROJECT_ROOT / "controls.yaml"])


def test_in_cross_validation_the_vocabulary_comes_from_the_training_rows_alone(
    catalogue: Catalogue,
) -> None:
    examples = [example_from_record(record) for record in _records()]
    embedder = HashingEmbedder()
    builder = FeatureBuilder(catalogue, embedder, catalogue.control_ids())
    data = featurise(examples, embedder.embed([e.item.text() for e in examples]), builder)
    assert data.builder.groups["words"][1] - data.builder.groups["words"][0] == 0

    fold = with_words(data, np.arange(0, 30, 2))  # the guidance items only

    assert "guidance on" in fold.builder.words.terms and "fines" not in fold.builder.words.terms
    start, stop = fold.builder.groups["words"]
    assert fold.features.shape == (30, stop) and stop - start == len(fold.builder.words)
    np.testing.assert_array_equal(fold.features[:, :start], data.features[:, :start])


def test_a_trained_model_stores_its_vocabulary_and_tags_with_it(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    examples = [example_from_record(record) for record in _records()]
    embedder = HashingEmbedder()
    builder = FeatureBuilder(catalogue, embedder, catalogue.control_ids())
    data = featurise(examples, embedder.embed([e.item.text() for e in examples]), builder)
    choices = dict.fromkeys(("relevance", "controls", "type", "jurisdiction"), Choice("all", 0.5))
    model = train(data, choices, folds(examples, k=3), {"data_sha256": "test"})
    path = tmp_path / "model.npz"
    model.save(path)

    loaded = load_model(path)

    assert loaded.words.terms == model.words.terms and "guidance" in loaded.words.terms
    np.testing.assert_array_equal(loaded.words.idf, model.words.idf)
    start, stop = loaded.metadata["feature_groups"]["words"]
    assert stop - start == len(loaded.words) == model.rows.features.columns - start
    tagging = FeatureBuilder(catalogue, embedder, loaded.controls, words=loaded.words)
    item = item_from_record({"title": "Guidance on AI system 99", "summary": "New guidance."})
    row = tagging.matrix([item], embedder.embed([item.text()]), [tagging.read(item)])
    assert row.shape == (1, model.rows.features.columns) and row[0, start:].any()
