"""EmbeddingPerturbation: init, ascent and projection geometry (l2, linf), padding stays exactly zero; FreeAT's
CarriedDelta cut and extended to each batch."""

from __future__ import annotations

import pytest
import torch

from robust_eval.core.errors import RobustEvalError
from trainers.perturbation import CarriedDelta, EmbeddingPerturbation

HIDDEN = 8


@pytest.fixture
def mask() -> torch.Tensor:
    """Three examples of 5, 3 and 1 real tokens, right-padded to 6."""
    lengths = torch.tensor([5, 3, 1])
    return (torch.arange(6)[None, :] < lengths[:, None]).long()


def norms(delta: torch.Tensor, norm: str) -> torch.Tensor:
    flat = delta.flatten(1)
    return flat.norm(dim=1) if norm == "l2" else flat.abs().amax(dim=1)


def padding(delta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return delta[mask == 0]


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_projection_bounds_norm_and_zeroes_padding(norm: str, mask: torch.Tensor) -> None:
    torch.manual_seed(0)
    perturbation = EmbeddingPerturbation(norm=norm, max_norm=0.5)
    delta = torch.randn(3, 6, HIDDEN) * 3
    projected = perturbation.project(delta, mask)
    assert (norms(projected, norm) <= 0.5 + 1e-6).all()
    assert torch.equal(padding(projected, mask), torch.zeros_like(padding(projected, mask)))
    assert (norms(delta * mask[..., None], norm) > 0.5).all(), "the input must violate the bound"


def test_l2_projection_keeps_examples_inside_the_ball(mask: torch.Tensor) -> None:
    delta = torch.full((3, 6, HIDDEN), 0.01) * mask[..., None]
    delta[0] *= 100  # only example 0 is outside norm 1
    projected = EmbeddingPerturbation(norm="l2", max_norm=1.0).project(delta, mask)
    assert torch.allclose(projected[1:], delta[1:])
    assert norms(projected, "l2")[0] == pytest.approx(1.0, rel=1e-5)
    assert torch.allclose(projected[0] / projected[0].norm(), delta[0] / delta[0].norm())


def test_zero_max_norm_is_unbounded(mask: torch.Tensor) -> None:
    delta = torch.randn(3, 6, HIDDEN) * 100 * mask[..., None]
    assert torch.equal(EmbeddingPerturbation(norm="l2", max_norm=0).project(delta, mask), delta)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_init_is_masked_and_within_magnitude(norm: str, mask: torch.Tensor) -> None:
    torch.manual_seed(0)
    delta = EmbeddingPerturbation(norm=norm, init_mag=0.2).init(mask, HIDDEN)
    assert delta.requires_grad and delta.shape == (3, 6, HIDDEN)
    assert torch.equal(padding(delta, mask), torch.zeros_like(padding(delta, mask)))
    assert (norms(delta, norm) <= 0.2 + 1e-6).all() and (norms(delta, norm) > 0).all()


def test_l2_init_scales_with_real_length(mask: torch.Tensor) -> None:
    """U(-1,1) * init_mag / sqrt(len * hidden): the expected norm is init_mag / sqrt(3) for every length."""
    torch.manual_seed(0)
    big = mask.repeat(2000, 1)
    delta = EmbeddingPerturbation(norm="l2", init_mag=1.0).init(big, HIDDEN)
    mean_square = norms(delta, "l2").pow(2).view(2000, 3).mean(dim=0)
    assert torch.allclose(mean_square, torch.full((3,), 1 / 3), rtol=0.1)


def test_zero_init_magnitude_starts_at_zero(mask: torch.Tensor) -> None:
    delta = EmbeddingPerturbation(norm="l2", init_mag=0).init(mask, HIDDEN)
    assert torch.equal(delta, torch.zeros(3, 6, HIDDEN))


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_ascent_step_has_the_step_size_and_follows_the_gradient(norm: str, mask: torch.Tensor) -> None:
    torch.manual_seed(0)
    perturbation = EmbeddingPerturbation(norm=norm, step_size=0.3)
    grad = torch.randn(3, 6, HIDDEN) * 1e-4  # tiny scale: the step must not depend on it
    step = perturbation.update(torch.zeros(3, 6, HIDDEN), grad, mask)
    assert torch.allclose(norms(step, norm), torch.full((3,), 0.3))
    assert ((step * grad)[mask == 1] >= 0).all()
    assert torch.equal(padding(step, mask), torch.zeros_like(padding(step, mask)))


def test_linf_sign_step(mask: torch.Tensor) -> None:
    grad = torch.randn(3, 6, HIDDEN)
    step = EmbeddingPerturbation(norm="linf", step_size=0.1, sign_step=True).ascend(torch.zeros_like(grad), grad, mask)
    assert torch.equal(step, 0.1 * grad.sign() * mask[..., None])


def test_zero_gradient_does_not_produce_nan(mask: torch.Tensor) -> None:
    step = EmbeddingPerturbation(norm="l2", step_size=0.1).update(torch.zeros(3, 6, HIDDEN), torch.zeros(3, 6, HIDDEN), mask)
    assert torch.equal(step, torch.zeros(3, 6, HIDDEN))


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(RobustEvalError, match="norm 'l3'"):
        EmbeddingPerturbation(norm="l3")
    with pytest.raises(RobustEvalError, match="max_norm"):
        EmbeddingPerturbation(max_norm=-1)


def lengths_mask(lengths: list[int], width: int) -> torch.Tensor:
    return (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()


def test_carried_delta_is_cut_and_extended_to_each_batch() -> None:
    torch.manual_seed(0)
    carried = CarriedDelta(EmbeddingPerturbation(norm="l2", init_mag=0.2))
    small = lengths_mask([3, 2], 3)
    start = carried.take(small, HIDDEN)
    assert start.requires_grad and torch.equal(padding(start, small), torch.zeros_like(padding(start, small)))
    moved = start.detach() + 1.0
    carried.keep(moved, small)

    large = lengths_mask([5, 4, 2], 5)  # one more row, longer texts
    second = carried.take(large, HIDDEN).detach()
    assert torch.equal(second[:2, :2], moved[:2, :2]), "slots used by both batches are carried"
    assert torch.equal(second[0, 2], moved[0, 2])
    fresh = [second[1, 2], second[0, 3:5], second[2, :2]]  # padding of batch 1, longer positions, a new row
    assert all(((f != 0).all() and (f.abs() < 1.0).all()) for f in fresh), "unused slots start from a fresh init"
    assert torch.equal(padding(second, large), torch.zeros_like(padding(second, large)))

    carried.keep(second + 1.0, large)
    third = carried.take(small, HIDDEN).detach()
    assert torch.equal(third[small == 1], (second[:2, :3] + 1.0)[small == 1])


def test_carried_delta_stays_within_the_bound() -> None:
    carried = CarriedDelta(EmbeddingPerturbation(norm="l2", max_norm=0.5))
    mask = lengths_mask([4, 2], 4)
    carried.keep(torch.full((2, 4, HIDDEN), 3.0), mask)
    assert (norms(carried.take(mask, HIDDEN), "l2") <= 0.5 + 1e-6).all()
