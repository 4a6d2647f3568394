"""Development topics: one vocabulary, so a survey option, an ID Plan's free text and a record's topic meet.

People name one topic in many ways: the survey's option "สะเต็มศึกษา (STEM Education)",
an ID Plan's "สะเต็ม", a record's "อบรม STEM รุ่นที่ 2". A ``TopicVocabulary`` maps each
text to the canonical topics it names:

* **canonical topics** are the survey's checkbox options (``vocabulary.survey_topics``),
  then any other topic the config names under ``[vocabulary.topics]``;
* **aliases**: every topic answers to its own text and, when written "Thai (other)",
  to the part before the brackets and the part inside them ("สะเต็มศึกษา",
  "STEM Education"); ``[vocabulary.topics]`` adds the office's own (canonical topic =
  [aliases]). A key there that already names a topic (an option, or one of its parts)
  adds aliases to that topic; any other key is a new topic.
* **keys**: texts are compared after ``topic_key``: pipeline.thai's cleaning (one spelling
  of Thai, arabic digits, no case), ``.`` ``-`` and ``'`` removed ("O-NET" = "ONET",
  "ป.6" = "ป6"), other punctuation and brackets made spaces, and spaces kept only between
  two Latin letters or digits ("สะเต็ม ศึกษา" = "สะเต็มศึกษา", "Active Learning" keeps its space).
* **matching**: a text names a topic when one of the topic's aliases is the whole text,
  or appears inside it as a whole word or phrase: an alias that starts (ends) with a
  Latin letter or digit must not have one right before (after) it, so "AL" names the
  topic in "อบรม AL" or "อบรมAL" but not in "Digital" or "ALTV"; "STEM" not in "system".
  Thai has no spaces between words, so a Thai alias is found anywhere in the text, but
  only when it has at least ``MIN_THAI_INSIDE`` characters: a shorter Thai alias ("วัด",
  "ครู") names its topic only as the whole text. Where found aliases overlap, the longest
  wins ("การจัดการเรียนรู้เชิงรุก" is not also "การจัดการเรียนรู้"); a text may name
  several topics ("อบรม STEM และ Active Learning").

A text that names no topic is returned as such (never guessed), so the office can list it
and add it as an alias. Pure: no I/O; the config's own checks call ``TopicVocabulary.build``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

from pipeline.thai import clean_text, compare_key

if TYPE_CHECKING:  # the config's checks build a vocabulary: pandas only where columns are read
    import pandas as pd


class TopicSettings(Protocol):
    """What the vocabulary reads of ``pipeline.config.Vocabulary`` (no import: config checks topics)."""

    @property
    def survey_topics(self) -> list[str]: ...
    @property
    def topics(self) -> dict[str, list[str]]: ...


class HasTopicSettings(Protocol):
    @property
    def vocabulary(self) -> TopicSettings: ...

#: A Thai alias (neither end a Latin letter or digit) shorter than this names its topic
#: only as the whole text: short Thai words ("วัด", "ครู", "สอน") sit inside too many others.
MIN_THAI_INSIDE = 4

# Joined (removed): "O-NET" = "ONET", "ป.6" = "ป6", "ผอ." = "ผอ", "Teacher's".
_JOINERS = frozenset(".-‐‑‒–—'’‘`")
_OPTION_PARTS = re.compile(r"^(?P<main>.*?\S)\s*[(（](?P<inner>[^()（）]*)[)）]\s*$")


def _word(char: str) -> bool:
    """A Latin letter or a digit: where word boundaries matter."""
    return char.isascii() and char.isalnum()


def topic_key(text: object) -> str:
    """How topic texts are compared (see the module's docstring); empty for an empty cell."""
    return _topic_key(compare_key(text))


@functools.lru_cache(maxsize=1 << 16)
def _topic_key(text: str) -> str:
    chars: list[str] = []
    for char in text:
        if char in _JOINERS:
            continue
        kind = unicodedata.category(char)
        if char.isspace() or kind[0] in ("P", "S"):  # every space separator (Zs) is a space
            chars.append(" ")
        else:
            chars.append(char)
    squeezed = re.sub(r" +", " ", "".join(chars)).strip()
    # A space survives only between two Latin letters or digits.
    return "".join(
        c for i, c in enumerate(squeezed)
        if c != " " or (_word(squeezed[i - 1]) and _word(squeezed[i + 1]))
    )


def option_parts(option: str) -> list[str]:
    """What an option answers to besides itself: "Thai (other)" → ["Thai", "other"]; else []."""
    found = _OPTION_PARTS.match(option.strip())
    if not found:
        return []
    return [part.strip() for part in (found["main"], found["inner"]) if part.strip()]


def _bounded(alias: str, text: str, at: int) -> bool:
    """Whether ``alias`` found at ``text[at:]`` stands as a whole word or phrase there."""
    end = at + len(alias)
    if _word(alias[0]) and at > 0 and _word(text[at - 1]):
        return False
    if _word(alias[-1]) and end < len(text) and _word(text[end]):
        return False
    return True


def _may_sit_inside(alias: str) -> bool:
    """Whether ``alias`` may be found inside a longer text (see ``MIN_THAI_INSIDE``)."""
    return _word(alias[0]) or _word(alias[-1]) or len(alias) >= MIN_THAI_INSIDE


def _spans(alias: str, text: str) -> Iterable[tuple[int, int]]:
    """Where ``alias`` (a key) stands in ``text`` (a key) as a whole word or phrase."""
    if alias != text and not _may_sit_inside(alias):
        return
    at = text.find(alias)
    while at >= 0:
        if _bounded(alias, text, at):
            yield at, at + len(alias)
        # Not mutated: searching on from at + 2 differs only for an alias of one letter repeated (an
        # overlapping match one letter on), which no topic has.
        at = text.find(alias, at + 1)  # pragma: no mutate


def phrase_in(short: object, long: object) -> bool:
    """Whether text ``short`` stands in text ``long`` as a whole word or phrase (by the rule above)."""
    part, whole = topic_key(short), topic_key(long)
    return bool(part) and any(True for _ in _spans(part, whole))


def contains_either(a: object, b: object) -> bool:
    """Two texts that name no known topic are the same need when either stands in the other."""
    return phrase_in(a, b) or phrase_in(b, a)


class TopicVocabularyError(ValueError):
    """The configured topics contradict each other (an alias of two topics, an empty name)."""


@dataclass(frozen=True)
class TopicVocabulary:
    """Canonical topics and the alias keys that name each; see the module's docstring."""

    #: canonical topics, survey options first, as they are shown to people
    topics: tuple[str, ...] = ()
    #: alias key -> canonical topic
    aliases: Mapping[str, str] = field(default_factory=dict)
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, survey_topics: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None) -> "TopicVocabulary":
        """The vocabulary of the survey's options and the config's ``[vocabulary.topics]``.

        Raises ``TopicVocabularyError`` (Thai) for an empty topic or alias, or an alias
        written for two topics. A part of an option ("Thai (other)") that two topics
        share names neither of them, unless the config gives it to one.
        """
        options = [clean_text(o) for o in survey_topics]
        topics: list[str] = []
        given: dict[str, str] = {}    # key -> topic: a topic's whole text, or an alias the config wrote
        parts: dict[str, set[str]] = {}  # key -> topics whose bracket parts give it

        def claim(alias: str, topic: str, where: str) -> None:
            key = topic_key(alias)
            if not key:
                raise TopicVocabularyError(f"{where}: ชื่อหัวข้อหรือชื่อเรียกอื่นต้องมีตัวอักษร (ได้ {alias!r})")
            owner = given.setdefault(key, topic)
            if owner != topic:
                raise TopicVocabularyError(
                    f"{where}: ชื่อ '{alias}' เป็นของทั้งหัวข้อ '{owner}' และ '{topic}' (ให้อยู่ได้หัวข้อเดียว)"
                )

        def add_topic(name: str) -> None:
            topics.append(name)
            for part in option_parts(name):
                parts.setdefault(topic_key(part), set()).add(name)

        for option in options:
            if option and option not in topics:
                claim(option, option, "vocabulary.survey_topics")
                add_topic(option)
        for raw, aliases in (extra or {}).items():
            name = clean_text(raw)
            key = topic_key(name)
            where = f"vocabulary.topics '{name}'"
            if not key:
                raise TopicVocabularyError(f"vocabulary.topics: ชื่อหัวข้อต้องมีตัวอักษร (ได้ {raw!r})")
            owners = sorted(parts.get(key, ()))
            if key in given:  # a topic's own text, or an alias written earlier: more aliases for it
                topic = given[key]
            elif len(owners) == 1:  # a part of one option ("สะเต็มศึกษา"): more aliases for that option
                topic = owners[0]
            elif owners:
                raise TopicVocabularyError(
                    f"{where}: '{name}' เป็นส่วนของหลายหัวข้อ ({', '.join(owners)}): "
                    "ใช้ชื่อตัวเลือกเต็มของหัวข้อที่ต้องการเป็นคีย์"
                )
            else:  # a new topic: no text names it yet
                topic = given[key] = name
                add_topic(name)
            for alias in aliases:
                claim(str(alias), topic, where)
        table = {key: next(iter(owners)) for key, owners in parts.items() if len(owners) == 1 and key not in given}
        table.update(given)
        return cls(tuple(topics), table)

    @classmethod
    def from_vocabulary(cls, vocabulary: TopicSettings) -> "TopicVocabulary":
        return cls.build(vocabulary.survey_topics, vocabulary.topics)

    @classmethod
    def from_settings(cls, settings: HasTopicSettings) -> "TopicVocabulary":
        """The run's vocabulary: the survey's options and ``[vocabulary.topics]``."""
        return cls.from_vocabulary(settings.vocabulary)

    def topics_in(self, text: object) -> tuple[str, ...]:
        """Every canonical topic ``text`` names, in the order they appear in it; () for none."""
        key = topic_key(text)
        if key not in self._cache:
            self._cache[key] = self._find(key)
        return self._cache[key]

    def _find(self, key: str) -> tuple[str, ...]:
        if not key:
            return ()
        if key in self.aliases:
            return (self.aliases[key],)
        found = [(start, end, topic) for alias, topic in self.aliases.items() for start, end in _spans(alias, key)]
        found.sort(key=lambda s: (s[0] - s[1], s))  # longest first, then leftmost
        taken: list[tuple[int, int, str]] = []
        for start, end, topic in found:
            if all(end <= a or start >= b for a, b, _ in taken):
                taken.append((start, end, topic))
        return tuple(dict.fromkeys(topic for _, _, topic in sorted(taken)))

    def canonical(self, text: object) -> str | None:
        """The topic ``text`` names (the first, if it names several); None when it names none."""
        found = self.topics_in(text)
        return found[0] if found else None

    def topics_of(self, values: Iterable[Any]) -> pd.Series:
        """``topics_in`` over a column (each distinct value worked out once); keeps a Series' index."""
        import pandas as pd

        series = values if isinstance(values, pd.Series) else pd.Series(list(values))
        found = {value: self.topics_in(value) for value in series.drop_duplicates()}
        return series.map(found).astype(object)

    def canonical_of(self, values: Iterable[Any]) -> pd.Series:
        """``canonical`` over a column; None where a value names no topic."""
        import pandas as pd

        found = self.topics_of(values)
        return pd.Series([topics[0] if topics else None for topics in found], index=found.index, dtype=object)

    def record_topics(self, topics: Iterable[Any], kinds: Iterable[Any]) -> list[tuple[str, ...]]:
        """The topics each development record is in: those its topic text names, then its kind's when
        the kind is itself a topic's name or alias ("STEM", "วิจัยในชั้นเรียน"), so a record of kind
        วิจัยในชั้นเรียน titled with its research's name counts for that topic. ``kinds`` and
        ``topics`` are two columns of the same records."""
        return [tuple(dict.fromkeys((*self.topics_in(text), *self.topics_in(kind)))) for text, kind in zip(topics, kinds)]

    def kind_names(self, kind: object, need: object) -> bool:
        """Whether a development's kind ("STEM", "วิจัยในชั้นเรียน") is itself a topic ``need`` names.

        Only through the vocabulary: a kind that names no topic ("อบรม") says nothing of what was learnt.
        """
        mine = self.topics_in(kind)
        return bool(mine) and not set(mine).isdisjoint(self.topics_in(need))

    def same_topic(self, a: object, b: object) -> bool:
        """Whether two texts name the same need (``matches_survey_need``).

        When both name known topics, they match when they share one: the vocabulary
        decides, so "การจัดการเรียนรู้" and "การจัดการเรียนรู้เชิงรุก" configured as two
        topics stay two. When either names none (free text nobody has mapped yet), they
        match when either stands in the other as a whole word or phrase.
        """
        mine, theirs = self.topics_in(a), self.topics_in(b)
        if mine and theirs:
            return not set(mine).isdisjoint(theirs)
        return contains_either(a, b)
