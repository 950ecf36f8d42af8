"""Interleaved tasks: gathered calls merged into one batch, results as if each task ran alone."""

from __future__ import annotations

import random

import pytest

from robust_eval.core.errors import RobustEvalError
from robust_eval.core.gather import Interleaver, gathered


class Squares:
    """A gathered service that records the size of every call it receives."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    @gathered
    def square(self, items):
        self.calls.append(len(items))
        return [x * x for x in items]


def task(service: Squares, start: int, steps: int):
    def run() -> list[int]:
        values = [start]
        for _ in range(steps):
            values = service.square([values[-1] % 97, values[-1] % 89])
        return values
    return run


def test_calls_of_all_tasks_in_flight_become_one_call() -> None:
    service = Squares()
    done: dict[int, list[int]] = {}
    Interleaver(in_flight=8).run([task(service, s, 3) for s in range(8)], done.__setitem__)
    alone = Squares()
    assert done == {i: task(alone, i, 3)() for i in range(8)}
    assert service.calls == [16, 16, 16]  # 8 tasks x 2 items, three rounds
    assert alone.calls == [2] * 24


def test_in_flight_limit_and_tasks_of_different_lengths() -> None:
    service = Squares()
    done: dict[int, list[int]] = {}
    tasks = [task(service, s, steps) for s, steps in enumerate([1, 4, 2, 0, 3])]
    Interleaver(in_flight=2).run(tasks, done.__setitem__)
    assert done == {i: t() for i, t in enumerate([task(Squares(), s, n) for s, n in enumerate([1, 4, 2, 0, 3])])}
    assert max(service.calls) <= 4  # never more than two tasks' requests in one call


def test_each_task_is_seeded_at_its_start() -> None:
    seen: dict[int, float] = {}

    def seed(value: int):
        return lambda: random.seed(value)

    Interleaver(in_flight=3).run([random.random] * 3, seen.__setitem__, [seed(v) for v in (1, 2, 3)])
    for index, value in enumerate((1, 2, 3)):
        random.seed(value)
        assert seen[index] == random.random()


def test_outside_an_interleaver_a_gathered_method_runs_directly() -> None:
    service = Squares()
    assert service.square([3]) == [9] and service.calls == [1]


def test_errors_reach_the_caller() -> None:
    def broken() -> None:
        raise ValueError("inside a task")

    with pytest.raises(ValueError, match="inside a task"):
        Interleaver(2).run([broken], lambda i, r: None)
    with pytest.raises(RobustEvalError, match="at least 1"):
        Interleaver(0)


def test_attacks_that_draw_random_numbers_run_one_at_a_time() -> None:
    from attacks.core import Attack
    from attacks.goals import UntargetedClassification
    from attacks.search import BeamSearch
    from eval_support import TinySwap

    class RandomSwap(TinySwap):
        draws_random = True

    assert Attack(UntargetedClassification(), TinySwap(2), [], BeamSearch()).interleavable
    assert not Attack(UntargetedClassification(), RandomSwap(2), [], BeamSearch()).interleavable
