"""Configuration, validated once at the edge.

This is the only module that reads YAML files or environment variables. Every other module gets
typed objects. A bad file gives `ConfigError` whose `problems` are plain lines, one per bad field,
naming the file, the entry and what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from horizon.address_policy import AddressPolicy, parse_network
from horizon.catalogue import Catalogue, parse_catalogue, parse_override

if TYPE_CHECKING:
    from horizon.instruments.catalogue import InstrumentsFile
    from horizon.readiness.profile import InventoryFile, OrganisationFile

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SourceKind = Literal["rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing", "page-watch"]
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
    next: str | None = None  # the next (older) page's link, for `horizon backfill`


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
    next: str | None = None  # the next (older) page's address, for `horizon backfill`


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
    watch_selector: str | None = None  # page-watch: compare this CSS selector's text only
    render: bool = False  # fetch through headless chromium (pages built by JavaScript)
    notes: str = ""
    allow_private_hosts: bool | list[str] = False

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
        problem = AddressPolicy(allow_all_private=True).url_refusal(value)
        if problem is None and re.search(r"\s", value):
            problem = "the address contains spaces; write it without them"
        if problem is not None:
            raise ValueError(f"{shown(value)}: {problem}")
        return value

    @field_validator("allow_private_hosts")
    @classmethod
    def _networks(cls, value: bool | list[str]) -> bool | list[str]:
        if not isinstance(value, bool):
            for text in value:
                parse_network(text)
        return value

    @model_validator(mode="after")
    def _public_unless_allowed(self) -> Source:
        problem = self.address_policy().url_refusal(self.url)
        if problem is not None:
            raise ValueError(f"url '{self.url}': {problem}")
        return self

    def address_policy(self) -> AddressPolicy:
        """What this source may reach beyond the public internet (see address_policy)."""
        return AddressPolicy.from_setting(self.allow_private_hosts)

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
        if self.kind != "page-watch" and self.watch_selector is not None:
            raise ValueError("'watch_selector' only applies to kind page-watch")
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
                raise ValueError(f"source id {shown(source.id)} is used twice; ids must be unique")
            seen.add(source.id)
        return self

    def enabled(self) -> list[Source]:
        return [source for source in self.sources if source.enabled]


MAX_CONFIG_BYTES = 10_000_000
SHOWN_VALUE_CHARS = 80


def shown(value: Any, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A rejected value as an error message quotes it: on one line, cut to `limit` characters,
    so a huge or hostile value cannot flood the terminal or the log."""
    text = value if isinstance(value, str) else repr(value)[: limit + 1]
    text = " ".join(text[: limit * 4].split())
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


class _ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (`&a`, `*a`): a config file never needs
    them, and nested aliases expand exponentially (the "billion laughs" memory bomb)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed in Horizon's config files; "
                "write each value out in full",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning a missing file, an oversized file, a syntax error or an
    anchor/alias into a plain ConfigError."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                [
                    f"{path}: is larger than {MAX_CONFIG_BYTES // 1_000_000} MB; "
                    "is it the right file?"
                ]
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: is not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot be read ({error.strerror})"]) from None
    try:
        return yaml.load(text, Loader=_ConfigLoader)
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
        target = f"{where}: {shown(field)}" if field else where
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
            parts.append(f"entry {key + 1}" + (f" ({shown(label)})" if label else ""))
            node = entry
        elif isinstance(key, str) and isinstance(node, dict) and isinstance(node.get(key), list):
            node = node[key]
            parts.append(key)
        else:
            break
        location.pop(0)
    return " ".join(parts)


_TYPE_WORDS = {
    "model_type": "a mapping of keys and values (key: value lines)",
    "model_attributes_type": "a mapping of keys and values (key: value lines)",
    "dict_type": "a mapping of keys and values (key: value lines)",
    "list_type": "a list (lines starting with '- ')",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
}
_YAML_TYPE_NAMES = {
    "str": "text",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "list": "a list",
    "dict": "a mapping",
    "NoneType": "empty",
}


def _plain_message(problem: Mapping[str, Any]) -> str:
    kind = problem["type"]
    if kind == "missing":
        return "missing; this field is required"
    if kind == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if kind == "literal_error":
        expected = problem.get("ctx", {}).get("expected", "")
        return f"{shown(problem.get('input'))} is not allowed; use one of {expected}"
    if kind in _TYPE_WORDS:
        value = problem.get("input")
        found = _YAML_TYPE_NAMES.get(type(value).__name__, type(value).__name__)
        return f"must be {_TYPE_WORDS[kind]}, not {found} ({shown(value)})"
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
        problems = [
            line
            for line in describe_validation_error(path, data, error)
            if "is used twice" not in line
        ]
        raise ConfigError(problems + _duplicate_ids(path, data.get("sources"))) from None


def _duplicate_ids(
    path: Path, entries: Any, section: str = "sources", key: str = "id", noun: str = "source id"
) -> list[str]:
    """One line per `key` used by several entries of `section`, read from the file as written,
    so it is reported together with every other problem (pydantic checks the whole file only
    once each entry is valid)."""
    if not isinstance(entries, list):
        return []
    positions: dict[str, list[int]] = {}
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            positions.setdefault(entry[key], []).append(number)
    return [
        f"{path}: {section}: {noun} {shown(value)} is used twice (entries "
        f"{', '.join(map(str, numbers))}); {noun}s must be unique"
        for value, numbers in positions.items()
        if len(numbers) > 1
    ]


def append_sources(path: Path, sources: Sequence[Source]) -> None:
    """Add entries at the end of the file's `sources:` list, keeping every comment and line
    already there; the result is validated before it replaces the file."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    top_keys = [line.split(":", 1)[0] for line in lines if re.match(r"^[A-Za-z_][\w-]*:", line)]
    if not top_keys or top_keys[-1] != "sources":
        raise ConfigError(
            [
                f"{path}: 'sources:' is not the last section, so entries cannot be added safely; "
                "add them by hand"
            ]
        )
    items = [line for line in lines if re.match(r"^\s*- ", line)]
    indent = re.match(r"^(\s*)", items[0]).group(1) if items else ""  # type: ignore[union-attr]
    entries = yaml.safe_dump(
        [source.model_dump(mode="json", exclude_defaults=True) for source in sources],
        sort_keys=False,
        allow_unicode=True,
    )
    block = "".join(f"{indent}{line}\n" for line in entries.splitlines())
    updated = text + ("" if text.endswith("\n") else "\n") + block
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(updated, encoding="utf-8")
    try:
        load_sources(temporary)
    except ConfigError:
        temporary.unlink()
        raise
    temporary.replace(path)


EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
EMBED_BACKENDS: tuple[EmbedBackend, ...] = ("torch", "onnx", "onnx-int8")


def _user_cache_dir() -> Path:
    return Path.home() / ".cache" / "horizon"


@dataclass(frozen=True)
class EmbeddingSettings:
    """Which engine runs the packaged model (`torch`, or an ONNX Runtime graph exported from it:
    `onnx` fp32, `onnx-int8` dynamically quantised) and where exported graphs are kept."""

    backend: EmbedBackend = "torch"
    cache_dir: Path = field(default_factory=_user_cache_dir)


def load_embedding_settings(env: Mapping[str, str] | None = None) -> EmbeddingSettings:
    """Read HORIZON_EMBED_BACKEND (default torch) and HORIZON_CACHE_DIR (default
    $XDG_CACHE_HOME/horizon, else ~/.cache/horizon). ConfigError names a backend it does not
    know, in one line."""
    environ = os.environ if env is None else env
    name = environ.get("HORIZON_EMBED_BACKEND", "").strip().lower() or "torch"
    backend = next((known for known in EMBED_BACKENDS if known == name), None)
    if backend is None:
        raise ConfigError(
            [
                f"HORIZON_EMBED_BACKEND: '{name}' is not an embedding backend; use "
                f"{', '.join(EMBED_BACKENDS[:-1])} or {EMBED_BACKENDS[-1]} (or leave it unset "
                "for torch)"
            ]
        )
    if environ.get("HORIZON_CACHE_DIR"):
        cache_dir = Path(environ["HORIZON_CACHE_DIR"])
    elif environ.get("XDG_CACHE_HOME"):
        cache_dir = Path(environ["XDG_CACHE_HOME"]) / "horizon"
    else:
        cache_dir = _user_cache_dir()
    return EmbeddingSettings(backend, cache_dir.expanduser())


@dataclass(frozen=True)
class Settings:
    """Where one installation keeps its data, and how it reaches outside services."""

    home: Path
    sources_file: Path
    controls_file: Path
    chroma_url: str | None = None
    public_url: str | None = None
    dask_address: str | None = None
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)

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
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": os.environ.get(
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"
            ),
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
        public_url=(environ.get("HORIZON_PUBLIC_URL") or "").rstrip("/") or None,
        dask_address=environ.get("HORIZON_DASK_ADDRESS") or None,
        embedding=load_embedding_settings(environ),
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


# ----- team profiles (profiles.yaml) and mail delivery (HORIZON_SMTP_*) --------------------

_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9-]{1,62}$")
_THEME_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_EMAIL_ADDRESS = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
RESERVED_PROFILE_NAMES = ("all", "outbox")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class Channel(_Strict):
    """Somewhere a profile's digest is pushed besides email.

    `chat`: an Apprise URL (`slack://`, `workflows://` for Microsoft Teams, `json://`,
    `mailto://`, ...) that gets the digest's headline and top changes. `webhook`: an http(s)
    endpoint that gets signed JSON, the whole digest (`events: digest`) or one event per new
    high-impact item (`events: items`, items scoring at least `min_score`). Secrets never sit
    in profiles.yaml: write `${NAME}` and Horizon reads NAME from the environment when it sends.
    """

    name: str
    url: str
    kind: Literal["chat", "webhook"] = "chat"
    secret: str | None = Field(default=None, repr=False)
    events: Literal["digest", "items"] = "digest"
    min_score: float = Field(default=0.8, ge=0.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not _CHANNEL_NAME.match(value):
            raise ValueError("use lowercase letters, digits and hyphens, e.g. 'team-slack'")
        return value

    @field_validator("url")
    @classmethod
    def _url_holds_no_secret(cls, value: str) -> str:
        if "://" not in value and not _PLACEHOLDER.fullmatch(value.strip()):
            raise ValueError(
                "is not a URL like slack://${SLACK_TOKENS} or https://host/path "
                "(or ${NAME} to read the whole URL from the environment)"
            )
        if not _PLACEHOLDER.search(value) and _has_inline_secret(value):
            raise ValueError(
                "holds a password or token; put it in an environment variable and write "
                "${NAME} in its place, e.g. slack://${HORIZON_SLACK_TOKENS}"
            )
        return value

    @field_validator("secret")
    @classmethod
    def _secret_from_environment(cls, value: str | None) -> str | None:
        if value is not None and not _PLACEHOLDER.fullmatch(value.strip()):
            raise ValueError(
                "must name an environment variable as ${NAME}; the secret itself never goes "
                "in profiles.yaml"
            )
        return value

    @model_validator(mode="after")
    def _webhook_is_signed(self) -> Channel:
        if self.kind == "webhook":
            if self.secret is None:
                raise ValueError(
                    f"channel '{self.name}': a webhook needs `secret: ${{NAME}}`, the signing "
                    "secret its receiver checks"
                )
            if not _PLACEHOLDER.search(self.url) and not self.url.startswith(
                ("http://", "https://")
            ):
                raise ValueError(f"channel '{self.name}': a webhook URL must be http(s)://")
        elif self.secret is not None:
            raise ValueError(f"channel '{self.name}': `secret` is for webhooks only")
        return self

    def placeholders(self) -> list[str]:
        """The environment variables this channel reads."""
        return _PLACEHOLDER.findall(self.url) + _PLACEHOLDER.findall(self.secret or "")


def _has_inline_secret(url: str) -> bool:
    """Whether a literal channel URL carries a credential: a password in it, or (for an
    Apprise URL) anything Apprise itself masks when it prints the URL privately."""
    from urllib.parse import urlsplit

    try:
        if urlsplit(url).password:
            return True
    except ValueError:
        return False
    if url.startswith(("http://", "https://", "json://", "jsons://")):
        return False
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return plugin is not None and plugin.url(privacy=True) != plugin.url()


@dataclass(frozen=True)
class ResolvedChannel:
    """A channel with its environment variables filled in, ready to send."""

    channel: Channel
    url: str
    secret: str | None

    @property
    def name(self) -> str:
        return self.channel.name


def resolve_channel(channel: Channel, env: Mapping[str, str] | None = None) -> ResolvedChannel:
    """Fill in a channel's ${NAME}s from the environment; ConfigError names what is unset."""
    environ = os.environ if env is None else env
    missing = [name for name in channel.placeholders() if not environ.get(name)]
    if missing:
        raise ConfigError(
            [
                f"channel '{channel.name}': {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set; export "
                f"{'it' if len(missing) == 1 else 'them'} before sending (secrets never go in "
                "profiles.yaml)"
            ]
        )

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda match: environ[match.group(1)], text)

    return ResolvedChannel(
        channel=channel,
        url=fill(channel.url),
        secret=fill(channel.secret) if channel.secret is not None else None,
    )


class NeverRules(_Strict):
    """Items a team never wants in its digest: by phrase (title or summary), publisher or type."""

    phrases: list[str] = Field(default_factory=list)
    publishers: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)

    @field_validator("types")
    @classmethod
    def _item_types(cls, values: list[str]) -> list[str]:
        return _known_item_types(values)


class AlwaysRules(_Strict):
    """Items a team always wants, pinned to the top of its digest: by phrase, instrument name
    (e.g. "Colorado AI Act", matched in the title or summary) or control."""

    phrases: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    controls: list[str] = Field(default_factory=list)

    @field_validator("controls")
    @classmethod
    def _control_ids(cls, values: list[str]) -> list[str]:
        return _well_formed_control_ids(values)


class Rules(_Strict):
    """`never` mutes, `always` pins (and wins when both match); applied after tagging, to
    digests only: nothing is ever deleted from the index."""

    never: NeverRules = Field(default_factory=NeverRules)
    always: AlwaysRules = Field(default_factory=AlwaysRules)

    @property
    def empty(self) -> bool:
        return self == Rules()


def _well_formed_control_ids(values: list[str]) -> list[str]:
    for value in values:
        if not _CONTROL_ID.match(value):
            raise ValueError(f"{shown(value)} is not a control id like DATA-PRIVACY")
    return values


def _known_item_types(values: list[str]) -> list[str]:
    from horizon.item import ITEM_TYPES

    for value in values:
        if value not in ITEM_TYPES:
            raise ValueError(
                f"{shown(value)} is not an item type; use one of {', '.join(ITEM_TYPES)}"
            )
    return values


class Profile(_Strict):
    """One team's weekly digest: who receives it and which items they care about.

    An empty list of interest means "any"; the lists that are given must all match (a control
    of interest AND a jurisdiction of interest, ...), and a match within a list is any of it.
    """

    name: str
    title: str = ""
    recipients: list[str] = Field(default_factory=list)
    controls: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    jurisdictions: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    min_relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    exclude_sources: list[str] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)

    @field_validator("channels")
    @classmethod
    def _channel_names_differ(cls, values: list[Channel]) -> list[Channel]:
        names = [channel.name for channel in values]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"channel name '{repeated[0]}' is used twice; names must differ")
        return values

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not _PROFILE_NAME.match(value):
            raise ValueError("use lowercase letters, digits and hyphens, e.g. 'data-protection'")
        if value in RESERVED_PROFILE_NAMES:
            raise ValueError(
                f"'{value}' is reserved (the all-items digest and the outbox use it); "
                "choose another name"
            )
        return value

    @field_validator("recipients")
    @classmethod
    def _plain_addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL_ADDRESS.match(value):
                raise ValueError(f"{shown(value)} is not an email address like team@example.org")
        return values

    @field_validator("controls")
    @classmethod
    def _control_ids(cls, values: list[str]) -> list[str]:
        return _well_formed_control_ids(values)

    @field_validator("themes")
    @classmethod
    def _theme_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _THEME_ID.match(value):
                raise ValueError(f"{shown(value)} is not a theme id like governance")
        return values

    @field_validator("jurisdictions")
    @classmethod
    def _jurisdictions(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _JURISDICTION.match(value):
                raise ValueError(
                    f"{shown(value)} is not a jurisdiction; use UK, EU, US, INT, GLOBAL or an "
                    "ISO 3166 alpha-2 code"
                )
        return values

    @field_validator("types")
    @classmethod
    def _item_types(cls, values: list[str]) -> list[str]:
        return _known_item_types(values)

    @property
    def label(self) -> str:
        return self.title or self.name


class ProfilesFile(_Strict):
    """Every team profile, and `rules` that apply to every profile's digest."""

    profiles: list[Profile] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)

    @model_validator(mode="after")
    def _names_are_unique(self) -> ProfilesFile:
        seen: set[str] = set()
        for profile in self.profiles:
            if profile.name in seen:
                raise ValueError(
                    f"profile name {shown(profile.name)} is used twice; names must differ"
                )
            seen.add(profile.name)
        return self

    def named(self, name: str) -> Profile:
        """The profile called `name`; ConfigError names the known ones when there is none."""
        for profile in self.profiles:
            if profile.name == name:
                return profile
        known = ", ".join(profile.name for profile in self.profiles) or "none"
        raise ConfigError([f"no profile named {shown(name)}; known profiles: {known}"])


def profiles_path(settings: Settings) -> Path:
    """The home's own profiles.yaml, else the project's default beside the package."""
    return _first_existing(settings.home / "profiles.yaml", PROJECT_ROOT / "profiles.yaml")


def load_profiles(path: Path) -> ProfilesFile:
    """Load and validate profiles.yaml; raise ConfigError listing every problem at once."""
    data = read_yaml(path)
    if data is None:
        return ProfilesFile()
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with a 'profiles' list at the top"])
    try:
        return ProfilesFile.model_validate(data)
    except ValidationError as error:
        problems = [
            line
            for line in describe_validation_error(path, _labelled_by_name(data), error)
            if "is used twice" not in line
        ]
        duplicates = _duplicate_ids(path, data.get("profiles"), "profiles", "name", "profile name")
        raise ConfigError(problems + duplicates) from None


def _labelled_by_name(data: dict[str, Any]) -> dict[str, Any]:
    """A copy whose profiles carry their name as `id`, so each problem names its profile."""
    profiles = data.get("profiles")
    if not isinstance(profiles, list):
        return data
    return {
        **data,
        "profiles": [
            {**entry, "id": entry.get("name")} if isinstance(entry, dict) else entry
            for entry in profiles
        ],
    }


SmtpSecurity = Literal["starttls", "ssl", "none"]
_SMTP_SECURITY: dict[str, SmtpSecurity] = {"starttls": "starttls", "ssl": "ssl", "none": "none"}
_DEFAULT_SMTP_PORT: dict[SmtpSecurity, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_SENDER = "Horizon <horizon@localhost>"


class SmtpSettings(_Strict):
    """How digests leave: an SMTP server when `host` is set, else the outbox folder."""

    host: str | None = None
    port: int = 587
    security: SmtpSecurity = "starttls"
    user: str | None = None
    password: str | None = Field(default=None, repr=False)
    sender: str = DEFAULT_SENDER

    @property
    def configured(self) -> bool:
        return self.host is not None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def load_smtp_settings(env: Mapping[str, str] | None = None) -> SmtpSettings:
    """Read HORIZON_SMTP_HOST, _PORT, _USER, _PASSWORD, _SECURITY (starttls, ssl or none) and
    _FROM. Without a host, mail goes to the outbox; ConfigError lists every bad variable."""
    environ = os.environ if env is None else env

    def value(name: str) -> str | None:
        text = environ.get(f"HORIZON_SMTP_{name}", "").strip()
        return text or None

    problems: list[str] = []
    host = value("HOST")
    security_text = (value("SECURITY") or "starttls").lower()
    security = _SMTP_SECURITY.get(security_text, "starttls")
    if security_text not in _SMTP_SECURITY:
        problems.append(
            f"HORIZON_SMTP_SECURITY: '{security_text}' is not allowed; use starttls, ssl or none"
        )
    port = _DEFAULT_SMTP_PORT[security]
    port_text = value("PORT")
    if port_text is not None:
        if port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            problems.append(f"HORIZON_SMTP_PORT: '{port_text}' is not a port number (1-65535)")
    user, password = value("USER"), environ.get("HORIZON_SMTP_PASSWORD") or None
    if (user is None) != (password is None):
        problems.append(
            "HORIZON_SMTP_USER and HORIZON_SMTP_PASSWORD: set both to log in, or neither"
        )
    sender = value("FROM")
    if sender is not None:
        if not _EMAIL_ADDRESS.match(sender.rsplit("<", 1)[-1].rstrip(">").strip()):
            problems.append(
                f"HORIZON_SMTP_FROM: '{sender}' is not an address like "
                "'Horizon <horizon@example.org>'"
            )
    elif host is not None:
        problems.append(
            "HORIZON_SMTP_FROM: missing; set the sender address the SMTP server accepts, "
            "e.g. 'Horizon <horizon@example.org>'"
        )
    if problems:
        raise ConfigError(problems)
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        user=user,
        password=password,
        sender=sender or DEFAULT_SENDER,
    )


def instruments_path(settings: Settings) -> Path:
    """The home's own instruments.yaml, else the project's catalogue beside the package."""
    return _first_existing(settings.home / "instruments.yaml", PROJECT_ROOT / "instruments.yaml")


def load_instruments(path: Path) -> InstrumentsFile:
    """Load and validate instruments.yaml; raise ConfigError listing every problem at once."""
    from horizon.instruments.catalogue import InstrumentsFile

    return _load_file(path, InstrumentsFile, "an 'instruments' list")


def organisation_path(settings: Settings) -> Path:
    """The home's own organisation.yaml, else the project's sample."""
    return _first_existing(settings.home / "organisation.yaml", PROJECT_ROOT / "organisation.yaml")


def load_organisation(path: Path) -> OrganisationFile:
    """Load and validate organisation.yaml (jurisdictions, roles, sectors)."""
    from horizon.readiness.profile import OrganisationFile

    return _load_file(path, OrganisationFile, "an 'organisation' mapping")


def inventory_path(settings: Settings) -> Path:
    """The home's own inventory.yaml, else the project's sample."""
    return _first_existing(settings.home / "inventory.yaml", PROJECT_ROOT / "inventory.yaml")


def load_inventory(path: Path) -> InventoryFile:
    """Load and validate inventory.yaml (AI systems with vendor, product, model, version)."""
    from horizon.readiness.profile import InventoryFile

    return _load_file(path, InventoryFile, "a 'systems' list")


_Model = TypeVar("_Model", bound=BaseModel)


def _load_file(path: Path, model: type[_Model], expected: str) -> _Model:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: expected a mapping with {expected} at the top"])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(path, data, error)) from None
