"""The control catalogue: what each compliance control means and how to recognise it.

The default catalogue is `controls.yaml`; an organisation adds or changes controls in files of
its own, applied over it in order. These are the typed models and the merge; reading the files
is `horizon.config.load_catalogue`'s job. Validation problems surface as pydantic errors whose
locations name the entry, so the loader can report one plain line per bad field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from horizon.item import ITEM_TYPES

_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
_KNOWN_CONTROLS = "known_controls"
_KNOWN_THEMES = "known_themes"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_control_id(value: str) -> str:
    if not _CONTROL_ID.match(value):
        raise ValueError("use upper-case words joined by hyphens, e.g. 'DATA-PRIVACY'")
    return value


def _check_item_types(values: list[str]) -> list[str]:
    unknown = [value for value in values if value not in ITEM_TYPES]
    if unknown:
        raise ValueError(f"unknown item type '{unknown[0]}'; use one of {', '.join(ITEM_TYPES)}")
    return values


def _clean_phrases(values: list[str]) -> list[str]:
    cleaned = [" ".join(value.split()) for value in values]
    if any(not value for value in cleaned):
        raise ValueError("contains an empty entry; remove it")
    return cleaned


ControlId = Annotated[str, AfterValidator(_check_control_id)]
ItemTypes = Annotated[list[str], AfterValidator(_check_item_types)]
Phrases = Annotated[list[str], AfterValidator(_clean_phrases)]


class Reference(_Strict):
    """Where a control sits in a framework, e.g. framework 'EU AI Act', ref 'Art. 50'."""

    framework: str = Field(min_length=1)
    ref: str = Field(min_length=1)


class Control(_Strict):
    """One compliance control and the evidence that an item concerns it.

    `keywords` are phrases that, in text about AI, point at the control (a trailing `*` matches
    any word ending: `deprecat*`); `related` are weaker phrases that support it; `examples` are
    short passages in the style of a news item that should carry it; `item_types` are item
    types that concern the control whenever they are about AI (a vendor's model retirement
    always matters to whoever owns supplier risk); `themes` are the strategy themes it touches.
    """

    id: ControlId
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    keywords: Phrases = Field(default_factory=list)
    related: Phrases = Field(default_factory=list)
    examples: Phrases = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    item_types: ItemTypes = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)


class Theme(_Strict):
    """A strategy theme and phrases that, in AI-related text, point at it."""

    id: str
    name: str = Field(min_length=1)
    keywords: Phrases = Field(default_factory=list)


class Catalogue(_Strict):
    """Every control and theme the classifier tags with, and what makes an item about AI.

    `ai_terms` are phrases that make an item about AI at all (a trailing `*` as in keywords);
    `ai_term_exceptions` are phrases that contain one but are not about AI ("Gemini Trust",
    a crypto exchange); `not_relevant_examples` are passages from the same publishers that are
    not about AI governance (fines for data breaches, anti-money-laundering penalties, cloud
    price changes).
    """

    themes: list[Theme]
    controls: list[Control] = Field(min_length=1)
    ai_terms: Phrases = Field(min_length=1)
    ai_term_exceptions: Phrases = Field(default_factory=list)
    not_relevant_examples: Phrases = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        _require_unique((control.id for control in self.controls), "control")
        _require_unique((theme.id for theme in self.themes), "theme")
        declared = {theme.id for theme in self.themes}
        for control in self.controls:
            missing = [theme for theme in control.themes if theme not in declared]
            if missing:
                raise ValueError(
                    f"control '{control.id}' names theme '{missing[0]}', which the "
                    "catalogue's 'themes' list does not declare"
                )
        return self

    def control(self, control_id: str) -> Control:
        """The control with this id; KeyError names the known ids when there is none."""
        for control in self.controls:
            if control.id == control_id:
                return control
        known = ", ".join(self.control_ids())
        raise KeyError(f"no control '{control_id}' in the catalogue; known: {known}")

    def control_ids(self) -> list[str]:
        return [control.id for control in self.controls]

    def merged_with(self, override: CatalogueOverride) -> Catalogue:
        """This catalogue with an organisation's additions and changes applied.

        A control or theme with a new id is added; one with a known id keeps every field the
        override does not name. Listed phrases (`ai_terms`, `ai_term_exceptions`,
        `not_relevant_examples`) are added to the catalogue's own.
        """
        data = self.model_dump()
        data["controls"] = _merge_by_id(data["controls"], override.controls)
        data["themes"] = _merge_by_id(data["themes"], override.themes)
        for listed in _ADDED_LISTS:
            data[listed] = _union(data[listed], getattr(override, listed))
        return Catalogue.model_validate(data)


class _Patch(BaseModel):
    """An override entry: an id and only the fields it changes; a new id must be complete."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    known_ids_key: ClassVar[str]
    required_when_new: ClassVar[tuple[str, ...]]

    id: str

    @model_validator(mode="after")
    def _new_entries_are_complete(self, info: ValidationInfo) -> _Patch:
        known: set[str] = (info.context or {}).get(self.known_ids_key, set())
        if self.id in known:
            return self
        missing = [name for name in self.required_when_new if getattr(self, name) is None]
        if missing:
            fields = " and ".join(f"'{name}'" for name in missing)
            raise ValueError(f"'{self.id}' is a new entry, so it needs {fields}")
        return self


class ControlPatch(_Patch):
    known_ids_key: ClassVar[str] = _KNOWN_CONTROLS
    required_when_new: ClassVar[tuple[str, ...]] = ("name", "description")

    id: ControlId
    name: str | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, min_length=1)
    keywords: Phrases | None = None
    related: Phrases | None = None
    examples: Phrases | None = None
    references: list[Reference] | None = None
    item_types: ItemTypes | None = None
    themes: list[str] | None = None


class ThemePatch(_Patch):
    known_ids_key: ClassVar[str] = _KNOWN_THEMES
    required_when_new: ClassVar[tuple[str, ...]] = ("name",)

    name: str | None = Field(default=None, min_length=1)
    keywords: Phrases | None = None


class CatalogueOverride(_Strict):
    """An organisation's file: controls and themes to add or change, phrases to add."""

    controls: list[ControlPatch] = Field(default_factory=list)
    themes: list[ThemePatch] = Field(default_factory=list)
    ai_terms: Phrases = Field(default_factory=list)
    ai_term_exceptions: Phrases = Field(default_factory=list)
    not_relevant_examples: Phrases = Field(default_factory=list)


_ADDED_LISTS = ("ai_terms", "ai_term_exceptions", "not_relevant_examples")


def parse_catalogue(data: object, origin: str) -> Catalogue:
    """A complete catalogue from parsed YAML; raises pydantic's ValidationError per bad field.

    `origin` names the file in the one error that has no field: a top level that is not a
    mapping.
    """
    _require_mapping(data, origin)
    return Catalogue.model_validate(data)


def parse_override(data: object, origin: str, base: Catalogue) -> CatalogueOverride:
    """An organisation's override file, checked against the catalogue it will change."""
    _require_mapping(data, origin)
    context = {
        _KNOWN_CONTROLS: set(base.control_ids()),
        _KNOWN_THEMES: {theme.id for theme in base.themes},
    }
    return CatalogueOverride.model_validate(data, context=context)


def _require_mapping(data: object, origin: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(
            f"{origin}: expected a mapping with 'controls' (and 'themes', 'ai_terms') at the top"
        )


def _require_unique(ids: Iterable[str], kind: str) -> None:
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            raise ValueError(f"{kind} id '{entry_id}' is used twice; ids must be unique")
        seen.add(entry_id)


def _merge_by_id(entries: list[dict[str, Any]], patches: Iterable[_Patch]) -> list[dict[str, Any]]:
    merged = {entry["id"]: entry for entry in entries}
    for patch in patches:
        changes = patch.model_dump(exclude_none=True)
        merged[patch.id] = {**merged.get(patch.id, {}), **changes}
    return list(merged.values())


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
