"""Bridge to TextAttack (Morris et al., EMNLP 2020 demo), the optional `textattack` extra.

- `TextAttackRecipe("pwws")` or `TextAttackRecipe(attack_object)` runs a TextAttack attack against our
  victims and returns this engine's `AttackResult` (successes re-checked against the victim), so the
  runner, metrics and reports treat it like any recipe (it has the `attack(victim, example)` method).
- `to_textattack(attack, victim)` exports one of our `Attack`s (goal, transformation, constraints,
  search) as a `textattack.Attack`, each component delegating to ours.

Importing this module prepares TextAttack for offline use before importing it: NLTK data comes from
the resources home (WordNet, plus a `stopwords/english` list written from our own stopwords, without
which `import textattack` fails offline), and TextAttack's first-import downloads are marked as done in
its cache directory under the resources home, so nothing waits on a network that is not there.
Recipes whose components TextAttack downloads at build time (TextFooler, BAE, ...) are refused.
"""

from __future__ import annotations

import difflib
import os
import time
from typing import Any, Sequence

import numpy as np

from attacks.constraints.stopwords import STOPWORDS
from attacks.core import Attack, Constraint
from attacks.goals import TargetedClassification, UntargetedClassification
from attacks.result import AttackResult
from attacks.search import BeamSearch, GreedyWordImportance
from attacks.text import AttackedText
from robust_eval.core import resources
from robust_eval.core.errors import RobustEvalError

TEXTATTACK_MARKER = "post_install_check_3"
# TextAttack recipes that build from code and locally installed data only.
OFFLINE_RECIPES = {"deepwordbug": "DeepWordBugGao2018", "pwws": "PWWSRen2019", "pruthi": "Pruthi2019",
                   "input-reduction": "InputReductionFeng2018"}
SEARCH_NAMES = {"delete": "delete", "unk": "unk", "pwws": "weighted-saliency"}


def _prepare_offline() -> None:
    """NLTK data and TextAttack's cache under the resources home (see the module docstring)."""
    nltk_root = resources.home() / "nltk_data"
    stopwords = nltk_root / "corpora" / "stopwords" / "english"
    if not stopwords.is_file():
        stopwords.parent.mkdir(parents=True, exist_ok=True)
        stopwords.write_text("\n".join(sorted(STOPWORDS)) + "\n", encoding="utf-8")
    os.environ.setdefault("NLTK_DATA", str(nltk_root))
    import nltk

    if str(nltk_root) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_root))
    cache = resources.home() / "textattack"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / TEXTATTACK_MARKER).touch()
    os.environ.setdefault("TA_CACHE_DIR", str(cache))


def _import_textattack():
    """`textattack`, imported offline; TextAttack's own cache settings must not move other caches."""
    import transformers  # noqa: F401  (reads its cache settings before TextAttack changes them)

    _prepare_offline()
    moved = {k: os.environ.get(k) for k in ("TFHUB_CACHE_DIR", "PYTORCH_TRANSFORMERS_CACHE", "HF_HOME", "XDG_CACHE_HOME")}
    try:
        import textattack
    except ImportError as error:
        raise RobustEvalError(
            f"TextAttack is not importable ({error}): install the extra with `pip install robust-eval[textattack]` "
            "(needs transformers < 5)"
        ) from None
    finally:
        for key, value in moved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return textattack


textattack = _import_textattack()
from textattack.models.wrappers import ModelWrapper  # noqa: E402  (after the offline preparation)


class VictimWrapper(ModelWrapper):
    """A TextAttack model wrapper around any `Victim`: batched class probabilities, our query counting."""

    def __init__(self, victim: Any) -> None:
        self.model = victim

    def __call__(self, text_input_list: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(text_input_list)))


def model_wrapper(victim: Any, wrapper: str = "victim") -> ModelWrapper:
    """`victim`: our batched, caching victim; `huggingface`: TextAttack's own HuggingFaceModelWrapper around
    the victim's model and tokenizer (as TextAttack runs a model: every query padded to the maximum length)."""
    if wrapper == "victim":
        return VictimWrapper(victim)
    if wrapper == "huggingface" and hasattr(victim, "model") and hasattr(victim, "tokenizer"):
        return textattack.models.wrappers.HuggingFaceModelWrapper(victim.model, victim.tokenizer)
    raise RobustEvalError(f"model wrapper '{wrapper}' does not fit {type(victim).__name__}: use victim or huggingface (HF victims)")


def build_textattack_recipe(name: str, victim: Any, wrapper: str = "victim") -> "textattack.Attack":
    """Build a TextAttack recipe by its TextAttack name (only the ones that build offline)."""
    if name not in OFFLINE_RECIPES:
        known = ", ".join(sorted(OFFLINE_RECIPES))
        raise RobustEvalError(
            f"TextAttack recipe '{name}' cannot be built offline (it is unknown or downloads data at build time): "
            f"choose from {known}, or pass a textattack.Attack object"
        )
    import nltk

    download = nltk.download
    nltk.download = _no_download  # PWWS's WordNet swap asks for omw-1.4, which English WordNet does not need
    try:
        return getattr(textattack.attack_recipes, OFFLINE_RECIPES[name]).build(model_wrapper(victim, wrapper))
    finally:
        nltk.download = download


def _no_download(*args: Any, **kwargs: Any) -> bool:
    """Stands in for `nltk.download` while TextAttack builds a recipe: offline, nothing can be fetched."""
    return False


class TextAttackRecipe:
    """Run a TextAttack recipe (by name) or `textattack.Attack` against our victims, giving our results.

    `budget_per_word` sets TextAttack's query budget to that many queries per word of each example
    (None keeps the attack's own budget); `wrapper` chooses how TextAttack calls the victim (`model_wrapper`).
    """

    def __init__(
        self, attack: "str | textattack.Attack", budget_per_word: float | None = 50, name: str = "", wrapper: str = "victim",
    ) -> None:
        self.recipe = attack
        self.budget_per_word = budget_per_word
        self.wrapper = wrapper
        self.name = name or (attack if isinstance(attack, str) else "textattack")
        self._built: dict[int, Any] = {}

    def _attack_for(self, victim: Any) -> "textattack.Attack":
        key = id(victim)
        if key not in self._built:
            if isinstance(self.recipe, str):
                built = build_textattack_recipe(self.recipe, victim, self.wrapper)
            else:
                built = self.recipe
                built.goal_function.model = model_wrapper(victim, self.wrapper)
                built.clear_cache()
            self._built = {key: built}
        return self._built[key]

    def attack(self, victim: Any, example: Any) -> AttackResult:
        """Attack one example; the same contract as `attacks.core.Attack.attack`."""
        started = time.perf_counter()
        ta_attack = self._attack_for(victim)
        words = len(textattack.shared.AttackedText(example.text).words)
        if self.budget_per_word is not None:
            ta_attack.goal_function.query_budget = max(1, int(self.budget_per_word * words))
        result = ta_attack.attack(example.text, int(example.label))
        return _our_result(result, victim, example, self.name, time.perf_counter() - started)


def _our_result(result: Any, victim: Any, example: Any, recipe: str, seconds: float) -> AttackResult:
    """A TextAttack attack result as ours; a success is confirmed by asking the victim again."""
    original, perturbed = result.original_result, result.perturbed_result
    original_probs = np.asarray(original.raw_output, dtype=np.float64)
    perturbed_probs = np.asarray(perturbed.raw_output, dtype=np.float64)
    kind = type(result).__name__
    status = {"SuccessfulAttackResult": "succeeded", "SkippedAttackResult": "skipped"}.get(kind, "failed")
    details: dict[str, Any] = {"textattack_recipe": recipe, "textattack_result": kind}
    if status == "succeeded":
        again = np.asarray(victim.predict_proba([perturbed.attacked_text.text]), dtype=np.float64)[0]
        if int(again.argmax()) == int(example.label):
            status, details["recheck"] = "failed", "the victim no longer confirms the success"
        perturbed_probs = again
    modified = sorted(perturbed.attacked_text.attack_attrs.get("modified_indices", set()))
    num_words = len(original.attacked_text.words)
    return AttackResult(
        example_id=str(example.id),
        original_text=example.text,
        perturbed_text=perturbed.attacked_text.text,
        label=int(example.label),
        original_prediction=int(original_probs.argmax()),
        perturbed_prediction=int(perturbed_probs.argmax()),
        original_confidence=float(original_probs[example.label]),
        perturbed_confidence=float(perturbed_probs[example.label]),
        queries=int(perturbed.num_queries),
        modified_indices=modified,
        num_words=num_words,
        perturbed_word_ratio=len(modified) / max(num_words, 1),
        status=status,  # type: ignore[arg-type]
        seconds=seconds,
        details=details,
    )


# --- exporting our attacks -------------------------------------------------------------------------


def _ours(text: "textattack.shared.AttackedText") -> AttackedText:
    """Our AttackedText for a TextAttack one, carrying its modified word indices and original length."""
    ours = AttackedText.from_text(text.text)
    modified = set(text.attack_attrs.get("modified_indices", set()))
    if list(ours.words) != list(text.words):
        mapping = _index_map(list(text.words), list(ours.words))
        modified = {mapping[i] for i in modified if i in mapping}
    original_length = len(text.attack_attrs.get("original_index_map", ours.words))
    return AttackedText(ours.words, ours.separators, frozenset(modified), (), original_length)


def _index_map(left: list[str], right: list[str]) -> dict[int, int]:
    """Indices of `left` words that are equal to `right` words after alignment."""
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    return {b.a + k: b.b + k for b in matcher.get_matching_blocks() for k in range(b.size)}


def _theirs(candidate: AttackedText, current: "textattack.shared.AttackedText") -> "textattack.shared.AttackedText":
    """A TextAttack text derived from `current` (so it tracks modifications) with our candidate's words."""
    old, new = list(current.words), list(candidate.words)
    words = list(old)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        replacement = " ".join(new[j1:j2])
        if i2 > i1:
            words[i1:i2] = [replacement] + [""] * (i2 - i1 - 1)
        elif i1 > 0:
            words[i1 - 1] = f"{words[i1 - 1]} {replacement}"
        else:
            words[0] = f"{replacement} {words[0]}"
    return current.generate_new_attacked_text(words)


class _Transformation(textattack.transformations.WordSwap):
    """Our transformation (with our pre-transformation constraints) inside TextAttack.

    A `WordSwap` subclass so that TextAttack's PWWS ordering accepts it; `_get_transformations` is ours.
    """

    def __init__(self, attack: Attack) -> None:
        super().__init__()
        self.ours = attack.transformation
        self.pre_constraints = attack.pre_constraints

    @property
    def deterministic(self) -> bool:
        return True

    def _get_transformations(self, current_text, indices_to_modify):
        text = _ours(current_text)
        allowed = set(range(len(text)))
        for constraint in self.pre_constraints:
            allowed &= constraint.allowed(text)
        if list(text.words) == list(current_text.words):
            allowed &= set(indices_to_modify)
        return [_theirs(c, current_text) for c in self.ours(text, sorted(allowed))]


class _Constraint(textattack.constraints.Constraint):
    """One of our constraints inside TextAttack, checked in one batch against the original text (or the current
    text, for a constraint that compares with the text before the swap)."""

    def __init__(self, ours: Constraint) -> None:
        super().__init__(compare_against_original=ours.compare_against_original)
        self.ours = ours

    def _check_constraint(self, transformed_text, reference_text):
        return self.ours.filter([_ours(transformed_text)], _ours(reference_text))[0]

    def _check_constraint_many(self, transformed_texts, reference_text):
        verdicts = self.ours.filter([_ours(t) for t in transformed_texts], _ours(reference_text))
        return [t for t, ok in zip(transformed_texts, verdicts) if ok]


def to_textattack(attack: Attack, victim: Any) -> "textattack.Attack":
    """Our `attack` as a `textattack.Attack` on `victim` (greedy word-importance or beam search only)."""
    wrapper = VictimWrapper(victim)
    if isinstance(attack.goal, TargetedClassification):
        goal = textattack.goal_functions.TargetedClassification(wrapper, target_class=attack.goal.target)
    elif isinstance(attack.goal, UntargetedClassification):
        goal = textattack.goal_functions.UntargetedClassification(wrapper)
    else:
        raise RobustEvalError(f"goal {type(attack.goal).__name__} has no TextAttack counterpart: use an (un)targeted goal")
    if isinstance(attack.search, GreedyWordImportance):
        search = textattack.search_methods.GreedyWordSwapWIR(wir_method=SEARCH_NAMES[attack.search.ranking])
    elif isinstance(attack.search, BeamSearch):
        search = textattack.search_methods.BeamSearch(beam_width=attack.search.width)
    else:
        raise RobustEvalError(
            f"search {type(attack.search).__name__} has no TextAttack counterpart: export recipes that use greedy "
            "word-importance or beam search"
        )
    constraints = [_Constraint(c) for c in attack.eager_constraints + attack.lazy_constraints]
    return textattack.Attack(goal, constraints, _Transformation(attack), search)
