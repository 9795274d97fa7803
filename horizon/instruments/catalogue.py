"""The instrument catalogue's shape: each law, code or standard with its stage history,
milestones (what applies from when) and obligations (who must do what, for which control).

`horizon.config.load_instruments` reads and validates instruments.yaml into `InstrumentsFile`;
the rest of this module is pure: the current stage and the next milestone on a given day.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Stage = Literal["proposed", "adopted", "in-force", "amended", "repealed"]
STAGES: tuple[str, ...] = ("proposed", "adopted", "in-force", "amended", "repealed")
Kind = Literal["hard", "soft"]
Role = Literal["provider", "deployer", "importer", "distributor", "any"]
ROLES: tuple[str, ...] = ("provider", "deployer", "importer", "distributor", "any")

_INSTRUMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9-]{1,62}$")
# UK, EU, US, INT, GLOBAL or ISO 3166 alpha-2, optionally with a subdivision (US-CO, US-NY).
JURISDICTION = re.compile(r"^(UK|EU|US|INT|GLOBAL|[A-Z]{2})(-[A-Z0-9]{1,3})?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageEvent(_Strict):
    """The instrument reached `stage` on `date` (null when the day is not on record)."""

    stage: Stage
    date: dt.date | None = None
    note: str = ""


class Milestone(_Strict):
    """From `date`, `applies` (in words) takes effect, under these articles or chapters."""

    date: dt.date
    applies: str
    articles: list[str] = Field(default_factory=list)


class Obligation(_Strict):
    """Who must do what, from when, under which articles, and the control it belongs to.
    `from_date` is null while the date is not set (a commencement order still to come)."""

    id: str
    control: str
    who: list[Role]
    what: str
    from_date: dt.date | None = Field(default=None, alias="from")
    articles: list[str] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("control")
    @classmethod
    def _control_id(cls, value: str) -> str:
        if not _CONTROL_ID.match(value):
            raise ValueError(f"'{value}' is not a control id like DATA-PRIVACY")
        return value

    @field_validator("who")
    @classmethod
    def _someone(cls, value: list[Role]) -> list[Role]:
        if not value:
            raise ValueError(f"name at least one role: {', '.join(ROLES)}")
        return value


class Instrument(_Strict):
    """One law, code of practice, guideline or standard that Horizon follows."""

    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    jurisdiction: str
    kind: Kind
    description: str = ""
    url: str | None = None
    history: list[StageEvent]
    milestones: list[Milestone] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not _INSTRUMENT_ID.match(value):
            raise ValueError("use lowercase letters, digits and hyphens, e.g. 'eu-ai-act'")
        return value

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        if not JURISDICTION.match(value):
            raise ValueError(
                "use UK, EU, US, INT, GLOBAL or an ISO 3166 code, optionally with a "
                "subdivision such as US-CO"
            )
        return value

    @field_validator("history")
    @classmethod
    def _has_a_stage(cls, value: list[StageEvent]) -> list[StageEvent]:
        if not value:
            raise ValueError("give at least one stage, e.g. '- {stage: adopted, date: 2024-06-13}'")
        dated = [event.date for event in value if event.date is not None]
        if dated != sorted(dated):
            raise ValueError("list the stages oldest first")
        return value

    @model_validator(mode="after")
    def _obligation_ids_differ(self) -> Instrument:
        ids = [obligation.id for obligation in self.obligations]
        repeated = sorted({value for value in ids if ids.count(value) > 1})
        if repeated:
            raise ValueError(f"obligation id '{repeated[0]}' is used twice; ids must differ")
        return self

    @property
    def names(self) -> list[str]:
        """Every name it is known by: its own name first, then its aliases."""
        return [self.name, *self.aliases]

    def stage(
        self, confirmed: list[StageEvent] | None = None, on: dt.date | None = None
    ) -> StageEvent:
        """The latest stage on day `on` (default: any day): the catalogue's history plus stage
        changes an analyst confirmed. An undated stage counts as the oldest."""
        events = [
            event
            for event in [*self.history, *(confirmed or [])]
            if on is None or event.date is None or event.date <= on
        ] or self.history[:1]
        return max(
            enumerate(events),
            key=lambda pair: (pair[1].date or dt.date.min, pair[0]),
        )[1]

    def next_milestone(self, today: dt.date) -> Milestone | None:
        """The first milestone on or after `today`, if any."""
        upcoming = sorted(
            (milestone for milestone in self.milestones if milestone.date >= today),
            key=lambda milestone: milestone.date,
        )
        return upcoming[0] if upcoming else None


class InstrumentsFile(_Strict):
    instruments: list[Instrument]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> InstrumentsFile:
        seen: set[str] = set()
        for instrument in self.instruments:
            if instrument.id in seen:
                raise ValueError(f"instrument id '{instrument.id}' is used twice; ids must differ")
            seen.add(instrument.id)
        return self

    def get(self, instrument_id: str) -> Instrument | None:
        return next((each for each in self.instruments if each.id == instrument_id), None)
