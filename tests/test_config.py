from pathlib import Path

import pytest
import yaml

from horizon.config import ConfigError, load_profiles, load_settings, load_sources
from horizon.config.reading import read_yaml

REPO = Path(__file__).resolve().parent.parent

GOOD_SOURCE = """
  - id: ico-news
    name: ICO news
    publisher: Information Commissioner's Office
    category: regulator
    jurisdiction: UK
    kind: rss
    url: https://ico.org.uk/rss/
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_project_sources_file_is_valid_and_covers_every_kind_of_publisher() -> None:
    config = load_sources(REPO / "sources.yaml")
    assert len(config.sources) >= 30
    kinds = {source.kind for source in config.sources}
    assert {"rss", "atom", "jsonfeed", "json-api", "html-listing"} <= kinds
    categories = {source.category for source in config.sources}
    assert {"regulator", "standards-body", "vendor", "government"} <= categories
    jurisdictions = {source.jurisdiction for source in config.sources}
    assert {"UK", "EU", "US", "INT", "GLOBAL"} <= jurisdictions


def test_unknown_key_missing_url_and_bad_kind_each_get_one_plain_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources:\n"
        + GOOD_SOURCE
        + """
  - id: fca-news
    name: FCA
    publisher: FCA
    category: regulator
    jurisdiction: UK
    kind: rss
    colour: blue
    url: https://www.fca.org.uk/news/rss.xml
  - id: edpb
    name: EDPB
    publisher: EDPB
    category: regulator
    jurisdiction: EU
    kind: rss
  - id: nist
    name: NIST
    publisher: NIST
    category: standards-body
    jurisdiction: US
    kind: podcast
    url: https://www.nist.gov/rss.xml
""",
    )
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    problems = raised.value.problems
    assert len(problems) == 3
    assert any("fca-news" in p and "'colour'" in p and "unknown key" in p for p in problems)
    assert any("edpb" in p and "'url'" in p and "missing" in p for p in problems)
    assert any("nist" in p and "'kind'" in p and "'podcast' is not allowed" in p for p in problems)
    assert all(p.startswith(str(path)) for p in problems)


def test_html_listing_without_selectors_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD_SOURCE.replace("kind: rss", "kind: html-listing").join(["sources:\n", ""]),
    )
    with pytest.raises(ConfigError, match="needs 'selectors'"):
        load_sources(path)


def test_duplicate_source_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n" + GOOD_SOURCE + GOOD_SOURCE)
    with pytest.raises(ConfigError, match="used twice"):
        load_sources(path)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+ is not valid YAML"):
        load_sources(path)


def test_missing_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_home_comes_from_flag_then_environment_then_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).home == tmp_path.resolve()
    assert load_settings(env={"HORIZON_HOME": str(tmp_path / "env")}).home == tmp_path / "env"
    chosen = load_settings(home=tmp_path / "flag", env={"HORIZON_HOME": str(tmp_path / "env")})
    assert chosen.home == tmp_path / "flag"
    assert chosen.index_dir == tmp_path / "flag" / "index"
    assert chosen.digests_dir == tmp_path / "flag" / "digests"


def test_a_home_with_its_own_sources_file_uses_it(tmp_path: Path) -> None:
    own = write(tmp_path, "sources:\n" + GOOD_SOURCE)
    assert load_settings(home=tmp_path, env={}).sources_file == own
    assert load_settings(home=tmp_path / "other", env={}).sources_file == REPO / "sources.yaml"


def test_yaml_anchors_and_aliases_are_refused_before_they_expand(tmp_path: Path) -> None:
    bomb = "".join(f"l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]\n" for n in range(1, 12))
    path = write(
        tmp_path,
        'l0: &l0 "lol"\n' + bomb + "sources:\n" + GOOD_SOURCE.replace("kind: rss", "kind: *l11"),
    )
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert raised.value.problems == [
        f"{path}: line 1 is not valid YAML (anchors and aliases (&name, *name) are not allowed "
        "in Horizon's config files; write each value out in full)"
    ]


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_config_files_are_read_by_libyaml_to_what_the_pure_python_loader_reads() -> None:
    shipped = sorted(REPO.glob("*.yaml")) + sorted((REPO / "demo").rglob("*.yaml"))
    assert len(shipped) >= 6
    for path in shipped:
        assert read_yaml(path) == yaml.load(path.read_text(encoding="utf-8"), yaml.SafeLoader)


def test_a_plain_alias_is_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  - &first\n    id: a\n  - *first\n")
    with pytest.raises(ConfigError, match=r"line 2 is not valid YAML.*anchors and aliases"):
        load_sources(path)


def test_a_huge_rejected_value_is_cut_in_the_message(tmp_path: Path) -> None:
    huge = "x" * 1_000_000
    path = write(
        tmp_path,
        "sources:\n"
        + GOOD_SOURCE.replace("kind: rss", f"kind: {huge}").replace(
            "category: regulator", f"category: [{', '.join(['big'] * 50_000)}]"
        )
        + f"    {'k' * 1000}: 1\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    problems = raised.value.problems
    assert len(problems) == 3
    assert all(len(line) < 400 for line in problems)
    assert any(
        "'kind'" in line and "'xxxx" in line and "…' is not allowed" in line for line in problems
    )
    assert any("unknown key" in line for line in problems)


def test_several_problems_are_reported_together_with_a_duplicate_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources:\n"
        + GOOD_SOURCE
        + GOOD_SOURCE.replace("kind: rss", "kind: podcast")
        + "  - just a string\n  - 42\n",
    )
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    problems = raised.value.problems
    assert problems == [
        f"{path}: sources entry 2 ('ico-news'): 'kind': 'podcast' is not allowed; use one of "
        "'rss', 'atom', 'rdf', 'jsonfeed', 'json-api', 'html-listing' or 'page-watch'",
        f"{path}: sources entry 3: must be a mapping of keys and values (key: value lines), "
        "not text ('just a string')",
        f"{path}: sources entry 4: must be a mapping of keys and values (key: value lines), "
        "not a number ('42')",
        f"{path}: sources: source id 'ico-news' is used twice (entries 1, 2); "
        "source ids must be unique",
    ]


def test_a_config_file_that_is_not_utf8_is_a_plain_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_bytes(b"sources:\n  - id: caf\xe9\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_sources(path)


def test_a_duplicate_profile_name_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(
        "profiles:\n  - name: dp\n    min_relevance: 7\n  - name: dp\n  - name: legal\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_profiles(path)
    assert len(raised.value.problems) == 2
    assert "'min_relevance'" in raised.value.problems[0]
    assert raised.value.problems[1] == (
        f"{path}: profiles: profile name 'dp' is used twice (entries 1, 2); "
        "profile names must be unique"
    )
