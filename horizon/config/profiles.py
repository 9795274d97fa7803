"""`profiles.yaml` (team profiles, their channels and rules) and mail delivery settings
(HORIZON_SMTP_*)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from horizon.config.reading import (
    ConfigError,
    StrictModel,
    describe_validation_error,
    duplicate_ids,
    read_yaml,
    shown,
)
from horizon.config.settings import PROJECT_ROOT, Settings, first_existing
from horizon.config.sources import JURISDICTION

_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9-]{1,62}$")
_THEME_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_EMAIL_ADDRESS = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
RESERVED_PROFILE_NAMES = ("all", "outbox")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class Channel(StrictModel):
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


class NeverRules(StrictModel):
    """Items a team never wants in its digest: by phrase (title or summary), publisher or type."""

    phrases: list[str] = Field(default_factory=list)
    publishers: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)

    @field_validator("types")
    @classmethod
    def _item_types(cls, values: list[str]) -> list[str]:
        return _known_item_types(values)


class AlwaysRules(StrictModel):
    """Items a team always wants, pinned to the top of its digest: by phrase, instrument name
    (e.g. "Colorado AI Act", matched in the title or summary) or control."""

    phrases: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    controls: list[str] = Field(default_factory=list)

    @field_validator("controls")
    @classmethod
    def _control_ids(cls, values: list[str]) -> list[str]:
        return _well_formed_control_ids(values)


class Rules(StrictModel):
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


class Profile(StrictModel):
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
            if not JURISDICTION.match(value):
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


class ProfilesFile(StrictModel):
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
    return first_existing(settings.home / "profiles.yaml", PROJECT_ROOT / "profiles.yaml")


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
        duplicates = duplicate_ids(path, data.get("profiles"), "profiles", "name", "profile name")
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


class SmtpSettings(StrictModel):
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
