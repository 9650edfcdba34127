"""Which scored instances a query returns: the score threshold, and the target count the expression states.

SketchyScene-Matching states counts exactly (GRAMMAR.md §2-3): a numeral is always the number of targets
("the two cats", "all the four trees"), "both" is two, "all" without a numeral three or more, a blank numeral
("the  trees") six or more. The head noun's number states one too: every template with a singular target noun
("the cat on the left", "the topmost tree near the house") has exactly one target, a plural one ("the trees")
two or more. When the model's scores leave fewer or more instances above the threshold than the expression
allows, the count decides: the best-scored ones down to a lower floor fill it, extra ones are dropped.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.results import Understanding
from grmnet.text import tokenize

NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "eleven": 11, "twelve": 12, **{str(n): n for n in range(2, 100)}}
_BLANK_NUMERAL = re.compile(r"\bthe {2,}\w")   # "the  trees": the generator's empty slot for 6 or more


@dataclass(frozen=True)
class TargetCount:
    """How many targets an expression allows: at_least .. at_most (None: no upper bound)."""
    at_least: int = 0
    at_most: int | None = None

    @property
    def exact(self) -> int | None:
        return self.at_least if self.at_least == self.at_most else None


NO_COUNT = TargetCount()


ALL_WORDS = frozenset({"all", "every", "each"})


@functools.lru_cache(maxsize=1)
def noun_table() -> dict[tuple[str, ...], tuple[str, bool, bool]]:
    """Words naming a category -> (category, can be singular, can be plural): the grammar's nouns plus the
    generator's other names (grmnet.data.expressions.LEXICON_NOUNS: synonyms, hyponyms, informal), one or more
    words each ("kitty", "school bus", "tuft of grass")."""
    from grmnet.data.expressions import HYPERNYMS, LEXICON_NOUNS
    names = [(singular(c), c, "sg") for c in CATEGORIES] + [(plural(c), c, "pl") for c in CATEGORIES]
    names += [(word, c, number) for word, (c, number) in LEXICON_NOUNS.items()]
    table: dict[tuple[str, ...], tuple[str, bool, bool]] = {}
    for word, c, number in names:
        key = tuple(tokenize(word))
        _, sg, pl = table.get(key, (c, False, False))
        table[key] = (c, sg or number in ("sg", "both"), pl or number in ("pl", "both"))
    # words for several categories ("animal", "vehicles"), where no category already owns the word
    for (sg_word, pl_word) in HYPERNYMS:
        for word, number in ((sg_word, "sg"), (pl_word, "pl")):
            key = tuple(tokenize(word))
            if key in table and table[key][0] != sg_word:
                continue
            _, sg, pl = table.get(key, (sg_word, False, False))
            table[key] = (sg_word, sg or number == "sg", pl or number == "pl")
    return table


@functools.lru_cache(maxsize=1)
def _longest_noun() -> int:
    """Words in the longest name of noun_table (head_noun tries no longer phrases)."""
    return max(len(k) for k in noun_table())


def plural_noun(name: str) -> str:
    """The plural of a target noun as `understand` names it: a category ("trees") or a broader word ("animals")."""
    from grmnet.data.expressions import HYPERNYMS
    if name in CATEGORIES:
        return plural(name)
    return next((pl_word for (sg_word, pl_word) in HYPERNYMS if sg_word == name), name)


def category_group(name: str | None) -> tuple[str, ...]:
    """The categories a target noun covers: a category itself, or the members of a broader word ("animal" ->
    horse, cow, ..., butterfly); () for None."""
    from grmnet.data.expressions import HYPERNYMS
    if name is None:
        return ()
    if name in CATEGORIES:
        return (name,)
    return next((members for (sg_word, _), members in HYPERNYMS.items() if sg_word == name), ())


# Words that start the reference phrase ("... near the tree", "... on the left of the car"): a category noun
# after one of them names the reference, not the target ("the one near the two trees" names no target category).
RELATION_STARTS: tuple[tuple[str, ...], ...] = tuple(tuple(p.split()) for p in (
    "near", "next to", "close to", "beside", "by", "behind", "in front of", "in back of", "at the back of",
    "left of", "right of", "between", "among", "amongst", "amid", "around", "surrounding", "above", "below",
    "under", "underneath", "beneath", "over", "with", "without"))


def head_noun(words: list[str]) -> tuple[int, int, tuple[str, bool, bool] | None]:
    """(start, end, entry) of the target's category noun phrase: the first one (longest match) before any
    relation words; (i, i, None) when the expression names none (i: where its reference phrase starts, or its
    end)."""
    table = noun_table()
    longest = _longest_noun()
    for i in range(len(words)):
        for n in range(min(longest, len(words) - i), 0, -1):
            entry = table.get(tuple(words[i:i + n]))
            if entry is not None:
                return i, i + n, entry
        if any(tuple(words[i:i + len(r)]) == r for r in RELATION_STARTS):
            return i, i, None
    return len(words), len(words), None


# Words that open a request before the target phrase ("select ...", "could you grab ...", "i want ..."): the
# generator's imperative and polite wrappers, and an editor's own verbs.
REQUEST_WORDS = frozenset("""select pick highlight find show me grab choose mark click on get segment outline give
    point to take please could can would you i want d like for just only now also then and move lift recolor
    recolour colour color paint delete remove erase hide copy cut isolate separate extract""".split())
# Words that already determine the target phrase: with one of them before the head noun, no article is added.
DETERMINERS = frozenset("the a an all every each both this that these those any some".split())


def with_article(expression: str) -> str:
    """The expression as the grammar says it: every SketchyScene-Matching expression opens its target phrase with
    a determiner ("the cats", "all the trees", "both the dogs"), and a network trained on them reads a bare noun
    phrase ("cats", "2 cats on the left", "select big trees") poorly. Without a determiner before the target
    noun, "the" goes after any opening request words: 'cats' -> 'the cats', 'select 2 cats' -> 'select the 2
    cats'. Anything else (no target noun, a determiner already there) comes back unchanged."""
    words = tokenize(expression)
    head, _, entry = head_noun(words)
    if entry is None or DETERMINERS & set(words[:head]):
        return expression
    at = 0
    while at < head and words[at] in REQUEST_WORDS:
        at += 1
    return " ".join(words[:at] + ["the"] + words[at:])


def slip_between(typed: str, word: str) -> int | None:
    """The kind of the one typing slip that turns `word` into `typed`, most common first (spelling-error studies:
    doubled letters and swapped neighbours lead): 0 a letter doubled ("treee"), 1 two neighbours swapped
    ("brids"), 2 a letter added or left out ("hous"), 3 a letter changed ("cqr"); None when the two words are
    equal or more than one slip apart."""
    if typed == word or abs(len(typed) - len(word)) > 1:
        return None
    if len(typed) == len(word):
        diff = [i for i in range(len(typed)) if typed[i] != word[i]]
        if len(diff) == 1:
            return 3
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == word[diff[1]] \
            and typed[diff[1]] == word[diff[0]]
        return 1 if swapped else None
    short, long = (typed, word) if len(typed) < len(word) else (word, typed)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    if short[i:] != long[i + 1:]:
        return None
    doubled = long is typed and ((i > 0 and long[i] == long[i - 1]) or (i + 1 < len(long) and long[i] == long[i + 1]))
    return 0 if doubled else 2


def one_edit_apart(a: str, b: str) -> bool:
    """Whether two different words differ by one typing slip: a letter left out, added, changed, or two neighbours
    swapped ("brids" / "birds", "ccar" / "car")."""
    return slip_between(a, b) is not None


@functools.lru_cache(maxsize=1)
def _single_word_nouns() -> tuple[str, ...]:
    return tuple(k[0] for k in noun_table() if len(k) == 1)


def correct_nouns(expression: str, is_word) -> str:
    """Typing slips in category nouns fixed ("the brids" -> "the birds", "the ccar" -> "the car"): a word that is
    neither a noun of `noun_table` nor a word at all (`is_word(word)` False, e.g. not one token of the pretrained
    encoder's vocabulary) and at least 4 letters long becomes the noun its likeliest slip (`slip_between`) comes
    from, when exactly one noun is that likely ("treee" -> "tree", "trese" -> "trees", "hous" -> "house" rather
    than "hogs"; "cass" could be cars, cats or cabs and stays).
    Shorter words and real words are never changed ("bat" is not a typo of "cat"). -> the expression, its words
    rejoined when one was fixed."""
    words = tokenize(expression)
    nouns = _single_word_nouns()
    fixed = False
    for i, w in enumerate(words):
        if len(w) < 4 or w.isdigit() or (w,) in noun_table() or is_word(w):
            continue
        near = {n: slip_between(w, n) for n in nouns}
        near = {n: kind for n, kind in near.items() if kind is not None}
        if not near:
            continue
        best = min(near.values())                     # "treee": tree (a doubled letter), not trees
        likeliest = sorted(n for n, kind in near.items() if kind == best)
        if len(likeliest) == 1:                       # "hous": house (a letter left out), not hogs (one changed)
            words[i], fixed = likeliest[0], True
    return " ".join(words) if fixed else expression


# "select everything", "all", "grab all the objects", "every thing in the picture": every object of the sketch.
_EVERYTHING = frozenset({"everything", "objects", "things", "items", "stuff", "all"})
_EVERYTHING_FILLER = frozenset("the all every each of it them in on this sketch drawing picture image scene page"
                               .split())


def names_everything(expression: str) -> bool:
    """Whether the expression asks for every object of the sketch and nothing narrower: after any request words,
    only words of "everything", "all (of it)", "all the objects / things in the picture" ("every object" too);
    no category noun, count, place or other word."""
    words = tokenize(expression)
    at = 0
    while at < len(words) and words[at] in REQUEST_WORDS - {"all"}:
        at += 1
    rest = words[at:]
    if rest and rest[-1] in ("object", "thing", "item") and len(rest) > 1 and rest[-2] in ("every", "each"):
        rest = rest[:-1] + ["objects"]
    return (bool(rest) and any(w in _EVERYTHING for w in rest)
            and all(w in _EVERYTHING or w in _EVERYTHING_FILLER for w in rest))


def split_conjunction(expression: str) -> list[str]:
    """The target phrases of an expression that joins several with "and" ("the car and the cat", "cats and dogs",
    "the two sheep and the dog on the left"), each to be referred on its own; [expression] when it names one
    (no "and", a part without a target noun of its own as in "the black and white cow", or "between ... and ...",
    where "and" joins two references). A comma, "&" or "+" between phrases joins them as "and" does ("the car,
    the cat", "car + cat")."""
    words = tokenize(re.sub(r"[,&+]", " and ", expression))
    if "and" not in words or "between" in words:
        return [expression]
    parts: list[list[str]] = [[]]
    for w in words:
        if w == "and":
            parts.append([])
        else:
            parts[-1].append(w)
    parts = [part for part in parts if part]          # "the cat, the dog, and the bird": ", and" is one join
    if len(parts) < 2 or any(head_noun(part)[2] is None for part in parts):
        return [expression]
    return [" ".join(part) for part in parts]


def stated_count(expression: str, nouns: bool = True) -> TargetCount:
    """Targets stated by the target phrase, i.e. the words up to the first category noun (a number inside the
    reference phrase, as in 'the cat near the two trees', is not the target's):
    'the three sheep on the left' -> 3..3, 'both the trees' -> 2..2, 'all the four cars' -> 4..4,
    'all the trees' -> 3.., 'the  trees' -> 6..; with `nouns`, 'the cat' -> 1..1 and 'the trees' -> 2..
    ('the sheep', singular and plural alike, -> 1..). Digits count like numerals ('grab the 2 kitties') and
    other names of a category like its noun. Nothing stated -> 0.. (NO_COUNT)."""
    words = tokenize(expression)
    head, _, entry = head_noun(words)
    before = words[:head]
    number = next((NUMBERS[w] for w in before if w in NUMBERS), None)
    if number is not None:
        return TargetCount(number, number)
    if "both" in before:
        return TargetCount(2, 2)
    is_singular = entry is not None and entry[1]
    is_plural = entry is not None and entry[2]
    blank = is_plural and not is_singular and _BLANK_NUMERAL.search(expression.lower()) is not None
    if ALL_WORDS & set(before):
        return TargetCount(6 if blank else 3)
    if blank:
        return TargetCount(6)
    if not nouns or entry is None:
        return NO_COUNT
    if is_singular and is_plural:          # sheep
        return TargetCount(1)
    return TargetCount(1, 1) if is_singular else TargetCount(2)


def choose_instances(scores: Sequence[float], threshold: float, count: TargetCount = NO_COUNT,
                     count_floor: float | None = None) -> list[int]:
    """Indices of the instances to return, best score first.

    Without a count floor that is every score >= threshold. With one: at most `count.at_most` of those; if
    fewer than `count.at_least` pass, the next best with score >= count_floor are added up to that."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen = [i for i in order if scores[i] >= threshold]
    if count_floor is None:
        return chosen
    if count.at_most is not None:
        chosen = chosen[:count.at_most]
    if len(chosen) < count.at_least:
        extra = [i for i in order if count_floor <= scores[i] < threshold]
        chosen += extra[:count.at_least - len(chosen)]
    return chosen


@dataclass(frozen=True)
class SelectionRule:
    """What a query returns from its scored instances: the threshold and, with a count floor, the stated count."""
    threshold: float
    count_floor: float | None = None
    count_nouns: bool = False

    def choose(self, scores: Sequence[float], expression: str) -> tuple[int, ...]:
        """Indices of the returned instances, best first."""
        return tuple(choose_instances(scores, self.threshold, stated_count(expression, self.count_nouns),
                                      self.count_floor))

    @property
    def lowest_score(self) -> float:
        """No instance scored below this can be returned."""
        return self.threshold if self.count_floor is None else min(self.threshold, self.count_floor)


def describe_count(count: TargetCount) -> str | None:
    """'one', 'two', 'two or more', ... for the user; None when nothing is stated."""
    words = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    if count == NO_COUNT:
        return None
    n = words.get(count.at_least, str(count.at_least))
    if count.exact is not None:
        return n
    return f"{n} or more" if count.at_most is None else f"{n} to {count.at_most}"


def understand(expression: str, count_nouns: bool = True) -> Understanding:
    """The target category (head noun, another name of it, or a broader word with the categories it covers)
    and the stated count, as the selection rule reads them."""
    _, _, entry = head_noun(tokenize(expression))
    category = entry[0] if entry else None
    return Understanding(category, describe_count(stated_count(expression, count_nouns)),
                         category_group(category))
