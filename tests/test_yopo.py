"""YOPO with the embedding module as its first layer (as the FreeLB paper compares it): the module is found
for each architecture, reruns reproduce the full pass, inner steps move delta differently from FreeLB's
larger step, touch no parameter gradient, and cost far less than a full pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, GPT2Config, GPT2ForSequenceClassification

from robust_eval.core.errors import RobustEvalError
from strategy_support import first_batch, gradients_after, make_trainer, recorded_step, same_gradients, use_strategy
from trainers.first_layer import embedding_module
from trainers.perturbation import EmbeddingPerturbation
from trainers.step_cost import yopo_step_cost
from trainers.trainer import TrainerPasses

EMBEDDING_MODULES = {"bert": "BertEmbeddings", "mpnet": "MPNetEmbeddings", "roberta": "RobertaEmbeddings",
                     "distilbert": "Embeddings"}


@pytest.mark.parametrize("arch", sorted(EMBEDDING_MODULES))
def test_the_embedding_module_is_found(arch: str, tiny_checkpoint) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_checkpoint(arch))
    module = embedding_module(model)
    assert type(module).__name__ == EMBEDDING_MODULES[arch]
    assert model.get_input_embeddings() in list(module.children())
    assert any(isinstance(m, nn.LayerNorm) for m in module.modules())
    assert any(isinstance(m, nn.Dropout) and m.p > 0 for m in module.modules())


def test_a_model_without_an_embedding_module_is_a_one_line_error() -> None:
    """GPT-2 keeps its word embeddings directly in the transformer: there is no first layer to rerun."""
    model = GPT2ForSequenceClassification(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2))
    with pytest.raises(RobustEvalError, match="yopo needs the embedding module of GPT2ForSequenceClassification") as error:
        embedding_module(model)
    assert "\n" not in str(error.value)


def full_pass(trainer, batch, init_mag: float = 0.5):
    """One recorded YOPO full pass in train mode: the passes, inputs, mask, delta and first-layer call."""
    trainer.model.train()
    passes = TrainerPasses(trainer, trainer.model, None)
    inputs = trainer._prepare_inputs(batch)
    mask = passes.mask(inputs)
    delta = EmbeddingPerturbation(init_mag=init_mag).init(mask, passes.hidden_size)
    loss, call = passes.first_layer_loss(inputs, delta)
    passes.backward(loss)
    return passes, inputs, mask, delta, call


@pytest.mark.parametrize("arch", sorted(EMBEDDING_MODULES))
def test_the_rerun_reproduces_the_full_pass_with_its_dropout_mask(arch: str, tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint(arch), tmp_path, method="yopo")
    passes, inputs, mask, delta, call = full_pass(trainer, first_batch(trainer))
    torch.manual_seed(99)  # the generators have moved on: the rerun must rewind them
    assert torch.equal(call.rerun(delta), call.output)
    assert torch.allclose(call.delta_gradient(delta, call.output.grad), delta.grad, atol=1e-8, rtol=1e-5)


def test_yopo_with_one_inner_step_is_freelb(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    freelb = gradients_after(trainer, batch, "freelb", steps=2, step_size=0.5, init_mag=0.1)
    for inner_lr in ("divided", "full"):
        yopo = gradients_after(trainer, batch, "yopo", steps=2, inner_steps=1, inner_lr=inner_lr, step_size=0.5,
                               init_mag=0.1)
        assert same_gradients(freelb, yopo), inner_lr


def test_yopo_differs_from_freelb_at_n_times_the_step(tiny_checkpoint, tmp_path: Path) -> None:
    """Through a linear first layer YOPO-m-n was FreeLB-m at n x adv_lr; through the embedding module the n
    steps follow a changing gradient, so neither convention reduces to FreeLB."""
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    settings = dict(steps=2, init_mag=0.1)
    freelb_larger = gradients_after(trainer, batch, "freelb", step_size=1.2, **settings)
    yopo_full = gradients_after(trainer, batch, "yopo", inner_steps=3, inner_lr="full", step_size=0.4, **settings)
    assert not same_gradients(freelb_larger, yopo_full)
    freelb = gradients_after(trainer, batch, "freelb", step_size=1.2, **settings)
    yopo_divided = gradients_after(trainer, batch, "yopo", inner_steps=3, inner_lr="divided", step_size=1.2, **settings)
    assert not same_gradients(freelb, yopo_divided)


def test_inner_steps_touch_no_parameter_gradient(tiny_checkpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Around every block of inner updates the parameter gradients are unchanged, and the final gradients are
    the average of the m full passes' gradients at the deltas they saw."""
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path)
    batch = first_batch(trainer)
    use_strategy(trainer, "yopo", steps=3, inner_steps=4, step_size=0.5, init_mag=0.1)
    strategy, model = trainer.strategy, trainer.model
    blocks = []

    def watched(call, delta, mask):
        before = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        moved = next_delta(call, delta, mask)
        after = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        blocks.append((before, after, delta.detach().clone(), moved.detach().clone()))
        return moved

    next_delta = strategy.next_delta
    monkeypatch.setattr(strategy, "next_delta", watched)
    passes = recorded_step(trainer, batch)
    assert len(blocks) == 2 and len(passes.deltas) == 3
    for before, after, old, new in blocks:
        assert before.keys() == after.keys() and all(torch.equal(before[n], after[n]) for n in before)
        assert not torch.equal(old, new), "the inner steps must move delta"
    yopo = {n: p.grad.clone() for n, p in model.named_parameters()}

    model.zero_grad(set_to_none=True)
    single = TrainerPasses(trainer, model, None)
    for delta in passes.deltas:
        torch.set_rng_state(passes.rng_state)
        single.backward(single.loss(trainer._prepare_inputs(batch), delta), 1 / 3)
    for name, parameter in model.named_parameters():
        assert torch.allclose(parameter.grad, yopo[name], atol=1e-6, rtol=1e-4), name


def test_yopo_is_refused_under_data_parallel(tiny_checkpoint, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method="yopo")
    batch = trainer._prepare_inputs(first_batch(trainer))
    passes = TrainerPasses(trainer, nn.DataParallel(trainer.model), None)
    delta = EmbeddingPerturbation().init(passes.mask(batch), passes.hidden_size)
    with pytest.raises(RobustEvalError, match="launch torchrun --nproc_per_node N") as error:
        passes.first_layer_loss(batch, delta)
    assert "\n" not in str(error.value)


def test_an_inner_step_costs_far_less_than_a_full_pass(tiny_checkpoint, tmp_path: Path) -> None:
    """Timed on one thread: on a busy CPU the thread pool's hand-offs would dominate the small kernels."""
    trainer = make_trainer(tiny_checkpoint("bert"), tmp_path, method="yopo", train_size=32, batch_size=32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cost = yopo_step_cost(trainer, first_batch(trainer), repeats=20)
    finally:
        torch.set_num_threads(threads)
    print(f"\ntiny BERT on CPU, batch 32: full pass {cost.full_pass_seconds * 1e3:.2f} ms, inner step "
          f"{cost.inner_step_seconds * 1e3:.2f} ms, ratio {cost.ratio:.3f}")
    assert all(p.grad is None for p in trainer.model.parameters())
    assert cost.ratio < 0.25
