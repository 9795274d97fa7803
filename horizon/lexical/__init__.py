"""Full-text search over stored items with SQLite FTS5 (BM25), inside the run-state database.

The index lives in `state.db` beside the `items` table and is kept in step with it by triggers:
every insert, text change or delete of an item, by any code that writes `items`, updates the
index in the same transaction, so the two can never disagree after a crash.

Layout: `search_rows` gives each item a stable integer document id (an `INTEGER PRIMARY KEY`,
which `VACUUM` never renumbers, unlike the implicit rowid of `items`); the view
`search_documents` joins it to the item's text; `search_text` is an external-content FTS5 table
over that view, so the text is stored once, in `items`. Title, summary (the extracted text) and
publisher are indexed as separate columns so that BM25 can weight them differently.

- `expressions.py`: free text as people write it turned into a safe FTS5 expression, and which
  common words a large index leaves out (pure, no database);
- `index.py`: `LexicalIndex`, the items' index: BM25 search with filters as SQL conditions,
  and snippets;
- `passages.py`: `PassageIndex`, long items' passages (`horizon.passages`), stored and searched
  the same way.
"""

from horizon.lexical.expressions import (
    LexicalQuery,
    identifier_phrases,
    match_expression,
    query_words,
)
from horizon.lexical.index import (
    OVERFETCH,
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    ItemCondition,
    LexicalIndex,
    admitted,
)
from horizon.lexical.passages import PassageIndex, PassageMatch

__all__ = [
    "OVERFETCH",
    "SNIPPET_CLOSE",
    "SNIPPET_OPEN",
    "ItemCondition",
    "LexicalIndex",
    "LexicalQuery",
    "PassageIndex",
    "PassageMatch",
    "admitted",
    "identifier_phrases",
    "match_expression",
    "query_words",
]
