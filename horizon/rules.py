"""Rules that mute or pin items in a team's digest, after tagging.

`never:` mutes an item by phrase (in its title or summary), publisher or item type; `always:`
pins one by phrase, instrument name or control, and wins when both match: a team that asked to
always see the Colorado AI Act sees it even from a publisher it muted. Rules come from
profiles.yaml, for one profile or (top-level `rules:`) for every profile, and decide only what a
digest shows: nothing is ever deleted from the index. Pure functions only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from horizon.config import Rules
from horizon.item import Item

Verdict = Literal["muted", "pinned"]


@dataclass(frozen=True)
class RuleMatch:
    """What a rule did to one item, and which rule did it (shown in the digest)."""

    verdict: Verdict
    rule: str


def combined(*rule_sets: Rules) -> Rules:
    """Global and profile rules together."""
    return Rules.model_validate(
        {
            "never": {
                key: _union(getattr(rules.never, key) for rules in rule_sets)
                for key in ("phrases", "publishers", "types")
            },
            "always": {
                key: _union(getattr(rules.always, key) for rules in rule_sets)
                for key in ("phrases", "instruments", "controls")
            },
        }
    )


def _union(lists: Iterable[list[str]]) -> list[str]:
    return list(dict.fromkeys(value for values in lists for value in values))


def judge(item: Item, rules: Rules) -> RuleMatch | None:
    """Pinned, muted, or None when no rule speaks about the item."""
    text = f" {item.title} {item.summary} ".casefold()
    always, never = rules.always, rules.never
    for phrase in always.phrases:
        if _mentions(text, phrase):
            return RuleMatch("pinned", f"always: phrase “{phrase}”")
    for name in always.instruments:
        if _mentions(text, name):
            return RuleMatch("pinned", f"always: instrument “{name}”")
    controls = set(item.tags.control_ids()) if item.tags else set()
    for control in always.controls:
        if control in controls:
            return RuleMatch("pinned", f"always: control {control}")
    for phrase in never.phrases:
        if _mentions(text, phrase):
            return RuleMatch("muted", f"never: phrase “{phrase}”")
    publisher = item.publisher.casefold()
    for name in never.publishers:
        if name.casefold() in publisher:
            return RuleMatch("muted", f"never: publisher “{name}”")
    if item.tags is not None and item.tags.type in never.types:
        return RuleMatch("muted", f"never: type {item.tags.type}")
    return None


def _mentions(text: str, phrase: str) -> bool:
    """A whole-word, case-insensitive mention (so "AI Act" does not match "AI Actions")."""
    needle = phrase.strip().casefold()
    if not needle:
        return False
    start = text.find(needle)
    while start != -1:
        before, after = text[start - 1], text[start + len(needle) : start + len(needle) + 1]
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(needle, start + 1)
    return False
