"""Configuration, validated once at the edge.

This package is the only code that reads YAML files or environment variables. Every other module
gets typed objects. A bad file gives `ConfigError` whose `problems` are plain lines, one per bad
field, naming the file, the entry and what to do.

- `reading`: reading a YAML file safely and describing its problems;
- `sources`: `sources.yaml` (sources, crawl politeness);
- `settings`: the home, config file locations, the embedding backend, the control catalogue and
  the readiness files (instruments, organisation, inventory);
- `profiles`: `profiles.yaml` (team profiles, channels, rules) and SMTP settings.
"""

from horizon.config.profiles import (
    DEFAULT_SENDER,
    RESERVED_PROFILE_NAMES,
    AlwaysRules,
    Channel,
    NeverRules,
    Profile,
    ProfilesFile,
    ResolvedChannel,
    Rules,
    SmtpSettings,
    load_profiles,
    load_smtp_settings,
    profiles_path,
    resolve_channel,
)
from horizon.config.reading import (
    MAX_CONFIG_BYTES,
    SHOWN_VALUE_CHARS,
    ConfigError,
    describe_validation_error,
    read_yaml,
    shown,
)
from horizon.config.settings import (
    EMBED_BACKENDS,
    OPENMP_SPIN_COUNT,
    PROJECT_ROOT,
    EmbedBackend,
    EmbeddingSettings,
    Settings,
    instruments_path,
    inventory_path,
    load_catalogue,
    load_embedding_settings,
    load_instruments,
    load_inventory,
    load_organisation,
    load_settings,
    organisation_path,
    shorten_openmp_spin,
)
from horizon.config.sources import (
    FEED_KINDS,
    SOURCE_KINDS,
    CrawlSettings,
    JsonApiFields,
    ListingSelectors,
    Source,
    SourceCategory,
    SourceKind,
    SourcesFile,
    append_sources,
    load_sources,
)

__all__ = [
    "DEFAULT_SENDER",
    "EMBED_BACKENDS",
    "FEED_KINDS",
    "MAX_CONFIG_BYTES",
    "OPENMP_SPIN_COUNT",
    "PROJECT_ROOT",
    "RESERVED_PROFILE_NAMES",
    "SHOWN_VALUE_CHARS",
    "SOURCE_KINDS",
    "AlwaysRules",
    "Channel",
    "ConfigError",
    "CrawlSettings",
    "EmbedBackend",
    "EmbeddingSettings",
    "JsonApiFields",
    "ListingSelectors",
    "NeverRules",
    "Profile",
    "ProfilesFile",
    "ResolvedChannel",
    "Rules",
    "Settings",
    "SmtpSettings",
    "Source",
    "SourceCategory",
    "SourceKind",
    "SourcesFile",
    "append_sources",
    "describe_validation_error",
    "instruments_path",
    "inventory_path",
    "load_catalogue",
    "load_embedding_settings",
    "load_instruments",
    "load_inventory",
    "load_organisation",
    "load_profiles",
    "load_settings",
    "load_smtp_settings",
    "load_sources",
    "organisation_path",
    "profiles_path",
    "read_yaml",
    "resolve_channel",
    "shorten_openmp_spin",
    "shown",
]
