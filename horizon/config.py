"""Configuration, validated once at the edge.

This is the only module that reads YAML files or environment variables. Every other module gets
typed objects. A bad file gives `ConfigError` whose `problems` are plain lines, one per bad field,
naming the file, the entry and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from horizon.catalogue import Catalogue, parse_catalogue, parse_override

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SourceKind = Literal["rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing"]
SOURCE_KINDS: tuple[str, ...] = ("rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing")
FEED_KINDS: frozenset[str] = frozenset({"rss", "atom", "rdf"})
SourceCategory = Literal[
    "regulator", "government", "legislature", "standards-body", "vendor", "secondary"
]
_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_JURISDICTION = re.compile(r"^(UK|EU|US|INT|GLOBAL|[A-Z]{2})$")


class ConfigError(Exception):
    """A configuration file or setting is wrong; `problems` holds one plain line per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListingSelectors(_Strict):
    """CSS selectors (parsel syntax, `::text` and `::attr(x)` allowed) for an HTML listing."""

    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None


class JsonApiFields(_Strict):
    """Where the fields of each record sit in a JSON API response (dotted paths)."""

    items: str
    title: str
    url: str
    summary: str | None = None
    published: str | None = None
    id: str | None = None
    deadline: str | None = None
    effective: str | None = None


class Source(_Strict):
    """One watched source, as declared in sources.yaml."""

    id: str
    name: str
    publisher: str
    category: SourceCategory
    jurisdiction: str
    kind: SourceKind
    url: str
    enabled: bool = True
    official: bool = True
    selectors: ListingSelectors | None = None
    fields: JsonApiFields | None = None
    notes: str = ""

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not _SOURCE_ID.match(value):
            raise ValueError("use lowercase letters, digits and hyphens, e.g. 'ico-news'")
        return value

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        if not _JURISDICTION.match(value):
            raise ValueError("use UK, EU, US, INT, GLOBAL or an ISO 3166 alpha-2 code")
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _kind_has_its_settings(self) -> Source:
        if self.kind == "html-listing" and self.selectors is None:
            raise ValueError("an html-listing source needs 'selectors' (item, title, link)")
        if self.kind == "json-api" and self.fields is None:
            raise ValueError("a json-api source needs 'fields' (items, title, url)")
        if self.kind != "html-listing" and self.selectors is not None:
            raise ValueError("'selectors' only applies to kind html-listing")
        if self.kind != "json-api" and self.fields is not None:
            raise ValueError("'fields' only applies to kind json-api")
        return self


class CrawlSettings(_Strict):
    """Politeness settings shared by every fetch."""

    user_agent: str = "HorizonBot/0.1 (+https://github.com/horizon-scan/horizon)"
    delay_seconds: float = Field(default=1.0, ge=0)
    concurrency_per_domain: int = Field(default=2, ge=1, le=16)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    obey_robots_txt: bool = True


class SourcesFile(_Strict):
    crawl: CrawlSettings = CrawlSettings()
    sources: list[Source]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"source id '{source.id}' is used twice; ids must be unique")
            seen.add(source.id)
        return self

    def enabled(self) -> list[Source]:
        return [source for source in self.sources if source.enabled]


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning a missing file or a syntax error into a plain ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot be read ({error.strerror})"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{path}:{where} is not valid YAML ({problem})"]) from None


def describe_validation_error(path: Path, data: Any, error: ValidationError) -> list[str]:
    """One plain line per bad field: file, the entry (by its id when it has one), field, fix."""
    lines = []
    for problem in error.errors():
        location = list(problem["loc"])
        where = _entry_label(data, location)
        field = ".".join(str(part) for part in location if not isinstance(part, int))
        message = _plain_message(problem)
        target = f"{where}: '{field}'" if field else where
        lines.append(f"{path}: {target}: {message}" if target else f"{path}: {message}")
    return lines


def _entry_label(data: Any, location: list[Any]) -> str:
    parts = []
    node = data
    while location and isinstance(location[0], (str, int)):
        key = location[0]
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            entry = node[key]
            label = entry.get("id") if isinstance(entry, dict) else None
            parts.append(f"entry {key + 1}" + (f" ('{label}')" if label else ""))
            node = entry
        elif isinstance(key, str) and isinstance(node, dict) and isinstance(node.get(key), list):
            node = node[key]
            parts.append(key)
        else:
            break
        location.pop(0)
    return " ".join(parts)


def _plain_message(problem: Mapping[str, Any]) -> str:
    kind = problem["type"]
    if kind == "missing":
        return "missing; this field is required"
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "literal_error":
        expected = problem.get("ctx", {}).get("expected", "")
        return f"'{problem.get('input')}' is not allowed; use one of {expected}"
    message = str(problem["msg"])
    return message.removeprefix("Value error, ")


def load_sources(path: Path) -> SourcesFile:
    """Load and validate sources.yaml; raise ConfigError listing every problem at once."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with a 'sources' list at the top"])
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(path, data, error)) from None


@dataclass(frozen=True)
class Settings:
    """Where one installation keeps its data, and how it reaches outside services."""

    home: Path
    sources_file: Path
    controls_file: Path
    chroma_url: str | None = None

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def digests_dir(self) -> Path:
        return self.home / "digests"

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def prefect_home(self) -> Path:
        return self.home / ".prefect"

    def prefect_environment(self) -> dict[str, str]:
        """Settings that make Prefect work offline with no set-up and keep its data in our home."""
        return {
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        }


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[-1]


def load_settings(
    home: Path | None = None,
    sources_file: Path | None = None,
    controls_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the home (flag, then HORIZON_HOME, then the current directory) and config files.

    A config file given explicitly wins; otherwise the home's own copy, then the project's
    default beside the package.
    """
    environ = os.environ if env is None else env
    if home is None:
        home = Path(environ["HORIZON_HOME"]) if environ.get("HORIZON_HOME") else Path.cwd()
    home = home.expanduser().resolve()
    return Settings(
        home=home,
        sources_file=sources_file
        or _first_existing(home / "sources.yaml", PROJECT_ROOT / "sources.yaml"),
        controls_file=controls_file
        or _first_existing(home / "controls.yaml", PROJECT_ROOT / "controls.yaml"),
        chroma_url=environ.get("HORIZON_CHROMA_URL") or None,
    )


def load_catalogue(paths: Sequence[Path]) -> Catalogue:
    """The default control catalogue (the first path) with each organisation's file (the
    others) applied over it in order. Raises ConfigError, one plain line per bad field."""
    if not paths:
        raise ConfigError(["no control catalogue given; pass the path of controls.yaml"])
    default_path, *override_paths = paths
    catalogue = _catalogue_file(default_path, None)
    for path in override_paths:
        catalogue = _catalogue_file(path, catalogue)
    return catalogue


def _catalogue_file(path: Path, base: Catalogue | None) -> Catalogue:
    """The complete catalogue in `path`, or `base` changed by the override in `path`."""
    data = read_yaml(path)
    try:
        if base is None:
            return parse_catalogue(data, str(path))
        return base.merged_with(parse_override(data, str(path), base))
    except ValidationError as error:
        raise ConfigError(describe_validation_error(path, data, error)) from None
    except ValueError as error:
        raise ConfigError([str(error)]) from None
