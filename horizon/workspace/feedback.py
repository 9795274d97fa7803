"""Analysts' tag verdicts, in the shape the classifier learns from.

`load_feedback(state)` gives one `horizon.classify.Feedback` per (item, control) verdict, with
the item's text as stored; pass the vector index too and each carries the item's stored
embedding, so the classifier does not embed the texts again.
"""

from __future__ import annotations

from horizon.classify import Feedback
from horizon.state import StateDB
from horizon.store import VectorIndex
from horizon.workspace.schema import SCHEMA


def load_feedback(state: StateDB, index: VectorIndex | None = None) -> list[Feedback]:
    """Every current verdict on a stored item, oldest first; for `Classifier(feedback=...)`."""
    state.ensure_schema(SCHEMA)
    with state.connect() as connection:
        rows = connection.execute(
            "SELECT item_id, control, confirmed FROM workspace_tag_feedback"
            " ORDER BY at, item_id, control"
        ).fetchall()
    stored = state.get_items(row["item_id"] for row in rows)
    vectors = index.embeddings(list(stored)) if index is not None else {}
    return [
        Feedback(
            text=stored[row["item_id"]].item.text(),
            control=row["control"],
            confirmed=bool(row["confirmed"]),
            embedding=vectors.get(row["item_id"]),
            item=stored[row["item_id"]].item,
            item_id=row["item_id"],
        )
        for row in rows
        if row["item_id"] in stored
    ]
