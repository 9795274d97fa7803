from pathlib import Path

import pytest

from horizon.config import ConfigError, load_settings, load_sources

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
