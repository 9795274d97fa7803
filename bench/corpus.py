"""The benchmark corpus: 1,000 real Federal Register documents with their real MiniLM vectors,
and synthetic items recombined from them to reach 10k and 100k.

A synthetic item takes its title and publisher from one real document and its summary from the
first half of a second document's abstract and the second half of a third's; its vector mixes
the three real vectors (0.6 / 0.3 / 0.1) plus a little Gaussian noise, normalised. So the
synthetic text has the vocabulary and term statistics of real regulatory prose (what BM25's
cost depends on) and the vectors keep the clustered shape of real embeddings (what HNSW's cost
depends on) rather than the uniform spread of random vectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from horizon.item import ITEM_TYPES, ControlTag, Item, Tags
from horizon.normalise import content_hash

MIX = (0.6, 0.3, 0.1)
NOISE = 0.02
FIRST_DAY = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
CONTROLS = ("AI-POLICY", "RISK-IMPACT", "DATA-PRIVACY", "TRANSPARENCY", "THIRD-PARTY")
_SENTENCE_END = re.compile(r"(?<=[.;])\s+")


def halves(text: str) -> tuple[str, str]:
    """A text split at the sentence boundary nearest its middle (or its middle word)."""
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:
        middle = len(sentences) // 2
        return " ".join(sentences[:middle]), " ".join(sentences[middle:])
    words = text.split()
    return " ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])


def synthetic_items(
    base: Sequence[dict[str, Any]], vectors: np.ndarray, count: int, first: int, seed: int
) -> tuple[list[Item], np.ndarray]:
    """`count` recombined items numbered from `first`, with tags so filters have work to do."""
    rng = np.random.default_rng(seed)
    picks = np.array([rng.choice(len(base), size=3, replace=False) for _ in range(count)])
    mixed = np.einsum("k,nkd->nd", np.array(MIX, dtype=np.float32), vectors[picks])
    mixed += rng.normal(0.0, NOISE, size=mixed.shape).astype(np.float32)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    days = rng.integers(0, DAYS, size=count)
    items = []
    for number, ((a, b, c), day) in enumerate(zip(picks, days, strict=True)):
        title = base[a]["title"]
        summary = f"{halves(base[b]['summary'])[0]} {halves(base[c]['summary'])[1]}".strip()
        controls = [
            ControlTag(id=control, score=0.8, evidence=title)
            for control in CONTROLS
            if rng.random() < 0.15
        ]
        items.append(
            Item(
                id=f"synthetic-{first + number:06d}",
                title=title,
                summary=summary,
                publisher=base[a]["publisher"],
                published=FIRST_DAY + timedelta(days=int(day)),
                content_hash=content_hash(title, summary),
                tags=Tags(
                    relevant=bool(controls),
                    controls=controls,
                    type=ITEM_TYPES[int(rng.integers(len(ITEM_TYPES)))],
                    jurisdiction="US",
                ),
            )
        )
    return items, mixed.astype(np.float32)
