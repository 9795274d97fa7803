"""The default control catalogue, organisations' overrides, and plain errors for bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from horizon.catalogue import Catalogue
from horizon.config import PROJECT_ROOT, ConfigError, load_catalogue
from horizon.item import ITEM_TYPES, THEMES

DEFAULT = PROJECT_ROOT / "controls.yaml"
FRAMEWORKS = ("ISO/IEC 42001", "NIST AI RMF", "EU AI Act")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([DEFAULT])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _taxonomy_ids(shared: Path, heading: str) -> list[str]:
    text = (shared / "spec" / "taxonomy.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def test_default_catalogue_has_exactly_the_taxonomys_controls_and_themes(
    catalogue: Catalogue, shared: Path
) -> None:
    assert catalogue.control_ids() == _taxonomy_ids(shared, "## 1. Compliance controls")
    assert [theme.id for theme in catalogue.themes] == _taxonomy_ids(shared, "## 2. Strategy")


def test_default_themes_are_the_seven_of_the_item_model(catalogue: Catalogue) -> None:
    assert tuple(theme.id for theme in catalogue.themes) == THEMES
    assert len(catalogue.controls) == 15


def test_every_default_control_is_described_with_phrases_examples_and_references(
    catalogue: Catalogue,
) -> None:
    for control in catalogue.controls:
        assert len(control.description) > 80, control.id
        assert len(control.keywords) >= 10, control.id
        assert len(control.examples) >= 4, control.id
        assert control.themes, control.id
        frameworks = {reference.framework for reference in control.references}
        assert frameworks, control.id
    cited = {ref.framework for control in catalogue.controls for ref in control.references}
    assert set(FRAMEWORKS) <= cited


def test_default_examples_are_our_own_not_copied_from_the_labelled_set(
    catalogue: Catalogue, shared: Path
) -> None:
    """The shipped examples must not carry the evaluation data: no dev.jsonl title or summary,
    nor any 8-word run of one, appears in them."""
    examples = " ".join(
        [
            *(example for control in catalogue.controls for example in control.examples),
            *catalogue.not_relevant_examples,
        ]
    ).lower()
    for line in (shared / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for field in ("title", "summary"):
            words = record[field].lower().split()
            for start in range(max(1, len(words) - 7)):
                run = " ".join(words[start : start + 8])
                assert run not in examples, f"{record['id']} {field}: {run!r}"


def test_an_organisation_adds_a_control_and_changes_another(tmp_path: Path) -> None:
    override = _write(
        tmp_path / "ours.yaml",
        """
controls:
  - id: MODEL-RISK
    name: Model risk management (SR 11-7)
    description: Validation and inventory of models used in credit decisions.
    keywords: [model risk, model validation]
    themes: [risk]
  - id: FAIRNESS
    keywords: [disparate impact, adverse action]
ai_terms: [credit scoring model]
""",
    )

    merged = load_catalogue([DEFAULT, override])
    default = load_catalogue([DEFAULT])

    assert merged.control_ids() == [*default.control_ids(), "MODEL-RISK"]
    assert merged.control("MODEL-RISK").keywords == ["model risk", "model validation"]
    fairness = merged.control("FAIRNESS")
    assert fairness.keywords == ["disparate impact", "adverse action"]
    assert fairness.description == default.control("FAIRNESS").description
    assert fairness.examples == default.control("FAIRNESS").examples
    assert merged.ai_terms == [*default.ai_terms, "credit scoring model"]


def test_overrides_apply_in_order(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.yaml", "controls:\n  - id: FAIRNESS\n    name: First\n")
    second = _write(tmp_path / "b.yaml", "controls:\n  - id: FAIRNESS\n    name: Second\n")

    assert load_catalogue([DEFAULT, first, second]).control("FAIRNESS").name == "Second"
    assert load_catalogue([DEFAULT, second, first]).control("FAIRNESS").name == "First"


def _problems(paths: list[Path]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_catalogue(paths)
    return caught.value.problems


def test_a_new_control_without_a_description_is_named_in_one_plain_line(tmp_path: Path) -> None:
    override = _write(
        tmp_path / "ours.yaml", "controls:\n  - id: MODEL-RISK\n    name: Model risk\n"
    )

    problems = _problems([DEFAULT, override])

    assert problems == [
        f"{override}: controls entry 1 ('MODEL-RISK'): 'MODEL-RISK' is a new entry, so it "
        "needs 'description'"
    ]


def test_every_bad_field_gets_its_own_line(tmp_path: Path) -> None:
    override = _write(
        tmp_path / "ours.yaml",
        """
controls:
  - id: model risk
    name: Model risk
    description: Models.
  - id: FAIRNESS
    keywrods: [bias]
  - id: PRIVACY-EXTRA
    name: Extra
    description: More privacy.
    item_types: [press-release]
  - id: TRANSPARENCY
    keywords: [watermark*, "  "]
""",
    )

    problems = _problems([DEFAULT, override])

    assert len(problems) == 4
    assert "controls entry 1 ('model risk'): 'id': use upper-case words" in problems[0]
    assert "controls entry 2 ('FAIRNESS')" in problems[1]
    assert "keywrods" in problems[1] and "unknown key" in problems[1]
    assert "'press-release'" in problems[2] and "vendor-change" in problems[2]
    assert "('TRANSPARENCY')" in problems[3] and "contains an empty entry" in problems[3]
    assert all(line.startswith(f"{override}: ") for line in problems)


def test_a_control_naming_an_undeclared_theme_is_refused(tmp_path: Path) -> None:
    override = _write(tmp_path / "ours.yaml", "controls:\n  - id: FAIRNESS\n    themes: [ethics]\n")

    problems = _problems([DEFAULT, override])

    assert problems == [
        f"{override}: control 'FAIRNESS' names theme 'ethics', which the catalogue's 'themes' "
        "list does not declare"
    ]


def test_a_catalogue_listing_a_control_twice_is_refused(tmp_path: Path) -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    duplicated = text + "\n  - id: FAIRNESS\n    name: Again\n    description: Twice.\n"
    path = _write(tmp_path / "controls.yaml", duplicated)

    assert _problems([path]) == [f"{path}: control id 'FAIRNESS' is used twice; ids must be unique"]


def test_files_that_are_missing_unreadable_or_not_a_mapping_say_so(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    broken = _write(tmp_path / "broken.yaml", "controls: [\n")
    listing = _write(tmp_path / "list.yaml", "- id: FAIRNESS\n")

    assert _problems([missing]) == [f"{missing}: file not found"]
    assert "is not valid YAML" in _problems([DEFAULT, broken])[0]
    assert _problems([DEFAULT, listing]) == [
        f"{listing}: expected a mapping with 'controls' (and 'themes', 'ai_terms') at the top"
    ]
    assert _problems([]) == ["no control catalogue given; pass the path of controls.yaml"]


def test_item_types_in_the_catalogue_are_taxonomy_types(catalogue: Catalogue) -> None:
    for control in catalogue.controls:
        assert set(control.item_types) <= set(ITEM_TYPES)
    assert catalogue.control("THIRD-PARTY").item_types == ["vendor-change"]
