"""Questions in other words than their paragraph's, still answered by it.

SQuAD's crowdworkers wrote their questions looking at the paragraph, so most of them reuse
its words, and a reader trained on them learns that a question whose words its text does
not hold has no answer there. Users do not copy the article: they ask about "duties" where
it says "tariffs", about the "go-between" where it says "mediator". :class:`Paraphraser`
rewrites a SQuAD question that way: some of its common words (nouns, verbs, adjectives,
adverbs; never a name or a number) replaced by a WordNet synonym of their first senses that
the paragraph does not use, and now and then the question mark dropped. The answer stays
where it was, so the reader learns to find it from meaning as well as from shared words,
beside the perturbed questions (``perturbation``) that teach it when a changed question is
no longer answered.
"""

from __future__ import annotations

import random
import re

from assistant.answers.reader.perturbation import Analyzer, Token
from assistant.articles.synonyms import Thesaurus
from assistant.articles.terms import STOP_WORDS, stem

#: spaCy's universal tags and the WordNet part of speech each is looked up as.
_WORDNET_POS = {"NOUN": "noun", "VERB": "verb", "ADJ": "adj", "ADV": "adv"}
_WORD = re.compile(r"[a-z]{3,}")
_STEMS = re.compile(r"[a-z]+")
_QUOTED = re.compile(r"[\"“][^\"”]+[\"”]")


class Paraphraser:
    """Rewords questions with synonyms their context does not use (seeded)."""

    def __init__(
        self,
        analyzer: Analyzer,
        thesaurus: Thesaurus,
        rng: random.Random,
        share: float = 0.5,
        senses: int = 1,
        drop_mark: float = 0.3,
    ) -> None:
        self.analyzer = analyzer
        self.thesaurus = thesaurus
        self.rng = rng
        self.share = share  # of the replaceable words, how many are replaced
        self.senses = senses
        self.drop_mark = drop_mark

    def paraphrase(self, question: str, context: str) -> str | None:
        """``question`` with some words replaced by synonyms that ``context`` does not
        use, or None when no word of it can be replaced."""
        analysis = self.analyzer([question])[0]
        # Names and quoted words are what the question is about: never reworded.
        kept = [(s, e) for s, e, _ in analysis.entities]
        kept += [m.span() for m in _QUOTED.finditer(question)]
        used = {stem(w) for w in _STEMS.findall(context.lower())}
        options: list[tuple[Token, str]] = []
        for token in analysis.tokens:
            if any(s <= token.start < e for s, e in kept):
                continue
            choices = self._replacements(token, used)
            if choices:
                options.append((token, self.rng.choice(choices)))
        if not options:
            return None
        chosen = [o for o in options if self.rng.random() < self.share] or [
            self.rng.choice(options)
        ]
        changed = question
        for token, word in sorted(chosen, key=lambda o: -o[0].start):
            end = token.start + len(token.text)
            changed = changed[: token.start] + word + changed[end:]
        if changed.endswith("?") and self.rng.random() < self.drop_mark:
            changed = changed[:-1].rstrip()
        return changed

    def _replacements(self, token: Token, used: set[str]) -> list[str]:
        """Synonyms that can stand in the token's place, in its form (a regular plural
        keeps its "s"; other inflected forms are left alone)."""
        pos = _WORDNET_POS.get(token.pos)
        word = token.text
        if pos is None or not _WORD.fullmatch(word) or word in STOP_WORDS:
            return []
        bases = self.thesaurus.base_forms(word, pos)
        if word in bases:
            base, suffix = word, ""
        elif pos == "noun" and word.endswith("s") and word[:-1] in bases:
            base, suffix = word[:-1], "s"
        else:
            return []
        return [
            lemma + suffix
            for lemma in self.thesaurus.alternatives(base, pos, self.senses, familiar=True)
            if stem(lemma) not in used and stem(lemma) != stem(base)
        ]
