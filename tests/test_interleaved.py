"""Many examples in flight give the records of one example at a time (the previous engine's loop)."""

from __future__ import annotations

import numpy as np
import pytest

from attacks.constraints import SentenceEncoder, SentenceSimilarity
from attacks.constraints.modification import MaxModificationRate, RepeatModification
from attacks.core import Attack
from attacks.goals import UntargetedClassification
from attacks.search import GreedyWordImportance
from eval_support import TinySwap, fitted_checkpoints, write_dataset  # noqa: F401 (fixture)
from robust_eval.core.data import load_dataset
from robust_eval.core.gather import Interleaver
from robust_eval.core.victim import load_victim
from robust_eval.pipeline.execute import attack_pass, clean_pass, progress_bar, seed_everything, unit_seed
from robust_eval.pipeline.plan import build_plan
from robust_eval.pipeline.store import RecordStore, read_records

COMPARED = ("status", "perturbed_text", "queries", "modified_indices", "perturbed_prediction", "original_prediction")


def similar_swap(encoder_path) -> Attack:
    """tiny-swap with a sentence-encoder constraint (a gathered encoder beside the gathered victim)."""
    similarity = SentenceSimilarity(0.2, window=3, encoder=SentenceEncoder(encoder_path, device="cpu"))
    constraints = [RepeatModification(), MaxModificationRate(0.5), similarity]
    return Attack(UntargetedClassification(), TinySwap(4), constraints, GreedyWordImportance("unk"))


def one_at_a_time(attack: Attack, victim, examples, sha: str) -> dict[str, dict]:
    """The previous engine's loop: cache cleared, generators seeded, one attack at a time."""
    results = {}
    for example in examples:
        victim.clear_cache()
        seed_everything(unit_seed(0, sha, "similar", example.id))
        results[example.id] = attack.attack(victim, example).to_dict()
    return results


def pipeline_records(plan, attack, victim, out, in_flight: int) -> tuple[dict[str, dict], Interleaver]:
    """The pipeline's clean and attack passes; the attack results by example id and the interleaver used."""
    checkpoint = plan.checkpoints[0]
    used: list[Interleaver] = []
    original_run = Interleaver.run

    def remembering_run(self, *args, **kwargs):
        used.append(self)
        return original_run(self, *args, **kwargs)

    with RecordStore(out, plan.config()) as store, progress_bar(False) as progress, pytest.MonkeyPatch.context() as patch:
        clean_pass(store, victim, checkpoint.name, plan.dataset, None, progress)
        patch.setattr(Interleaver, "run", remembering_run)
        attack_pass(store, victim, checkpoint, "similar", attack, plan.dataset, 0, None, in_flight, progress)
    return {r["example_id"]: r["result"] for r in read_records(out) if r["kind"] == "attack"}, used[0]


def test_interleaved_records_equal_one_at_a_time(fitted_checkpoints, tmp_path) -> None:
    dataset = load_dataset(str(write_dataset(tmp_path / "reviews.jsonl", copies=2)))
    plan = build_plan(fitted_checkpoints[:1], dataset, [])
    checkpoint = plan.checkpoints[0]
    attack = similar_swap(checkpoint.path)
    runs = {n: pipeline_records(plan, attack, load_victim(checkpoint.path, device="cpu", batch_size=4),
                                tmp_path / f"in-flight-{n}", n) for n in (1, 5)}
    attacked = [e for e in dataset.examples if e.id in runs[1][0]]
    alone = one_at_a_time(attack, load_victim(checkpoint.path, device="cpu", batch_size=4), attacked, checkpoint.sha256)
    assert any(r["status"] == "succeeded" for r in alone.values())
    for recorded, _ in runs.values():
        assert recorded.keys() == alone.keys()
        for example_id, result in alone.items():
            assert {k: recorded[example_id][k] for k in COMPARED} == {k: result[k] for k in COMPARED}, example_id
            assert np.isclose(recorded[example_id]["perturbed_confidence"], result["perturbed_confidence"], atol=1e-5)
    # with five examples in flight the victim and the encoder got the same texts in fewer, larger calls
    assert runs[5][1].items == runs[1][1].items and runs[5][1].batches < runs[1][1].batches
