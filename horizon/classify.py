"""Tag items against the control catalogue: relevance, controls, themes, type, jurisdiction, dates.

Every verdict can be explained (`Classifier.explain`). An item is about AI when an AI term from
the catalogue occurs in its publisher or title, or at least twice in its summary. Each control
is then scored from the catalogue's phrases found in the title and in the summary (the sentence
with the most of them is the evidence), the item's similarity to the control's description and
examples in the embedding space, and whether the item's type always concerns the control. The
score is a logistic combination of those signals whose few weights were fitted on the tuning
part of the labelled development set (`python -m evaluation.tagging --fit`), so it reads as a
probability. Analysts' verdicts on other reports of the same thing override it. An item is
relevant when a control reaches `THRESHOLD`, or, with AI in its title, when its best control
comes close; otherwise `Explanation.reason` says why not.

Type and jurisdiction come from publisher knowledge and cue phrases, dates from `horizon.dates`
unless the publisher's API gave them. Classifying is pure apart from embedding the texts it was
not given vectors for.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from horizon.catalogue import Catalogue, Control
from horizon.dates import extract_dates
from horizon.embed import Embedder
from horizon.item import ITEM_TYPES, ControlTag, Item, Tags

THRESHOLD = 0.35
_TITLE_HIT_CAP = 2
_BODY_HIT_CAP = 3
_RELATED_HIT_CAP = 3
_SIMILARITY_CENTRE = 0.35
# Analysts decide for other reports of the same thing: an item at least this similar to one an
# analyst confirmed (or rejected) a control on gets (or loses) that control, with a score that
# moves further past the threshold the closer the two are. Differently worded reports of one
# event (../shared/eval/dedupe-dev.jsonl) have a median cosine of 0.9 under MiniLM; distinct
# items on one topic, such as two agency AI memos, about 0.78.
_FEEDBACK_RADIUS = 0.85
# An item type the catalogue ties to a control (`item_types`) makes that control at least this
# likely: on the tuning part, 16 of 17 relevant vendor changes concerned supplier risk.
_TYPE_RULE_SCORE = 0.9
# An item whose title or publisher is about AI is relevant even when no control reaches the
# threshold, provided its best control reaches this floor, is closer to that control's examples
# than to the catalogue's not-relevant examples, and no analyst rejected it on a similar item;
# that control is then its tag.
_HEADLINE_FLOOR = 0.2
# An item whose title and publisher say nothing of AI is about AI only if its summary mentions
# AI at least this often; one passing mention ("alongside the AI omnibus, ...") is not enough.
_SUMMARY_AI_MENTIONS = 2


@dataclass(frozen=True)
class Signals:
    """What the classifier saw of one control in one item."""

    title_hits: int
    body_hits: int
    related_hits: int
    similarity: float
    similarity_gap: float
    type_default: bool

    def features(self) -> tuple[float, ...]:
        """The inputs of the fitted score, in the order of `ScoreWeights.coefficients`
        (`type_default` is a rule of the catalogue, not a fitted input)."""
        return (
            min(self.title_hits, _TITLE_HIT_CAP),
            min(self.body_hits, _BODY_HIT_CAP),
            min(self.related_hits, _RELATED_HIT_CAP),
            self.similarity - _SIMILARITY_CENTRE,
            self.similarity_gap,
        )


@dataclass(frozen=True)
class ScoreWeights:
    """A logistic model from `Signals.features()` to the probability a control applies."""

    bias: float
    coefficients: tuple[float, ...]

    def logit(self, signals: Signals) -> float:
        return self.bias + sum(
            weight * value
            for weight, value in zip(self.coefficients, signals.features(), strict=True)
        )


# Fitted on the tuning part of dev.jsonl with `python -m evaluation.tagging --fit`, pooled over
# all controls: six numbers, so nothing item-specific is memorised.
DEFAULT_WEIGHTS = ScoreWeights(bias=-4.31, coefficients=(3.94, 2.44, 0.73, 0.48, 1.17))

# "not an AI system", "no AI Act obligations": a phrase this close after a negation does not
# count. ("without human review" still concerns human oversight, so "without" is no negation.)
_NEGATION = re.compile(r"\b(not|no|non|never|neither|nor)(\W+\w+){0,2}\W*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(“‘])")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from has have in is it its of on or that the their this "
        "to was were will with which who whose must may can should not no",
    )
)


@dataclass(frozen=True, eq=False)
class Feedback:
    """An analyst's verdict on one control for one item: confirmed (it applies) or rejected.

    `embedding` is the item's vector when the caller has it (the store does); otherwise the
    classifier embeds `text`.
    """

    text: str
    control: str
    confirmed: bool
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class ControlScore:
    """One control's score for one item, its evidence and the signals behind it."""

    id: str
    score: float
    evidence: str
    keywords: tuple[str, ...]
    signals: Signals
    feedback_vote: float


@dataclass(frozen=True)
class Explanation:
    """Why an item was (or was not) tagged: the AI terms found and every control's score."""

    item_id: str
    ai_terms: tuple[str, ...]
    about_ai: bool
    noise_similarity: float
    scores: tuple[ControlScore, ...]
    tags: Tags

    @property
    def reason(self) -> str:
        if not self.ai_terms:
            return "not relevant: no AI term in the publisher, title or summary"
        if not self.about_ai:
            return (
                "not relevant: AI is mentioned only in passing "
                f"(once in the summary: {', '.join(self.ai_terms)})"
            )
        if not self.tags.relevant:
            best = max(self.scores, key=lambda score: score.score)
            closer = (
                "; it is closer to the catalogue's not-relevant examples "
                f"({self.noise_similarity:.2f}) than to that control's "
                f"({best.signals.similarity:.2f})"
                if self.noise_similarity >= best.signals.similarity
                else ""
            )
            return (
                f"not relevant: no control reached {THRESHOLD:.2f} "
                f"(best {best.id} at {best.score:.2f}){closer}"
            )
        listed = ", ".join(f"{tag.id} {tag.score:.2f}" for tag in self.tags.controls)
        return f"relevant: {listed}"


class PhraseSet:
    """Catalogue phrases compiled into one pattern; finds where they occur un-negated.

    Case does not matter, spaces and hyphens match each other, a trailing `*` matches any word
    ending, and a phrase right after "not", "no" and the like does not count; nor does one
    inside an exception ("Gemini Trust" is a crypto exchange, not the AI model).
    """

    def __init__(self, phrases: Iterable[str], exceptions: Iterable[str] = ()) -> None:
        self._pattern = _alternation(phrases)
        self._exceptions = _alternation(exceptions)

    def occurrences(self, text: str) -> list[str]:
        """Every occurrence, as written in the text and lower-cased, in order."""
        if self._pattern is None:
            return []
        excluded = (
            [match.span() for match in self._exceptions.finditer(text)]
            if self._exceptions is not None
            else []
        )
        return [
            match.group(0).lower()
            for match in self._pattern.finditer(text)
            if not _NEGATION.search(text[max(0, match.start() - 40) : match.start()])
            and not any(start <= match.start() < end for start, end in excluded)
        ]

    def find(self, text: str) -> list[str]:
        """The distinct phrases found, in order."""
        return list(dict.fromkeys(self.occurrences(text)))


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(phrases), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(_phrase_pattern(phrase) for phrase in ordered), re.IGNORECASE)


def _phrase_pattern(phrase: str) -> str:
    words = [word for word in re.split(r"[\s\-]+", phrase.strip()) if word]
    return r"(?<![\w\-])" + r"[\s\-]+".join(map(_word_pattern, words)) + r"(?![\w])"


def _word_pattern(word: str) -> str:
    """One word of a phrase: `*` alone is any one word, `x*` any word starting with x, and
    "AI" also matches "artificial intelligence"."""
    if word == "*":
        return r"[\w'’.]+"
    if word.endswith("*"):
        return re.escape(word[:-1]) + r"[\w\-]*"
    if word.upper() == "AI":
        return r"(?:AI|artificial[\s\-]+intelligence)"
    return re.escape(word)


@dataclass(frozen=True)
class _Examples:
    """The catalogue's passages embedded, control by control: rows `starts[i]` up to
    `starts[i + 1]` illustrate control `i`; `noise` are the not-relevant examples."""

    vectors: np.ndarray
    starts: np.ndarray
    noise: np.ndarray


@dataclass(frozen=True)
class _FeedbackExamples:
    """Analysts' verdicts embedded: the control of each row and +1 (confirmed) or -1."""

    vectors: np.ndarray
    controls: list[str]
    signs: list[int]


class Classifier:
    """Tags items against a catalogue; build once (it embeds the catalogue's examples)."""

    def __init__(
        self,
        catalogue: Catalogue,
        embedder: Embedder,
        feedback: Sequence[Feedback] = (),
        *,
        weights: ScoreWeights = DEFAULT_WEIGHTS,
    ) -> None:
        self.catalogue = catalogue
        self.embedder = embedder
        self.weights = weights
        self._ai_terms = PhraseSet(catalogue.ai_terms, catalogue.ai_term_exceptions)
        self._keywords = {control.id: PhraseSet(control.keywords) for control in catalogue.controls}
        self._related = {control.id: PhraseSet(control.related) for control in catalogue.controls}
        self._theme_keywords = {theme.id: PhraseSet(theme.keywords) for theme in catalogue.themes}
        self._vocabulary = {
            control.id: _control_vocabulary(control) for control in catalogue.controls
        }
        self._theme_order = {theme.id: rank for rank, theme in enumerate(catalogue.themes)}
        self._examples = self._embed_examples(catalogue)
        self._feedback = self._embed_feedback(catalogue, feedback)

    def with_feedback(self, feedback: Sequence[Feedback]) -> Classifier:
        """The same classifier with this analyst feedback in place of any it had; the catalogue
        is not embedded again."""
        changed = copy.copy(self)
        changed._feedback = self._embed_feedback(self.catalogue, feedback)
        return changed

    def classify(self, items: Sequence[Item], embeddings: np.ndarray | None = None) -> list[Tags]:
        """Tags for each item, in order.

        `embeddings`: rows of `embedder.embed([item.text() for item in items])` when the caller
        already has them (the pipeline does); computed here otherwise.
        """
        return [explanation.tags for explanation in self.explain(items, embeddings)]

    def explain(
        self, items: Sequence[Item], embeddings: np.ndarray | None = None
    ) -> list[Explanation]:
        """Tags for each item together with every control's score and the signals behind it."""
        if not items:
            return []
        vectors = self._vectors_for(items, embeddings)
        best_similarity = np.maximum.reduceat(
            vectors @ self._examples.vectors.T, self._examples.starts, axis=1
        )
        noise_similarity = (vectors @ self._examples.noise.T).max(axis=1, initial=-1.0)
        feedback_similarity = vectors @ self._feedback.vectors.T
        return [
            self._explain_one(
                item, best_similarity[row], float(noise_similarity[row]), feedback_similarity[row]
            )
            for row, item in enumerate(items)
        ]

    def _explain_one(
        self,
        item: Item,
        best_similarity: np.ndarray,
        noise_similarity: float,
        feedback_similarity: np.ndarray,
    ) -> Explanation:
        sentences = _sentences(item)
        headline_ai_terms = self._ai_terms.find(f"{item.publisher}. {item.title}")
        summary_ai_terms = self._ai_terms.occurrences(item.summary)
        about_ai = bool(headline_ai_terms) or len(summary_ai_terms) >= _SUMMARY_AI_MENTIONS
        ai_terms = tuple(dict.fromkeys([*headline_ai_terms, *summary_ai_terms]))
        item_type = item_type_of(item)
        top_similarity = float(best_similarity.max())
        scores = []
        for index, control in enumerate(self.catalogue.controls):
            similarity = float(best_similarity[index])
            hits_per_sentence = [
                self._keywords[control.id].find(sentence) for sentence in sentences
            ]
            title_hits = hits_per_sentence[0]
            body_hits = list(
                dict.fromkeys(
                    hit for hits in hits_per_sentence[1:] for hit in hits if hit not in title_hits
                )
            )
            signals = Signals(
                title_hits=len(title_hits),
                body_hits=len(body_hits),
                related_hits=len(self._related[control.id].find(item.text())),
                similarity=similarity,
                similarity_gap=similarity - top_similarity,
                type_default=item_type in control.item_types,
            )
            logit = self.weights.logit(signals)
            if signals.type_default:
                logit = max(logit, _TYPE_RULE_LOGIT)
            vote = self._feedback_vote(control.id, feedback_similarity)
            scores.append(
                ControlScore(
                    id=control.id,
                    score=_with_feedback(_sigmoid(logit), vote) if about_ai else 0.0,
                    evidence=self._evidence(control.id, sentences, hits_per_sentence),
                    keywords=(*title_hits, *body_hits),
                    signals=signals,
                    feedback_vote=vote,
                )
            )
        ranked = sorted(scores, key=lambda score: score.score, reverse=True)
        passed = [score for score in ranked if score.score >= THRESHOLD]
        if not passed and headline_ai_terms:
            passed = [
                score
                for score in ranked[:1]
                if score.score >= _HEADLINE_FLOOR
                and score.feedback_vote >= 0
                and score.signals.similarity > noise_similarity
            ]
        controls = [
            ControlTag(id=score.id, score=round(score.score, 3), evidence=score.evidence)
            for score in passed
        ]
        deadline, effective = _dates(item)
        tags = Tags(
            relevant=bool(controls),
            controls=controls,
            themes=self._themes(item, item_type, [tag.id for tag in controls]) if controls else [],
            type=item_type,
            jurisdiction=jurisdiction_of(item),
            deadline=deadline,
            effective=effective,
        )
        return Explanation(
            item_id=item.id,
            ai_terms=ai_terms,
            about_ai=about_ai,
            noise_similarity=noise_similarity,
            scores=tuple(scores),
            tags=tags,
        )

    def _vectors_for(self, items: Sequence[Item], embeddings: np.ndarray | None) -> np.ndarray:
        if embeddings is None:
            return self.embedder.embed([item.text() for item in items])
        if embeddings.shape != (len(items), self.embedder.dimensions):
            raise ValueError(
                f"embeddings have shape {embeddings.shape}, expected "
                f"({len(items)}, {self.embedder.dimensions}): one row per item"
            )
        return embeddings

    def _embed_examples(self, catalogue: Catalogue) -> _Examples:
        """Each control's name and description, then its examples, in catalogue order; then
        the not-relevant examples."""
        texts: list[str] = []
        starts: list[int] = []
        for control in catalogue.controls:
            starts.append(len(texts))
            texts.extend([f"{control.name}. {control.description}", *control.examples])
        vectors = self.embedder.embed([*texts, *catalogue.not_relevant_examples])
        return _Examples(vectors[: len(texts)], np.array(starts), vectors[len(texts) :])

    def _embed_feedback(
        self, catalogue: Catalogue, feedback: Sequence[Feedback]
    ) -> _FeedbackExamples:
        known = set(catalogue.control_ids())
        usable = [example for example in feedback if example.control in known]
        missing = [example.text for example in usable if example.embedding is None]
        computed = iter(self.embedder.embed(missing) if missing else [])
        rows = [
            example.embedding if example.embedding is not None else next(computed)
            for example in usable
        ]
        vectors = (
            np.vstack(rows).astype(np.float32)
            if rows
            else np.zeros((0, self.embedder.dimensions), dtype=np.float32)
        )
        return _FeedbackExamples(
            vectors,
            [example.control for example in usable],
            [1 if example.confirmed else -1 for example in usable],
        )

    def _feedback_vote(self, control_id: str, feedback_similarity: np.ndarray) -> float:
        """The nearest analyst verdict on this control within the feedback radius: +1 or -1
        scaled by how close it is (0 at the radius, 1 for the same text); 0 when none is."""
        vote = 0.0
        nearest = _FEEDBACK_RADIUS
        for column, owner in enumerate(self._feedback.controls):
            similarity = float(feedback_similarity[column])
            if owner == control_id and similarity > nearest:
                nearest = similarity
                closeness = (similarity - _FEEDBACK_RADIUS) / (1.0 - _FEEDBACK_RADIUS)
                vote = self._feedback.signs[column] * min(1.0, closeness)
        return vote

    def _evidence(
        self, control_id: str, sentences: list[str], hits_per_sentence: list[list[str]]
    ) -> str:
        """The sentence with the most of the control's phrases; without any, the sentence that
        shares most words with the control's description and examples."""
        if any(hits_per_sentence):
            best = max(range(len(sentences)), key=lambda index: len(hits_per_sentence[index]))
            return sentences[best]
        vocabulary = self._vocabulary[control_id]
        return max(sentences, key=lambda sentence: len(_content_words(sentence) & vocabulary))

    def _themes(self, item: Item, item_type: str, control_ids: list[str]) -> list[str]:
        themes: set[str] = set()
        for control_id in control_ids:
            themes.update(self.catalogue.control(control_id).themes)
        themes.update(_TYPE_THEMES.get(item_type, ()))
        text = item.text()
        themes.update(
            theme_id for theme_id, phrases in self._theme_keywords.items() if phrases.find(text)
        )
        if item_type == "vendor-change":
            themes &= _VENDOR_THEMES
        last = len(self._theme_order)
        return sorted(themes, key=lambda theme: self._theme_order.get(theme, last))


def _dates(item: Item) -> tuple[date | None, date | None]:
    """Deadline and effective date: the publisher's structured fields, else the text's."""
    published = item.published.date() if item.published else None
    deadline, effective = extract_dates(item.text(), published)
    return item.deadline_hint or deadline, item.effective_hint or effective


def classify_output(item_id: str | None, tags: Tags) -> dict[str, object]:
    """The `horizon classify` JSON object for one item (taxonomy.md)."""
    return {
        "id": item_id,
        "relevant": tags.relevant,
        "controls": [
            {"id": control.id, "score": round(control.score, 3), "evidence": control.evidence}
            for control in tags.controls
        ],
        "themes": list(tags.themes),
        "type": tags.type,
        "jurisdiction": tags.jurisdiction,
        "deadline": tags.deadline.isoformat() if tags.deadline else None,
        "effective": tags.effective.isoformat() if tags.effective else None,
    }


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def _with_feedback(score: float, vote: float) -> float:
    """A confirmed near neighbour lifts the score to at least the threshold, a rejected one
    holds it below; the closer the neighbour, the further from the threshold."""
    if vote > 0:
        return max(score, THRESHOLD + (1.0 - THRESHOLD) * vote)
    if vote < 0:
        return min(score, THRESHOLD * (1.0 + vote) * 0.99)
    return score


_TYPE_RULE_LOGIT = math.log(_TYPE_RULE_SCORE / (1.0 - _TYPE_RULE_SCORE))


def _sentences(item: Item) -> list[str]:
    """The title, then each sentence of the summary."""
    body = [sentence.strip() for sentence in _SENTENCE_END.split(item.summary) if sentence.strip()]
    return [item.title, *body]


def _content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}


def _control_vocabulary(control: Control) -> set[str]:
    return _content_words(" ".join([control.name, control.description, *control.examples]))


# ---- item type ----------------------------------------------------------------------------

_TYPE_THEMES: dict[str, tuple[str, ...]] = {
    "consultation": ("communication",),
    "vendor-change": ("procurement",),
}
_VENDOR_THEMES = frozenset({"procurement", "risk"})


def _cues(*pairs: tuple[str, float]) -> tuple[tuple[re.Pattern[str], float], ...]:
    return tuple((re.compile(pattern, re.IGNORECASE), weight) for pattern, weight in pairs)


# Phrases that say what kind of publication an item is, with how strongly they say it. A cue
# in the title counts double; the highest total wins; with no cue the item is a report.
_TYPE_CUES: dict[str, tuple[tuple[re.Pattern[str], float], ...]] = {
    "consultation": _cues(
        (r"\bconsult(s|ed|ing|ation|ations)?\b", 3.0),
        (r"\bcall(s)? for (evidence|views|input|comments?|feedback|information)\b", 4.0),
        (r"\brequest(s)? for (comments?|information|input)\b|\bRFI\b", 4.0),
        (r"\bDP\d{2}/\d{1,2}\b|\bdiscussion paper\b|\bgreen paper\b", 3.0),
        (r"\bnotice of inquiry\b", 4.0),
        (r"\b(advance )?notice of proposed rulemaking\b|\bA?NPRM\b", 4.0),
        (r"\bproposed rules?\b|\bproposed rulemaking\b", 3.0),
        (
            r"\b(seek|seeks|sought|seeking|invite|invites|invited|inviting)\b[^.]{0,40}"
            r"\b(comments?|views|input|feedback|evidence|responses)\b",
            3.0,
        ),
        (r"\bcomments? (are |were )?(due|sought|invited|requested)\b", 3.0),
        (r"\bdraft (guidance|guidelines|code|recommendations)\b", 1.5),
        (r"\bCP\d{2}/\d{1,2}\b|\bconsultation paper\b", 4.0),
        (r"\b(initial |market )?review (of|into)\b", 1.0),
    ),
    "enforcement": _cues(
        (r"\bfine[sd]?\b", 3.0),
        (r"\bpenal(ty|ties|ised|ized)\b", 2.5),
        (r"\breprimand(s|ed)?\b", 3.0),
        (r"\benforcement (notice|action|order)s?\b", 3.0),
        (r"\b(issued|issues|issue) [^.]{0,30}\borders?\b", 2.0),
        (r"\border(s|ed)? (?-i:[A-Z])[\w.]* to\b", 2.0),
        (r"\b(limitation|suspension|ban) (of|on) [^.]{0,30}processing\b", 3.0),
        (r"\bsettle(s|d|ment)\b", 2.5),
        (r"\bcharge[sd]\b", 2.0),
        (r"\b(lawsuit|sues|sued|complaint against|cease[- ]and[- ]desist|consent order)\b", 3.0),
        (r"\b(court|tribunal|judge) (rules|ruled|finds|found|orders|ordered)\b", 3.0),
        (r"\binvestigation\b", 1.5),
        (
            r"\b(sanction(s|ed)?|prosecut\w+|convicted|judg(e)?ment|ruling|verdict|injunction"
            r"|undertakings|penalty notice|consent decree|takes? action against"
            r"|action against|warning letter)\b",
            2.0,
        ),
        (r"\binquiry into\b", 2.0),
        (r"\bdecision on\b", 1.5),
    ),
    "legislation": _cues(
        (r"(?-i:\b[A-Z][\w']+( [A-Z][\w']+)* Act\b)", 1.5),
        (r"(?-i:\bAct( \d{4})?\b)", 1.0),
        (r"\b(bill|bills)\b|(?-i:\b[SH]\.?B\.? ?\d+\b|\bH\.R\. ?\d+\b)", 2.0),
        (r"\bRegulation \(EU\)|\bDirective \(EU\)|\bregulation (EU|on)\b", 3.0),
        (r"\b(regulation|directive|statute|ordinance|decree)\b", 1.0),
        (r"\blaws?\b", 1.0),
        (
            r"\b(enter(s|ed)? into force|entry into force|c[oa]me?s? into force|takes? effect"
            r"|took effect|start(s|ed)? to apply|becomes? applicable|royal assent"
            r"|signed into law|enact(s|ed)|promulgat(es|ed)|pass(es|ed) (the )?(bill|law|act))\b",
            3.0,
        ),
        (r"\b(interim )?final rules?\b", 3.0),
        (r"\bexecutive order\b", 3.0),
        (r"\b(delegated|implementing) (act|regulation)\b", 3.0),
        (r"\bveto(es|ed)?\b", 3.0),
        (
            r"\b(trilogue|provisional agreement|plenary|final (compromise )?text|committees? "
            r"(endorse|approve|vote))",
            2.5,
        ),
        (r"\bOfficial Journal\b", 2.0),
        (r"\b(framework )?convention\b|\btreaty\b", 2.0),
        (r"\b(Commission|Council) Decision\b", 3.0),
        (r"\b(interim )?measures for\b", 2.0),
        (r"\bproposal for a (regulation|directive)\b|\bregulation proposal\b", 3.0),
        (r"\b(Regulations|Order|Rules) \d{4}\b|\bstatutory instrument\b", 3.0),
        (
            r"\b(Parliament|Council|Senate|Assembly|House|Congress) (adopts|adopted|approves"
            r"|approved|passes|passed)\b",
            2.5,
        ),
        (r"\bamend(s|ed|ment|ments)? (to )?(the |its )?(?-i:[A-Z][\w ]* (Act|Law|Code))\b", 2.5),
        (r"\bwithdraw(s|al|n)? [^.]{0,40}(rule|proposal)s?\b", 2.0),
    ),
    "guidance": _cues(
        (r"\bguidance\b", 3.0),
        (r"\bguidelines?\b", 3.0),
        (r"\bcodes? of (practice|conduct)\b", 2.0),
        (r"\b(FAQs?|Q&As?|questions and answers)\b", 2.5),
        (r"\bopinion\b", 2.5),
        (r"\borientations\b", 3.0),
        (r"\b(statement of policy|policy statement|supervisory statement|Dear CEO)\b", 2.5),
        (r"\bPS\d{2}/\d{1,2}\b|\bSS\d{1,2}/\d{2}\b", 3.0),
        (r"\b(memorandum|memo)\b|\bM-\d{2}-\d{2}\b", 3.0),
        (
            r"\b(toolkit|playbook|best practices?|principles|recommendations|handbook|checklist"
            r"|template)\b",
            1.0,
        ),
        (r"\b(white paper|policy paper)\b", 1.5),
        (r"\b(voluntary )?commitments\b", 2.0),
        (r"\baction plan\b", 2.0),
        (r"\bframework\b", 0.5),
    ),
    "standard": _cues(
        (r"\bISO/IEC\b|\bISO \d{3,5}\b|\bIEC \d{3,5}\b|\bIEEE( Std)? \d{3,5}\b", 4.0),
        (r"\b(standard|standards) (published|approved|adopted|withdrawn)\b", 3.0),
        (
            r"\b(published|publishes|approves|adopts|withdraws) (a |the |an )?[^.]{0,30}"
            r"\bstandards?\b",
            2.0,
        ),
        (
            r"\b(harmoni[sz]ed standards?|technical specification|draft international standard"
            r"|ballot|CEN-CENELEC|JTC 21|SC 42)\b",
            3.0,
        ),
        (r"\bstandards?\b", 1.0),
        (r"\bspecification\b", 1.5),
        (r"\brisk management framework\b|\bAI RMF\b", 3.0),
    ),
    "vendor-change": _cues(
        (r"\bdeprecat\w*\b", 3.0),
        (r"\bretire(s|d|ment)?\b|\bretiring\b", 3.0),
        (r"\bshut ?down\b|\bshuts? down\b|\bend[- ]of[- ]life\b|\bEOL\b|\bsunset\w*\b", 3.0),
        (
            r"\b(release notes?|changelog|now available|generally available|general availability"
            r"|\(GA\)|public preview)\b",
            3.0,
        ),
        (r"\b(usage|acceptable use) polic(y|ies)\b|\bterms of (service|use)\b", 2.5),
        (r"\b(pricing|price (cut|increase|change)s?|rate limits?|allowances?)\b", 2.0),
        (r"\bmodels? (family|snapshots?|versions?)\b", 1.5),
    ),
    "report": _cues(
        (r"\breports?\b", 1.5),
        (r"\b(study|research|survey|paper|index|findings|analysis)\b", 1.0),
        (r"\b(speech|remarks|testimony|keynote|podcast|webinar|event|conference)\b", 2.0),
        (r"\b(declaration|summit|communiqu[eé]|joint statement)\b", 2.5),
        (r"\bstatement\b", 1.0),
        (r"\b(issue )?spotlight\b|\bblog\b", 2.0),
        (r"\bnewsletter\b", 3.0),
        (r"\b(debate[sd]?|hearing|meets|meeting|working group|roundtable)\b", 1.5),
        (
            r"\b(raises|funding round|valuation|appoints|hires|opens an? (new )?office"
            r"|quarterly (results|earnings)|revenue)\b",
            3.5,
        ),
    ),
}


# Where publishers file a page says what it is (GOV.UK's /government/consultations/, a GitHub
# release tag, a /speeches/ section); it counts like a cue in the summary.
_URL_TYPE_CUES: tuple[tuple[str, re.Pattern[str], float], ...] = tuple(
    (type_id, re.compile(pattern, re.IGNORECASE), weight)
    for type_id, pattern, weight in (
        ("consultation", r"/consultations?/|/calls?-for-(evidence|views|input)", 3.0),
        ("guidance", r"/guidance/|/guidelines?/", 3.0),
        ("report", r"/speech(es)?/|/newsletters?/|/events?/|/statistics/|/research/", 6.0),
        ("enforcement", r"/enforcement(-action)?s?/|/penalt(y|ies)/", 3.0),
        ("legislation", r"legislation\.gov\.uk/|/eli/|/legal-content/", 3.0),
        (
            "vendor-change",
            r"/releases/tag/|/changelog|/release-notes|/whats-new|/deprecations",
            3.0,
        ),
    )
)


def item_type_of(item: Item) -> str:
    """The item's type: the publisher's kind sets a prior, cue phrases (and where the
    publisher filed the page) decide."""
    scores = dict.fromkeys(ITEM_TYPES, 0.0)
    scores["report"] = 0.5
    for type_id, prior in _publisher_type_priors(item):
        scores[type_id] += prior
    for type_id, pattern, weight in _URL_TYPE_CUES:
        if item.url and pattern.search(item.url):
            scores[type_id] += weight
    for type_id, cues in _TYPE_CUES.items():
        for pattern, weight in cues:
            if pattern.search(item.title):
                scores[type_id] += 2 * weight
            elif pattern.search(item.summary):
                scores[type_id] += weight
    return max(ITEM_TYPES, key=lambda type_id: scores[type_id])


def _publisher_type_priors(item: Item) -> list[tuple[str, float]]:
    category = item.source_category
    priors: list[tuple[str, float]] = []
    if category == "vendor" or (category is None and _is_vendor(item.publisher)):
        priors.append(("vendor-change", 6.0))
    if category == "standards-body" or (
        category is None and _STANDARDS_BODY.search(item.publisher)
    ):
        priors.append(("standard", 3.0))
    if category == "legislature" or (category is None and _LEGISLATURE.search(item.publisher)):
        priors.append(("legislation", 2.0))
    return priors


_STANDARDS_BODY = re.compile(
    r"\b(ISO|IEC|IEEE|CEN|CENELEC|ETSI|BSI|ANSI|JTC ?1|SC ?42|JTC ?21|Standards (Association"
    r"|Institution|Organi[sz]ation)|Standardi[sz]ation)\b"
)
_LEGISLATURE = re.compile(
    r"\b(Parliament|Congress|Senate|House of (Representatives|Commons|Lords)|General Assembly"
    r"|Legislature|Governor|Official Journal|State of [A-Z]\w+)\b"
)


# ---- jurisdiction -------------------------------------------------------------------------

_VENDORS = re.compile(
    r"\b(OpenAI|Anthropic|Google|DeepMind|Gemini|Microsoft|Azure|GitHub|Amazon|AWS|Meta"
    r"|Hugging ?Face|Mistral|Cohere|xAI|IBM|NVIDIA|Apple|Salesforce|Oracle|Stability AI"
    r"|Inflection|Perplexity|Baidu|Alibaba|Tencent|ByteDance|Databricks|Snowflake|Scale AI"
    r"|Adobe|Zoom|Slack|Atlassian|SAP|ServiceNow)\b"
)


def _is_vendor(publisher: str) -> bool:
    return bool(_VENDORS.search(publisher))


# Marks of an international body or gathering, checked before any single country.
_INTERNATIONAL = re.compile(
    r"\b(ISO|IEC|IEEE|OECD|United Nations|UN|UNESCO|ITU|WHO|G7|G20|Group of (Seven|Twenty)"
    r"|Council of Europe|Global Partnership on AI|World Bank|IMF|FSB|Financial Stability"
    r" Board|BIS|IOSCO|Basel Committee|W3C|IETF|Summit|summit participants|participants"
    r"|International|Secretary-General|multilateral)\b"
)
_JURISDICTION_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        (
            "EU",
            r"\b(European (Union|Commission|Parliament|Data Protection|Council|Central Bank"
            r"|Banking|Securities|Insurance|AI Office|Artificial Intelligence)|Council of the "
            r"(European Union|EU)|EU|EDPB|EDPS|ENISA|EBA|ESMA|EIOPA|Coreper|Official Journal of"
            r" the European|EUR-Lex|CEN-CENELEC|CENELEC|ETSI|AI Office|DG CNECT|Member States)\b",
        ),
        (
            "UK",
            r"\b(UK|U\.K\.|United Kingdom|Britain|British|England|Scotland|Scottish|Wales|Welsh"
            r"|Northern Ireland|ICO|Information Commissioner|FCA|Financial Conduct Authority|CMA"
            r"|Competition and Markets Authority|Ofcom|Ofgem|Ofwat|DSIT|DCMS|Department for "
            r"(Science|Business|Culture|Education|Work)|HM (Treasury|Government)|Bank of England"
            r"|PRA|Prudential Regulation Authority|NCSC|National Cyber Security Centre"
            r"|Intellectual Property Office|House of (Commons|Lords)|GOV\.UK|Westminster|DRCF"
            r"|Digital Regulation Cooperation Forum|EHRC|Equality and Human Rights Commission"
            r"|CDEI|Alan Turing Institute|MHRA|Home Office|Cabinet Office|Downing Street"
            r"|AI (Safety|Security) Institute)\b",
        ),
        (
            "US",
            r"\b(U\.S\.|US|USA|United States|American|America's|Federal (Trade|Reserve"
            r"|Register|Communications|Government|Bureau|Aviation|Election|Housing|Deposit)"
            r"|FTC|SEC|Securities and Exchange Commission|NIST|National Institute of "
            r"Standards|CFPB|Consumer Financial Protection Bureau|OMB|Office of Management and "
            r"Budget|White House|OSTP|Copyright Office|Department of (Commerce|Justice|Labor"
            r"|Defense|Homeland Security|Health|Education|State|the Treasury|Energy)|Congress"
            r"|Senate|House of Representatives|FDA|EEOC|Equal Employment Opportunity|FCC|CISA"
            r"|USPTO|DOJ|HHS|FINRA|CFTC|FHFA|OCC|Federal Reserve|NTIA|Biden|Trump|Harris"
            r"|NYC|New York City|CAISI"
            r"|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida"
            r"|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine"
            r"|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska"
            r"|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota"
            r"|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota"
            r"|Tennessee|Texas|Utah|Vermont|Virginia|Washington State|West Virginia|Wisconsin"
            r"|Wyoming)\b",
        ),
        ("CN", r"\b(China|Chinese|PRC|Cyberspace Administration|CAC|Beijing)\b"),
        ("KR", r"\b(Korea|Korean)\b"),
        ("JP", r"\b(Japan|Japanese)\b"),
        ("IT", r"\b(Italy|Italian|Italiana|Garante|AgID)\b"),
        ("FR", r"\b(France|French|CNIL)\b"),
        ("DE", r"\b(Germany|German|BfDI|BSI|Bundes\w+)\b"),
        ("ES", r"\b(Spain|Spanish|AEPD|AESIA)\b"),
        ("NL", r"\b(Netherlands|Dutch)\b"),
        ("IE", r"\b(Ireland|Irish|Data Protection Commission)\b"),
        ("CA", r"\b(Canada|Canadian|Ontario|Quebec)\b"),
        ("AU", r"\b(Australia|Australian|eSafety|OAIC)\b"),
        ("NZ", r"\b(New Zealand)\b"),
        ("SG", r"\b(Singapore|IMDA|PDPC)\b"),
        ("IN", r"\b(India|Indian|MeitY)\b"),
        ("BR", r"\b(Brazil|Brazilian|ANPD)\b"),
        ("CH", r"\b(Switzerland|Swiss)\b"),
        ("NO", r"\b(Norway|Norwegian)\b"),
        ("SE", r"\b(Sweden|Swedish)\b"),
        ("DK", r"\b(Denmark|Danish)\b"),
        ("FI", r"\b(Finland|Finnish)\b"),
        ("PL", r"\b(Poland|Polish)\b"),
        ("BE", r"\b(Belgium|Belgian)\b"),
        ("AT", r"\b(Austria|Austrian)\b"),
        ("AE", r"\b(United Arab Emirates|UAE|Dubai|Abu Dhabi)\b"),
        ("SA", r"\b(Saudi Arabia|Saudi)\b"),
        ("IL", r"\b(Israel|Israeli)\b"),
        ("HK", r"\b(Hong Kong)\b"),
        ("TW", r"\b(Taiwan)\b"),
        ("MX", r"\b(Mexico|Mexican)\b"),
        ("ZA", r"\b(South Africa)\b"),
        ("TR", r"\b(Turkey|Türkiye|Turkish)\b"),
        ("RU", r"\b(Russia|Russian)\b"),
        ("UA", r"\b(Ukraine|Ukrainian)\b"),
    )
)


def jurisdiction_of(item: Item) -> str:
    """The jurisdiction an item belongs to.

    The source's default when the item came from a known source, else what the publisher's
    name says; an international gathering or report in the title makes it INT, and the text
    decides when neither the source nor the publisher says anything (or the source is a
    secondary one that reports on others).
    """
    if _INTERNATIONAL.search(item.title) and not _is_vendor(item.publisher):
        return "INT"
    default = item.source_jurisdiction or _publisher_jurisdiction(item.publisher)
    if default is not None and item.source_category != "secondary":
        return default
    return _text_jurisdiction(item.text()) or default or "GLOBAL"


def _publisher_jurisdiction(publisher: str) -> str | None:
    """What a publisher's name says: a vendor is GLOBAL, an international body or several
    countries together INT, one national or EU body its jurisdiction."""
    if _is_vendor(publisher):
        return "GLOBAL"
    if _INTERNATIONAL.search(publisher):
        return "INT"
    named = [code for code, pattern in _JURISDICTION_MARKS if pattern.search(publisher)]
    if len(named) > 1:
        return "INT"
    return named[0] if named else None


def _text_jurisdiction(text: str) -> str | None:
    """The jurisdiction the text names first."""
    first: tuple[int, str] | None = None
    for code, pattern in _JURISDICTION_MARKS:
        match = pattern.search(text)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), code)
    return first[1] if first else None
