"""`pwws`: Probability Weighted Word Saliency, with the paper's constraints only.

Paper: Ren, Deng, He, Che. Generating Natural Language Adversarial Examples through Probability Weighted
Word Saliency. ACL 2019 (and the authors' released code).
- Goal: untargeted (the true label's probability is no longer the highest).
- Transformation: WordNet synonyms of the word's part of speech in its sentence (spaCy's tagger; Penn tags
  NN*, VB*, JJ*, RB/RBR/RBS map to WordNet's noun, verb, adjective, adverb; words with any other tag are
  not swapped), single-word lemmas only, inflected to the word's form (plural, tense and person,
  comparative and superlative) with lemminflect, or dropped when no such form is known
  (`attacks.transformations.wordnet.PosWordNetSwap`); no limit on their number.
- Constraints: stopwords are never swapped, no word is modified twice. No sentence encoder, no
  modification rate and no query budget: the paper has none (`max_rate`, `query_budget` add them).
- Search: word saliency S(x, w_i) = P(y|x) - P(y|x with w_i -> [UNK]); each word's best substitute by
  the probability drop it causes; words visited in descending softmax(S) x drop (eq. 7-8), swapping
  greedily until the prediction flips (`GreedyWordImportance(ranking="pwws")`).
Where this differs from the paper and its code:
- At each visited word the substitutes are scored again on the current text and the best is kept only if
  it improves (TextAttack's PWWS); the paper applies each word's substitute chosen on the original text.
- The code filters a lemma by spaCy's tag of the lemma alone (same tag as the word); here lemmas are
  inflected instead, so "actors" gets "players" rather than nothing.
- The code's named-entity swaps (a dataset-specific list of entities per class) are not made; multi-word
  lemmas are skipped (the code keeps their first word); stopwords follow `attacks.constraints.STOPWORDS`
  (TextAttack's recipe also forbids stopwords; the code instead swaps only the tags it lists).
"""

from __future__ import annotations

from attacks.constraints import MaxModificationRate, RepeatModification, StopwordModification
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.registry import recipe
from attacks.search import GreedyWordImportance
from attacks.transformations.wordnet import PosWordNetSwap


@recipe("pwws", paper="Ren et al., ACL 2019 (PWWS)", resources=["wordnet", "tagger"])
def pwws(max_candidates: int | None = None, max_rate: float | None = None, query_budget: float | None = None) -> Attack:
    """WordNet synonyms of the same part of speech, inflected, in PWWS order (the paper's constraints)."""
    constraints = [RepeatModification(), StopwordModification()]
    if max_rate is not None:
        constraints.append(MaxModificationRate(max_rate))
    return Attack(UntargetedClassification(), PosWordNetSwap(max_candidates), constraints,
                  GreedyWordImportance("pwws"), budget_per_word=query_budget)
