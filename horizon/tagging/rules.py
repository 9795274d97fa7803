"""The rules the learned tagger reads as features, and falls back on: catalogue phrases found
un-negated, the sentences of an item, cue phrases that say what kind of publication it is, and
marks that say which jurisdiction it concerns.

These are pure functions of an item's text and publisher. `horizon.tagging.features` turns
them into numbers; the trained heads in `horizon.tagging.model` decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from horizon.catalogue import Control
from horizon.item import ITEM_TYPES, Item

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


class PhraseSet:
    """Catalogue phrases compiled into one pattern; finds where they occur un-negated.

    Case does not matter, spaces and hyphens match each other, a trailing `*` matches any word
    ending, and a phrase right after "not", "no" and the like does not count; nor does one
    inside an exception ("Gemini Trust" is a crypto exchange, not the AI model).
    """

    def __init__(self, phrases: Iterable[str], exceptions: Iterable[str] = ()) -> None:
        listed = list(phrases)
        self._pattern = _alternation(listed)
        self._exceptions = _alternation(exceptions)
        self._requirements, self._always = _requirements(listed)

    def occurrences(self, text: str) -> list[str]:
        """Every occurrence, as written in the text and lower-cased, in order."""
        if self._pattern is None or not self._may_occur(text):
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

    def _may_occur(self, text: str) -> bool:
        """Whether every word of some phrase is among the text's words: a cheap check that
        spares most (sentence, control) pairs the scan of the whole alternation."""
        if self._always:
            return True
        tokens = set(_TOKEN.findall(text.lower()))
        return any(
            all(_word_present(word, tokens) for word in words) for words in self._requirements
        )


_TOKEN = re.compile(r"[a-z0-9]+")
# What one word of a phrase needs among a text's tokens: one of these tokens, or (a `x*` word)
# a token starting with the stem; `*` alone needs nothing.
_Word = tuple[frozenset[str], str | None]


def _word_present(word: _Word, tokens: set[str]) -> bool:
    exact, stem = word
    if stem is not None:
        return any(token.startswith(stem) for token in tokens)
    return bool(exact & tokens)


def _requirements(phrases: Iterable[str]) -> tuple[list[list[_Word]], bool]:
    """Each phrase's words as token requirements (a word with punctuation, "Art." or
    "A.I.", needs each of its letter-and-digit runs; one ending in `*` only when plain), and
    whether the set must always be scanned (never, so far: kept for phrases of nothing but
    punctuation)."""
    listed: list[list[_Word]] = []
    for phrase in phrases:
        words: list[_Word] = []
        for word in (w.lower() for w in re.split(r"[\s\-]+", phrase.strip()) if w):
            stem = word.removesuffix("*")
            if word == "ai":
                words.append((frozenset({"ai", "artificial"}), None))
            elif _TOKEN.fullmatch(stem) and word.endswith("*"):
                words.append((frozenset(), stem))
            elif _TOKEN.fullmatch(stem):
                words.append((frozenset({stem}), None))
            elif not word.endswith("*"):
                words.extend((frozenset({run}), None) for run in _TOKEN.findall(word))
        if not words:
            return [], True
        listed.append(words)
    return listed, False


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


def sentences(item: Item) -> list[str]:
    """The title, then each sentence of the summary."""
    body = [sentence.strip() for sentence in _SENTENCE_END.split(item.summary) if sentence.strip()]
    return [item.title, *body]


def content_words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}


def control_vocabulary(control: Control) -> set[str]:
    return content_words(" ".join([control.name, control.description, *control.examples]))


# ---- item type ----------------------------------------------------------------------------


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
    """The item's type by the rules alone: the publisher's kind sets a prior, cue phrases (and
    where the publisher filed the page) decide."""
    scores = type_cue_scores(item)
    return max(ITEM_TYPES, key=lambda type_id: scores[type_id])


def type_cue_scores(item: Item) -> dict[str, float]:
    """How strongly the publisher's kind, the page's address and the cue phrases point at each
    type (a cue in the title counts double; with no cue the item leans to report)."""
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
    return scores


def _publisher_type_priors(item: Item) -> list[tuple[str, float]]:
    category = item.source_category
    priors: list[tuple[str, float]] = []
    if category == "vendor" or (category is None and is_vendor(item.publisher)):
        priors.append(("vendor-change", 6.0))
    if category == "standards-body" or (category is None and STANDARDS_BODY.search(item.publisher)):
        priors.append(("standard", 3.0))
    if category == "legislature" or (category is None and LEGISLATURE.search(item.publisher)):
        priors.append(("legislation", 2.0))
    return priors


STANDARDS_BODY = re.compile(
    r"\b(ISO|IEC|IEEE|CEN|CENELEC|ETSI|BSI|ANSI|JTC ?1|SC ?42|JTC ?21|Standards (Association"
    r"|Institution|Organi[sz]ation)|Standardi[sz]ation)\b"
)
LEGISLATURE = re.compile(
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


def is_vendor(publisher: str) -> bool:
    return bool(_VENDORS.search(publisher))


# Marks of an international body or gathering, checked before any single country.
INTERNATIONAL = re.compile(
    r"\b(ISO|IEC|IEEE|OECD|United Nations|UN|UNESCO|ITU|WHO|G7|G20|Group of (Seven|Twenty)"
    r"|Council of Europe|Global Partnership on AI|World Bank|IMF|FSB|Financial Stability"
    r" Board|IOSCO|Basel Committee|W3C|IETF|WIPO|World Intellectual Property Organi[sz]ation"
    r"|WTO|World Trade Organi[sz]ation|Summit|summit participants|participants"
    r"|International|Secretary-General|multilateral)\b"
)
JURISDICTION_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
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
            r"|British Standards Institution|BS \d{3,5}"
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
        ("DE", r"\b(Germany|German|BfDI|Bundes\w+)\b"),
        ("ES", r"\b(Spain|Spanish|AEPD|AESIA)\b"),
        ("NL", r"\b(Netherlands|Dutch)\b"),
        ("IE", r"\b(Ireland|Irish|(?<!Personal )Data Protection Commission)\b"),
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
        ("GR", r"\b(Greece|Greek|Hellenic)\b"),
        ("PT", r"\b(Portugal|Portuguese)\b"),
        ("CZ", r"\b(Czech Republic|Czechia|Czech)\b"),
        ("HU", r"\b(Hungary|Hungarian)\b"),
        ("RO", r"\b(Romania|Romanian)\b"),
        ("LU", r"\b(Luxembourg)\b"),
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
        # the rest of the EU's members and the EEA
        ("SK", r"\b(Slovakia|Slovak)\b"),
        ("SI", r"\b(Slovenia|Slovenian)\b"),
        ("HR", r"\b(Croatia|Croatian)\b"),
        ("BG", r"\b(Bulgaria|Bulgarian)\b"),
        ("EE", r"\b(Estonia|Estonian)\b"),
        ("LV", r"\b(Latvia|Latvian)\b"),
        ("LT", r"\b(Lithuania|Lithuanian)\b"),
        ("CY", r"\b(Cyprus|Cypriot)\b"),
        ("MT", r"\b(Malta|Maltese)\b"),
        ("IS", r"\b(Iceland|Icelandic)\b"),
        # Latin America, Africa, the Middle East and South-East Asia
        ("AR", r"\b(Argentina|Argentine|Argentinian|Buenos Aires)\b"),
        ("CL", r"\b(Chile|Chilean)\b"),
        ("CO", r"\b(Colombia|Colombian)\b"),
        ("PE", r"\b(Peru|Peruvian)\b"),
        ("KE", r"\b(Kenya|Kenyan)\b"),
        ("NG", r"\b(Nigeria|Nigerian)\b"),
        ("RW", r"\b(Rwanda|Rwandan)\b"),
        ("EG", r"\b(Egypt|Egyptian)\b"),
        ("QA", r"\b(Qatar|Qatari)\b"),
        ("ID", r"\b(Indonesia|Indonesian)\b"),
        ("VN", r"\b(Vietnam|Viet Nam|Vietnamese)\b"),
        ("TH", r"\b(Thailand|Thai)\b"),
        ("MY", r"\b(Malaysia|Malaysian)\b"),
        ("PH", r"\b(Philippines|Philippine|Filipino)\b"),
    )
)


def jurisdiction_of(item: Item) -> str:
    """The jurisdiction an item belongs to.

    The source's default when the item came from a known source, else what the publisher's
    name says; an international gathering or report in the title makes it INT, and the text
    decides when neither the source nor the publisher says anything (or the source is a
    secondary one that reports on others).
    """
    if INTERNATIONAL.search(item.title) and not is_vendor(item.publisher):
        return "INT"
    default = item.source_jurisdiction or publisher_jurisdiction(item.publisher)
    if default is not None and item.source_category != "secondary":
        return default
    return text_jurisdiction(item.text()) or default or "GLOBAL"


def publisher_jurisdiction(publisher: str) -> str | None:
    """What a publisher's name says: a vendor is GLOBAL, an international body or several
    countries together INT, one national or EU body its jurisdiction."""
    if is_vendor(publisher):
        return "GLOBAL"
    if INTERNATIONAL.search(publisher):
        return "INT"
    named = [code for code, pattern in JURISDICTION_MARKS if pattern.search(publisher)]
    if len(named) > 1:
        return "INT"
    return named[0] if named else None


def text_jurisdiction(text: str) -> str | None:
    """The jurisdiction the text names first."""
    first: tuple[int, str] | None = None
    for code, pattern in JURISDICTION_MARKS:
        match = pattern.search(text)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), code)
    return first[1] if first else None


# Where an address is hosted says whose it is: a country's top-level domain (.uk, .fr; .eu for
# the EU) for every jurisdiction the marks above know, the US federal .gov and .mil, and .int
# for treaty bodies; .com, .org and the like say nothing.
# Country domains (`.co`, Colombia's, is left out: it is mostly used as a generic one).
_GENERIC_COUNTRY_DOMAINS = {"co"}
_DOMAIN_JURISDICTIONS = {
    code.lower(): code
    for code, _ in JURISDICTION_MARKS
    if code.lower() not in _GENERIC_COUNTRY_DOMAINS
} | {
    "gov": "US",
    "mil": "US",
    "int": "INT",
}


def host_jurisdiction(url: str | None) -> str | None:
    """The jurisdiction the address's host belongs to, by its last label (None when it says
    nothing or there is no address)."""
    host = (urlsplit(url or "").hostname or "").lower()
    return _DOMAIN_JURISDICTIONS.get(host.rsplit(".", 1)[-1]) if host else None
