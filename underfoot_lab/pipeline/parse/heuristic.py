"""The offline parser: finds the location in a query with the embedded gazetteer, no model.

How a query is read ("weird stuff to do in Portland Oregon"):

1. A 5-digit ZIP code that the ZIP table knows wins outright (confidence 0.95).
2. Otherwise every token n-gram up to the longest town name is looked up in the gazetteer
   (a set lookup per n-gram; nothing scans the 17k towns). Each hit is scored: a state right
   after it that really has a town of that name (``"Pikeville KY"``, ``"Ely, MN"``,
   ``"Portland Oregon"``), a preposition before it (in/near/around/at/by/outside...), sitting at
   the end of the query, capitalisation (when the query's casing carries information), and
   length (``"Eureka Springs"`` beats ``"Springs"``).
3. Common English words that are also town names (Cool, CA; Surprise, AZ; Beach, ND...) are only
   taken when a preposition or a state backs them up, and never beat a proper match.
4. The intent is the query minus the location, its preposition and trivial filler
   (``"things to do"`` stays); nothing left means ``"hidden gems"``.

``location`` is ``"Town, ST"`` when the query named the state or the name is unique, and the bare
town name when it is ambiguous, so the geocoder still sees (and reports) the ambiguity.
Confidence: ZIP 0.95; town + state 0.93-0.95; a unique town alone 0.7-0.78; an ambiguous name
at most 0.6 (0.45 + 0.15 x the biggest town's share of the population of all towns with that
name); weak evidence (a common word, no preposition) lowers each further.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ...errors import BadQuery, LocationNotFound
from ...geo.gazetteer import STATE_ABBREVIATIONS, Gazetteer, Town, get_gazetteer, normalize_name
from ...records import Availability, ParsedQuery
from ...registry import ProviderContext
from ...settings import Settings
from .base import town_parse

DEFAULT_INTENT = "hidden gems"

# Letters/digits, joined by inner apostrophes (and the Hawaiian okina), periods and hyphens
# ("d'Alene", "D.C", "Winston-Salem", "Kapa‘a"), so a token normalises like the gazetteer name.
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’‘ʻ.\-][^\W_]+)*")
_ZIP_RE = re.compile(r"(?<![\w-])(\d{5})(?:-\d{4})?(?![\w-])")
_PUNCT_AFTER_RE = re.compile(r"\s*[,.;:!?()]")

STRONG_PREPOSITIONS = frozenset(
    {"in", "near", "around", "at", "by", "outside", "nearby", "within", "throughout", "across"}
)
"""A location usually follows these ("dive bars in ...")."""
WEAK_PREPOSITIONS = frozenset({"to", "from", "visiting", "visit", "for", "of", "about", "toward"})
TWO_WORD_PREPOSITIONS = frozenset(
    {("close", "to"), ("outside", "of"), ("next", "to"), ("near", "to")}
)
# Words allowed between the preposition and the town ("in the Pikeville area", "in downtown Ely").
_BRIDGE_WORDS = frozenset({"the", "downtown", "historic", "beautiful", "greater", "central"})
# Words allowed after the location that belong to it ("in the Pikeville area").
_LOCATION_SUFFIX = frozenset({"area", "region", "vicinity", "metro", "surroundings", "usa"})
# Capitalisation is not expected on these inside a town name ("Isle of Palms", "Lake of the Woods").
_NAME_CONNECTORS = frozenset(
    {"of", "the", "de", "del", "la", "le", "on", "by", "and", "du", "d", "in", "at"}
)

# Two-letter state codes that are also English words; lower-case, they only count as a state at
# the end of the query or before punctuation ("portland or" yes, "Portland or Seattle" no).
_WORDLIKE_CODES = frozenset(
    {"in", "or", "me", "hi", "ok", "oh", "as", "la", "pa", "ma", "id", "de", "co", "al", "mo"}
)

_LEADING_FILLER = (
    "please",
    "can you",
    "could you",
    "show me",
    "find me",
    "find",
    "search for",
    "search",
    "looking for",
    "i'm looking for",
    "im looking for",
    "i am looking for",
    "i want",
    "i'd like",
    "give me",
    "tell me about",
    "recommend",
    "what are some",
    "what are the",
    "what are",
    "where are the",
    "where are",
    "are there any",
    "are there",
)
_TRAILING_FILLER = frozenset(
    {
        "in",
        "near",
        "around",
        "at",
        "by",
        "outside",
        "the",
        "of",
        "and",
        "for",
        "from",
        "to",
        "within",
        "please",
        "area",
        "region",
        "thanks",
    }
)

_COMMON_WORDS_TEXT = """
    a an the and or but nor so yet of in on at by for to from with without near nearby around
    outside inside into onto over under about above below between within across along past off
    up down out this that these those there here where what which who whom how when why is are
    was were be been being am do does did done doing have has had can could should would will
    may might must i me my mine we us our you your they them their it its he she his her some
    any all most more less best top good great cool fun free cheap new old local hidden secret
    weird unique unusual quirky offbeat strange odd interesting unknown underrated overlooked
    lesser little big small tiny huge nice lovely beautiful pretty quiet peaceful romantic
    cozy chill relaxing authentic real true favorite popular famous hip trendy fancy classic
    early late open closed near far north south east west northern southern eastern western
    central downtown uptown midtown center centre city town village county state country
    gem gems spot spots place places thing things stuff activity activities attraction
    attractions sight sights food foods eats eat restaurant restaurants diner diners bar bars
    pub pubs dive dives cafe cafes coffee tea breakfast brunch lunch dinner dessert desserts
    tacos taco pizza bbq barbecue burgers burger ramen sushi noodles bakery bakeries bread
    brewery breweries beer wine winery wineries vineyard vineyards distillery cocktails
    cocktail drinks museum museums gallery galleries art arts music live show shows concert
    concerts event events festival festivals fair fairs market markets shop shops shopping
    store stores thrift vintage antique antiques bookstore bookstores books records record
    park parks trail trails hike hikes hiking walk walks walking bike biking swim swimming
    hole holes waterfall waterfalls falls cave caves cavern caverns lake lakes river rivers
    creek creeks spring springs hot beach beaches ocean sea bay harbor harbour island islands
    mountain mountains hill hills valley valleys canyon canyons ridge summit peak rock rocks
    forest woods garden gardens view views sunset sunrise scenic overlook overlooks lookout
    camping camp campground picnic kid kids family families date night nights nightlife
    speakeasy speakeasies underground rooftop patio outdoor outdoors indoor history historic
    historical haunted ghost ghosts tour tours drive drives day days trip trips weekend
    weekends tonight today tomorrow spring summer fall autumn winter christmas holiday holidays
    halloween thanksgiving easter year time way ways idea ideas list guide must see visit
    visiting go going get getting find finding look looking want need like love try
    advance alliance alpha ball bear bell bells bend branch bright brilliant brush cactus cache
    century circle clever college combine comfort commerce congress continental convent council
    crest cricket crystal deposit diamond drain eagle earth eclectic economy eden effort energy
    english enigma enterprise experiment fate fossil fountain freedom friend friends friendly
    friendship gap gateway glen globe golden green grill grove haven hazard heath hideaway
    highland highlands holiday home homes hometown hope humble hurricane hurt imperial
    independence industry junction justice king landing landmark lead liberal liberty
    limestone loving luck loyal mammoth many marathon mascot media metropolis midway mission
    mobile mogul monument mound mystic needles noble normal oasis opportunity oracle orange
    pace page panhandle paradise parachute peculiar pearl pigeon pinch pine pink pioneer plains
    plateau plum post price progress prospect prosper prosperity purchase rainbow rapids raven
    reading reform republic reserve reservoir rice rifle riverside riverview rush shamrock
    sisters spur star stars strong sulphur sunny superior supreme surprise sycamore talent
    temple temperance thermal toast tool tornado triangle trinity union unity university
    violet volcano walls ward welcome winner wise worth chinatown celebration sky end point
    square station village heights grand rapid
"""
COMMON_WORDS = frozenset(_COMMON_WORDS_TEXT.split())
"""Words that, alone or only together ("Old Town", "Mountain View"), make a weak town match."""


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    norm: str
    cap: bool
    shout: bool
    """All upper-case in a query that is not all upper-case ("KY", "IN")."""


@dataclass(slots=True)
class _Candidate:
    i: int
    j: int
    """Token range [i, j) of the town name."""
    name: str
    """Normalised gazetteer name (the alias target for aliases)."""
    towns: list[Town]
    alias_state: str | None = None
    state: str | None = None
    """Code of the state named right after the town, if any."""
    end: int = 0
    """Token index just past the location (state and suffix words included)."""
    state_end: int = 0
    in_state: list[Town] = field(default_factory=list)
    prep_start: int | None = None
    prep_strong: bool = False
    at_end: bool = False
    whole: bool = False
    common: bool = False
    is_state_name: bool = False
    capitalised: bool | None = None
    """None when the query's casing carries no information."""
    score: float = 0.0

    @property
    def confirmed(self) -> bool:
        return self.state is not None and bool(self.in_state)

    @property
    def mismatched(self) -> bool:
        return self.state is not None and not self.in_state


class HeuristicParser:
    """Gazetteer-backed offline parser (registered as ``"heuristic"``)."""

    name = "heuristic"

    def __init__(self, gazetteer_loader: Callable[[], Gazetteer] | None = None) -> None:
        # A zero-arg loader keeps the gazetteer lazy: nothing loads until the first parse.
        self._loader = gazetteer_loader or get_gazetteer

    @classmethod
    def availability(cls, settings: Settings) -> Availability:
        return Availability(True, "offline heuristic parser; always available")

    @classmethod
    def create(cls, ctx: ProviderContext) -> HeuristicParser:
        return cls(ctx.gazetteer_loader)

    async def parse(self, text: str) -> ParsedQuery:
        """See :meth:`parse_sync` (the work is CPU-only and takes well under a millisecond)."""
        return self.parse_sync(text)

    # ------------------------------------------------------------------------------------ main
    def parse_sync(self, text: str) -> ParsedQuery:
        """Split ``text`` into location and intent.

        Raises :class:`~underfoot_lab.errors.LocationNotFound` (with "Town, ST" suggestions) when
        no known place is in the query, and :class:`~underfoot_lab.errors.BadQuery` when the text
        is empty.
        """
        if not text or not text.strip():
            raise BadQuery("The query is empty.")
        g = self._loader()
        tokens = _tokenize(text)
        if not tokens:
            raise BadQuery("The query has no words.")
        notes: list[str] = []
        candidates = self._candidates(g, text, tokens)

        zip_parsed = self._parse_zip(g, text, tokens, candidates, notes)
        if zip_parsed is not None:
            return zip_parsed

        eligible = [c for c in candidates if self._eligible(c)]
        for c in candidates:
            if c.common and c not in eligible:
                span = text[tokens[c.i].start : tokens[c.j - 1].end]
                notes.append(f"ignored {span!r}: a common word that is also a town name")
        if not eligible:
            raise self._not_found(g, text, tokens, notes)
        best = max(eligible, key=lambda c: (c.score, c.j))
        # "between Austin TX and Marfa TX": a second confirmed town + state is a second place.
        # Search one (the same deterministic pick as always), keep the other out of the intent
        # and say so, rather than leaving "between Austin TX" in the intent.
        also = [
            c
            for c in eligible
            if c is not best
            and c.confirmed
            and best.confirmed
            and (c.end <= best.i or c.i >= best.end)
        ]
        return self._build(g, text, tokens, best, notes, also)

    # ------------------------------------------------------------------------------ candidates
    def _candidates(self, g: Gazetteer, text: str, tokens: list[_Token]) -> list[_Candidate]:
        n = len(tokens)
        max_words = g.max_name_words
        alpha = [t for t in tokens if any(ch.isalpha() for ch in t.text)]
        # Casing means something only when the query mixes it (not all-lower, all-caps or all
        # Title Case). The first word is capitalised by habit, so it does not count.
        caps_informative = any(t.cap for t in alpha[1:]) and any(not t.cap for t in alpha)
        out: list[_Candidate] = []
        for i in range(n):
            if tokens[i].norm.isdigit():
                continue
            for length in range(min(max_words, n - i), 0, -1):
                j = i + length
                span = tokens[i:j]
                if any(_ZIP_RE.fullmatch(t.text) for t in span):
                    continue
                name = " ".join(t.norm for t in span)
                alias = None if g.has_name(name) else g.alias(name)
                if alias is not None:
                    target, alias_state = alias
                    towns = g.lookup(target, alias_state)
                    name = target
                elif g.has_name(name):
                    towns, alias_state = g.lookup(name), None
                else:
                    continue
                if not towns:
                    continue
                c = _Candidate(i=i, j=j, name=name, towns=towns, alias_state=alias_state)
                self._describe(g, text, tokens, c, caps_informative)
                out.append(c)
        return out

    def _describe(
        self, g: Gazetteer, text: str, tokens: list[_Token], c: _Candidate, caps_informative: bool
    ) -> None:
        n = len(tokens)
        words = [t.norm for t in tokens[c.i : c.j]]
        flat = " ".join(words).split()
        c.common = all(w in COMMON_WORDS for w in flat)
        c.is_state_name = c.alias_state is None and c.name in g.state_names_normalized

        # A state right after the town (comma optional).
        c.end = c.state_end = c.j
        state = _state_at(g, text, tokens, c.j)
        if state is not None:
            c.state, c.state_end = state
            c.end = c.state_end
            c.in_state = [t for t in c.towns if t.state_code == c.state]
        elif c.alias_state is not None:
            c.in_state = list(c.towns)
        while c.end < n and tokens[c.end].norm in _LOCATION_SUFFIX:
            c.end += 1

        # The preposition before it, skipping "the"/"downtown".
        k = c.i - 1
        while k >= 0 and c.i - k <= 2 and tokens[k].norm in _BRIDGE_WORDS:
            k -= 1
        if k >= 0:
            w = tokens[k].norm
            if k >= 1 and (tokens[k - 1].norm, w) in TWO_WORD_PREPOSITIONS:
                c.prep_start, c.prep_strong = k - 1, True
            elif w in STRONG_PREPOSITIONS:
                c.prep_start, c.prep_strong = k, True
            elif w in WEAK_PREPOSITIONS:
                c.prep_start = k

        c.at_end = c.end == n
        first = c.prep_start if c.prep_start is not None else c.i
        c.whole = c.at_end and first == 0

        if caps_informative:
            significant = [t for t in tokens[c.i : c.j] if t.norm not in _NAME_CONNECTORS]
            c.capitalised = all(t.cap for t in significant)

        score = 0.0
        if c.confirmed:
            score += 6.0
        elif c.mismatched:
            score -= 1.0
        if c.prep_start is not None:
            score += 3.0 if c.prep_strong else 1.5
        if c.at_end:
            score += 2.0
        if c.whole:
            score += 2.0
            if c.i == 0:  # the query is exactly a place name ("Lake in the Hills")
                score += 3.0
        if c.capitalised is True and (c.i > 0 or c.confirmed):
            score += 2.0
        elif c.capitalised is False:
            score -= 2.0
        score += 1.0 * (len(flat) - 1)
        if c.common:
            score -= 1.0 if c.confirmed else 4.0
        if c.is_state_name and not c.confirmed:
            score -= 2.0
        score += math.log10(c.towns[0].population + 1) / 100.0
        c.score = score

    @staticmethod
    def _eligible(c: _Candidate) -> bool:
        # A common word needs backing: a state that has such a town, a preposition, or being the
        # whole query ("Surprise" alone is a question about Surprise, AZ).
        if c.common:
            return c.confirmed or c.prep_strong or c.whole
        return True

    # ---------------------------------------------------------------------------------- ZIP
    def _parse_zip(
        self,
        g: Gazetteer,
        text: str,
        tokens: list[_Token],
        candidates: list[_Candidate],
        notes: list[str],
    ) -> ParsedQuery | None:
        for m in _ZIP_RE.finditer(text):
            code = m.group(1)
            info = g.zip_code(code)
            if info is None:
                notes.append(f"unknown ZIP code {code}")
                continue
            start, end = m.start(), m.end()
            # The preposition before the ZIP goes with it ("near 41501").
            before = [t for t in tokens if t.end <= start]
            removals = []
            cut = start
            if before and before[-1].norm in STRONG_PREPOSITIONS | WEAK_PREPOSITIONS:
                cut = before[-1].start
            removals.append((cut, end))
            # "Pikeville KY 41501": the town naming the ZIP's city leaves the intent too.
            city = normalize_name(info.city)
            hint: str | None = None
            for c in candidates:
                if c.name == city:
                    first = c.prep_start if c.prep_start is not None else c.i
                    removals.append((tokens[first].start, tokens[c.state_end - 1].end))
                    if c.state == info.state_code:
                        hint = c.state
            notes.append(f"ZIP {code} -> {info.city}, {info.state_code}")
            intent = _intent(text, removals, notes)
            return ParsedQuery(
                text=text,
                location=f"{info.city}, {info.state_code}",
                intent=intent,
                confidence=0.95,
                parser=self.name,
                location_span=(start, end),
                admin1_hint=hint,
                zip_code=code,
                notes=tuple(notes),
            )
        return None

    # -------------------------------------------------------------------------------- result
    def _build(
        self,
        g: Gazetteer,
        text: str,
        tokens: list[_Token],
        best: _Candidate,
        notes: list[str],
        also: Sequence[_Candidate] = (),
    ) -> ParsedQuery:
        span_text = text[tokens[best.i].start : tokens[best.j - 1].end]
        if best.mismatched:
            assert best.state is not None
            display = best.towns[0].name
            state_name = g.state_name(best.state)
            suggestions = [t.label for t in g.suggest(display, best.state)]
            suggestions += [t.label for t in best.towns[:3] if t.label not in suggestions]
            raise LocationNotFound(
                f"No town named {display} in {state_name}.", tuple(suggestions[:4])
            )
        if best.is_state_name and not best.confirmed:
            if best.i > 0 and tokens[best.i - 1].norm not in STRONG_PREPOSITIONS:
                # "weird stuff in Lubec, Maine": the words before the state are a town the
                # gazetteer does not know; say that, not "Maine is a state".
                raise self._not_found(g, text, tokens, notes)
            code = g.state_code(best.name)
            assert code is not None
            suggestions = [t.label for t in g.largest(code, 3)]
            if best.towns[0].label not in suggestions:
                suggestions.append(best.towns[0].label)
            raise LocationNotFound(
                f"{g.state_name(code)} is a state; name a town in it.", tuple(suggestions)
            )

        pool = best.in_state if (best.confirmed or best.alias_state) else best.towns
        top = pool[0]
        states = {t.state_code for t in pool}
        ambiguous = len(states) > 1
        weak = best.common or best.capitalised is False
        hedge = (0.1 if best.common else 0.0) + (0.05 if best.capitalised is False else 0.0)

        if best.state is not None:
            location = f"{top.name}, {best.state}"
            confidence = 0.95 if (best.prep_strong or best.whole) else 0.93
            named = text[tokens[best.i].start : tokens[best.state_end - 1].end]
            notes.append(f"location {named!r} -> {top.label} (town + state)")
            admin1_hint: str | None = best.state
        elif not ambiguous:
            location = f"{top.name}, {top.state_code}"
            confidence = 0.78 if (best.prep_start is not None or best.at_end) else 0.7
            how = "alias" if best.alias_state else "the only town with that name"
            notes.append(f"location {span_text!r} -> {top.label} ({how})")
            admin1_hint = None
        else:
            total = sum(max(t.population, 1) for t in pool)
            share = max(top.population, 1) / total
            confidence = 0.45 + 0.15 * share
            if best.prep_start is None and not best.at_end:
                confidence -= 0.05
            location = top.name
            others = ", ".join(t.label for t in pool[1:4] if t.label != top.label)
            n_named = len({t.label for t in pool})
            notes.append(
                f"ambiguous: {n_named} towns named {top.name}; picked the most populous "
                f"({top.label}, pop {top.population:,})" + (f"; also {others}" if others else "")
            )
            admin1_hint = None
        if weak:
            why = "a common word" if best.common else "not capitalised"
            notes.append(f"weak match: {span_text!r} is {why}")
        confidence = min(0.99, max(0.05, confidence - hedge))

        first = best.prep_start if best.prep_start is not None else best.i
        removals = [(tokens[first].start, tokens[best.end - 1].end)]
        if also:
            named_others = []
            for other in also:
                start = other.prep_start if other.prep_start is not None else other.i
                removals.append((tokens[start].start, tokens[other.end - 1].end))
                named_others.append(f"{other.in_state[0].name}, {other.state}")
            notes.append(
                f"several places: {', '.join(named_others)} and {location}; searched {location}"
                " only (ask for one place per query)"
            )
        intent = _intent(text, removals, notes, joiners=bool(also))
        span = (tokens[best.i].start, tokens[best.state_end - 1].end)
        return town_parse(text, location, intent, confidence, self.name, span, admin1_hint, notes)

    # ---------------------------------------------------------------------------- not found
    def _not_found(
        self, g: Gazetteer, text: str, tokens: list[_Token], notes: list[str]
    ) -> LocationNotFound:
        n = len(tokens)
        unknown_zip = next((x for x in notes if x.startswith("unknown ZIP")), None)
        if any(a.norm == "near" and b.norm == "me" for a, b in itertools.pairwise(tokens)):
            return LocationNotFound(
                "'near me' needs a place: the workbench cannot see where you are; name a US town."
            )
        # 1. A state is named: the words before it (back to a preposition) are the town.
        for k in range(n - 1, -1, -1):
            state = _state_at(g, text, tokens, k, strict=True)
            if state is None:
                continue
            code = state[0]
            lo = k
            while lo > 0 and k - lo < 4 and tokens[lo - 1].norm not in STRONG_PREPOSITIONS:
                lo -= 1
            name_tokens = tokens[lo:k]
            # Drop leading query words ("best tacos Springfeld IL"), keep the rest as the name.
            while len(name_tokens) > 1 and name_tokens[0].norm in COMMON_WORDS:
                name_tokens = name_tokens[1:]
            if not name_tokens:
                return LocationNotFound(
                    f"{g.state_name(code)} is a state; name a town in it.",
                    tuple(t.label for t in g.largest(code, 3)),
                )
            name = text[name_tokens[0].start : name_tokens[-1].end]
            suggestions = _suggest_labels(g, [t.norm for t in name_tokens], code)
            return LocationNotFound(
                f"Unknown place {name!r} in {g.state_name(code)} "
                "(the embedded gazetteer has GeoNames towns of about 1,000+ people).",
                tuple(suggestions),
            )
        # 2. The words after the last location preposition.
        for k in range(n - 1, -1, -1):
            if tokens[k].norm in STRONG_PREPOSITIONS and k + 1 < n:
                tail: list[_Token] = []
                for t in tokens[k + 1 : k + 5]:
                    if tail and _PUNCT_AFTER_RE.match(text, tail[-1].end):
                        break
                    tail.append(t)
                tail = [t for t in tail if t.norm not in COMMON_WORDS and not t.norm.isdigit()]
                if tail:
                    name = text[tail[0].start : tail[-1].end]
                    suggestions = _suggest_labels(g, [t.norm for t in tail], None)
                    return LocationNotFound(f"Unknown place {name!r}.", tuple(suggestions))
                break
        if unknown_zip:
            return LocationNotFound(f"{unknown_zip[0].upper()}{unknown_zip[1:]}; name a town.")
        return LocationNotFound(
            "No location found in the query; add a US town, e.g. 'hidden gems in Pikeville, KY'."
        )


# ------------------------------------------------------------------------------------ helpers
def _tokenize(text: str) -> list[_Token]:
    raw = [(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]
    letters = [ch for ch in text if ch.isalpha()]
    all_upper = bool(letters) and all(ch.isupper() for ch in letters)
    out = []
    for word, start, end in raw:
        norm = normalize_name(word)
        if not norm:
            continue
        out.append(
            _Token(
                text=word,
                start=start,
                end=end,
                norm=norm,
                # "d'Alene", "McMinnville": any capital letter counts.
                cap=any(ch.isupper() for ch in word) or word[0].isdigit(),
                shout=not all_upper and len(word) > 1 and word.isupper(),
            )
        )
    return out


def _state_at(
    g: Gazetteer, text: str, tokens: list[_Token], k: int, *, strict: bool = False
) -> tuple[str, int] | None:
    """The state named at token ``k`` as (code, index past it), or None.

    ``strict`` (used when hunting for a misspelt town, with no town to anchor the state) refuses
    lower-case codes that are ordinary words ("near me" is not Maine).
    """
    n = len(tokens)
    names = g.state_names_normalized
    for length in (3, 2, 1):
        if k + length > n:
            continue
        span = tokens[k : k + length]
        norm = " ".join(t.norm for t in span)
        if norm in names:
            return names[norm], k + length
        if norm in STATE_ABBREVIATIONS:
            # "Calif." / "D.C." / "W. Va.": only with the period, so "wash" or "miss" are words.
            last = span[-1]
            dotted = "." in text[span[0].start : last.end] or text[last.end : last.end + 1] == "."
            if dotted:
                return STATE_ABBREVIATIONS[norm], k + length
        if length == 1:
            t = span[0]
            if len(t.text) == 2 and t.text.upper() in g.states and t.text.isalpha():
                if t.norm in _WORDLIKE_CODES and not t.shout:
                    if strict:
                        continue
                    if k != n - 1 and not _PUNCT_AFTER_RE.match(text, t.end):
                        continue
                return t.text.upper(), k + 1
    return None


def _suggest_labels(g: Gazetteer, words: list[str], state: str | None) -> list[str]:
    """Close spellings for the whole phrase, then for its last words, as "Town, ST" labels."""
    labels: list[str] = []
    phrases = [" ".join(words[i:]) for i in range(len(words))]
    for phrase in phrases:
        for t in g.suggest(phrase, state):
            if t.label not in labels:
                labels.append(t.label)
        if len(labels) >= 3:
            break
    return labels[:3]


_JOINERS = frozenset({"between", "and", "or", "&", "to", "from", "vs", "versus"})


def _intent(
    text: str, removals: list[tuple[int, int]], notes: list[str], *, joiners: bool = False
) -> str:
    """The query minus the location (and its preposition), trimmed of filler.

    ``joiners``: several places were removed, so words that only joined them ("between",
    "and") are dropped where they now dangle at the end of the intent.
    """
    keep = []
    pos = 0
    for start, end in sorted(removals):
        if start > pos:
            keep.append(text[pos:start])
        pos = max(pos, end)
    keep.append(text[pos:])
    s = " ".join(keep)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"\s+([,.;:!?])", r"\1", s)
    strip_chars = " ,.;:!?-–—'\"()"
    changed = True
    while changed:
        changed = False
        s = s.strip(strip_chars)
        low = s.lower()
        for phrase in _LEADING_FILLER:
            if low == phrase or low.startswith(phrase + " "):
                s = s[len(phrase) :]
                changed = True
                break
        words = s.split()
        last = words[-1].lower().strip(strip_chars) if words else ""
        if words and (last in _TRAILING_FILLER or (joiners and last in _JOINERS)):
            s = " ".join(words[:-1])
            changed = True
    if not any(ch.isalnum() for ch in s):
        notes.append(f"no intent left once the location was removed; using {DEFAULT_INTENT!r}")
        return DEFAULT_INTENT
    return s
