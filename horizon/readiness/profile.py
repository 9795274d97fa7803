"""The organisation's own facts: where it operates and in which roles (organisation.yaml), and
the AI systems it runs with their vendors and models (inventory.yaml). Read and validated by
`horizon.config.load_organisation` / `load_inventory`."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from horizon.instruments.catalogue import JURISDICTION, Role


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(_Strict):
    """Where the organisation operates (UK, EU, US, or a subdivision such as US-CO), the roles
    it plays for AI systems, and its sectors."""

    name: str
    jurisdictions: list[str]
    roles: list[Role]
    sectors: list[str] = Field(default_factory=list)

    @field_validator("jurisdictions")
    @classmethod
    def _jurisdictions(cls, values: list[str]) -> list[str]:
        for value in values:
            if not JURISDICTION.match(value):
                raise ValueError(
                    f"'{value}' is not a jurisdiction; use UK, EU, US, INT, GLOBAL, an ISO "
                    "code, or a subdivision such as US-CO"
                )
        return values

    def operates_in(self, jurisdiction: str) -> bool:
        """International instruments reach everyone; `US` covers every US-xx subdivision."""
        if jurisdiction in ("INT", "GLOBAL"):
            return True
        return any(
            jurisdiction == mine or jurisdiction.startswith(f"{mine}-")
            for mine in self.jurisdictions
        )


class OrganisationFile(_Strict):
    organisation: Organisation


class System(_Strict):
    """One AI system the organisation runs, and the supplier product and model behind it."""

    id: str
    name: str
    vendor: str
    product: str = ""
    model: str = ""
    version: str = ""
    owner: str = ""
    controls: list[str] = Field(default_factory=list)

    @field_validator("version", "model", mode="before")
    @classmethod
    def _as_written(cls, value: object) -> object:
        """YAML reads `version: 2024-08-06` as a date; keep it as the text it was."""
        return value.isoformat() if isinstance(value, date) else value


class InventoryFile(_Strict):
    systems: list[System]
