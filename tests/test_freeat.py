"""FreeAT (Shafahi et al.): m optimizer steps per batch, whole passes over the data so every example is
seen, and delta carried from batch to batch (`freeat`) or restarted on each (`freeat-batch`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robust_eval.core.data import Dataset, Example
from strategy_support import LABELS, TONE, make_trainer, recorded_step, split
from trainers.outcome import TrainingData
from trainers.perturbation import EmbeddingPerturbation
from trainers.strategies import FreeAT


def test_freeat_takes_m_optimizer_steps_per_batch_over_epochs_divided_by_m(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method="freeat", adv_steps=3, epochs=3,
                           train_size=24, warmup_ratio=0.0)
    trainer.train()
    assert trainer.state.global_step == 3  # 24 examples / batch 8 = 3 batches, 3 epochs / m=3 = one pass
    assert trainer.state.epoch == pytest.approx(1.0)
    steps = {int(state["step"]) for state in trainer.optimizer.state.values()}
    assert steps == {9}
    assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(0.0), "the schedule must span all 9 steps"


def test_passes_over_the_data_are_rounded_up_to_whole_epochs() -> None:
    freeat = FreeAT(EmbeddingPerturbation(), steps=3)
    assert [freeat.data_epochs(e) for e in (1, 2, 3, 4, 6, 0.3 * 10)] == [1, 1, 1, 2, 2, 1]


def distinct_reviews(size: int) -> Dataset:
    """`size` reviews that are all different token sequences (tone word x number of 'really')."""
    examples = [Example(f"train-{i}", " ".join(["the", "movie", "was", TONE[i % 2][(i // 2) % 5]] + ["really"] * (i // 10)),
                        i % 2) for i in range(size)]
    assert len({e.text for e in examples}) == size
    return Dataset("train", examples, LABELS)


@pytest.mark.parametrize("method", ["freeat", "freeat-batch"])
def test_every_training_example_is_seen_when_epochs_over_m_is_fractional(method: str, tiny_checkpoint,
                                                                          tmp_path: Path) -> None:
    """2 epochs at m = 3: dividing the epochs would stop after two thirds of the data."""
    data = TrainingData(distinct_reviews(24), split("dev", 8, 1), split("test", 8, 2))
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, data=data, method=method, adv_steps=3, epochs=2)
    seen: list[tuple[int, ...]] = []
    step = trainer.strategy.step

    def recording_step(passes, inputs):
        for ids, mask in zip(inputs["input_ids"], inputs["attention_mask"]):
            seen.append(tuple(ids[mask.bool()].tolist()))
        return step(passes, inputs)

    trainer.strategy.step = recording_step
    trainer.train()
    tokenizer = trainer.processing_class
    expected = {tuple(tokenizer(e.text)["input_ids"]) for e in data.train.examples}
    assert set(seen) == expected and len(seen) == 24


def two_batches(method: str, tiny_checkpoint, tmp_path: Path):
    """FreeAT's recorded passes on two batches of different shapes, and the carried slots between them."""
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method=method, adv_steps=2, adv_lr=0.5,
                           adv_init_mag=0.1)
    trainer.create_optimizer_and_scheduler(num_training_steps=4)
    batches = list(trainer.get_train_dataloader())[:2]
    first = recorded_step(trainer, batches[0])
    carried = trainer.strategy.carried
    kept = None if carried.values is None else (carried.values.clone(), carried.used.clone())
    second = recorded_step(trainer, batches[1])
    return batches, first, kept, second


def test_freeat_carries_delta_from_one_batch_to_the_next(tiny_checkpoint, tmp_path: Path) -> None:
    batches, first, (values, used), second = two_batches("freeat", tiny_checkpoint, tmp_path)
    mask1, mask2 = (b["attention_mask"].bool() for b in batches)
    assert torch.equal(used[: mask1.shape[0], : mask1.shape[1]], mask1), "the slots of batch 1's real tokens"
    rows, length = mask2.shape
    carried = used[:rows, :length] & mask2
    start = second.deltas[0]
    assert carried.any() and torch.equal(start[carried], values[:rows, :length][carried])
    final = first.deltas[-1][mask1]
    assert not torch.equal(values[: mask1.shape[0], : mask1.shape[1]][mask1], final), \
        "the last replay's ascent step is carried too"
    assert torch.equal(start[~mask2], torch.zeros_like(start[~mask2]))


def test_freeat_batch_restarts_delta_on_every_batch(tiny_checkpoint, tmp_path: Path) -> None:
    batches, first, kept, second = two_batches("freeat-batch", tiny_checkpoint, tmp_path)
    assert kept is None, "nothing is carried"
    mask2 = batches[1]["attention_mask"]
    start = second.deltas[0]
    norms = start.flatten(1).norm(dim=1)
    assert (norms <= 0.1 + 1e-6).all() and (norms > 0).all(), "a fresh init of magnitude adv_init_mag"
    assert (first.deltas[-1].flatten(1).norm(dim=1) > 0.4).all(), "batch 1 ended far from a fresh init"
    assert torch.equal(start[mask2 == 0], torch.zeros_like(start[mask2 == 0]))
