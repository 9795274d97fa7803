"""Where an installation keeps its data (the home), its config files, the embedding backend,
the control catalogue and the readiness files (instruments, organisation, inventory)."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from horizon.catalogue import Catalogue, parse_catalogue, parse_override
from horizon.config.reading import (
    ConfigError,
    describe_validation_error,
    load_model_file,
    read_yaml,
)

if TYPE_CHECKING:
    from horizon.instruments.catalogue import InstrumentsFile
    from horizon.readiness.profile import InventoryFile, OrganisationFile

PROJECT_ROOT = Path(__file__).resolve().parents[2]

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


OPENMP_SPIN_COUNT = "30000"


def shorten_openmp_spin(environ: MutableMapping[str, str] | None = None) -> None:
    """Let torch's idle OpenMP threads sleep sooner after a forward pass.

    GNU OpenMP (torch's, on Linux) keeps an idle thread spinning for 300,000 turns by default:
    several milliseconds in which it holds a core. A search embeds its query and then runs
    Chroma and SQLite on both cores, so that spin slowed it by 3-5 ms at 100k items. 30,000
    turns still bridge the gaps inside one forward pass (the embedding is no slower) and end
    within about a millisecond. libgomp reads `GOMP_SPINCOUNT` when it loads, so this must run
    before torch is imported; a spin count or `OMP_WAIT_POLICY` the user set is kept."""
    environ = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" not in environ:
        environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN_COUNT)


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


def first_existing(*candidates: Path) -> Path:
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
        or first_existing(home / "sources.yaml", PROJECT_ROOT / "sources.yaml"),
        controls_file=controls_file
        or first_existing(home / "controls.yaml", PROJECT_ROOT / "controls.yaml"),
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


def instruments_path(settings: Settings) -> Path:
    """The home's own instruments.yaml, else the project's catalogue beside the package."""
    return first_existing(settings.home / "instruments.yaml", PROJECT_ROOT / "instruments.yaml")


def load_instruments(path: Path) -> InstrumentsFile:
    """Load and validate instruments.yaml; raise ConfigError listing every problem at once."""
    from horizon.instruments.catalogue import InstrumentsFile

    return load_model_file(path, InstrumentsFile, "an 'instruments' list")


def organisation_path(settings: Settings) -> Path:
    """The home's own organisation.yaml, else the project's sample."""
    return first_existing(settings.home / "organisation.yaml", PROJECT_ROOT / "organisation.yaml")


def load_organisation(path: Path) -> OrganisationFile:
    """Load and validate organisation.yaml (jurisdictions, roles, sectors)."""
    from horizon.readiness.profile import OrganisationFile

    return load_model_file(path, OrganisationFile, "an 'organisation' mapping")


def inventory_path(settings: Settings) -> Path:
    """The home's own inventory.yaml, else the project's sample."""
    return first_existing(settings.home / "inventory.yaml", PROJECT_ROOT / "inventory.yaml")


def load_inventory(path: Path) -> InventoryFile:
    """Load and validate inventory.yaml (AI systems with vendor, product, model, version)."""
    from horizon.readiness.profile import InventoryFile

    return load_model_file(path, InventoryFile, "a 'systems' list")
