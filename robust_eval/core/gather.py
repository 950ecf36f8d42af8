"""Many attacks in flight, their model calls merged into large batches.

A search asks the victim (or a sentence encoder, a translator, a language model) about a few dozen texts at
a time; a GPU wants thousands. `Interleaver.run` keeps up to `in_flight` tasks (one attack on one example
each) running as greenlets. A method decorated with `@gathered` that is called inside one of them does not
run at once: the task hands its inputs to the scheduler and waits. When every task in flight is waiting
(or done), the scheduler makes one call per (object, method) over the concatenation of all their inputs
and gives each task its own rows back. Outside an interleaver a gathered method simply runs.

The searches themselves stay ordinary sequential code, and each task keeps its own query budget and
cache, so a task computes what it would compute alone; only the composition of the batches changes, which
moves results by floating-point rounding of padded batches at most. Tasks share the global random
generators, so work that draws random numbers must run one task at a time (`in_flight=1`; see
`attacks.core.Attack.interleavable`). The order in which tasks run and wait is fixed by the order they were
given in, so a run is reproducible.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

import greenlet

from robust_eval.core.errors import RobustEvalError

T = TypeVar("T")
DEFAULT_IN_FLIGHT = 128  # examples in flight per process: enough for batches of thousands of texts
Method = Callable[[Any, Sequence[Any]], Sequence[Any]]


@dataclass
class _Request:
    """What a waiting task asked for: `method(owner, items)`."""

    owner: Any
    method: Method
    items: list[Any]


class _Task(greenlet.greenlet):
    """One task: its function and, at its start, the seeding of the random generators."""

    def __init__(self, function: Callable[[], Any], seed_state: Callable[[], None] | None) -> None:
        super().__init__(self._body)
        self.function = function
        self.seed_state = seed_state

    def _body(self) -> Any:
        if self.seed_state is not None:
            self.seed_state()
        return self.function()

    def resume(self, value: Any) -> Any:
        """Switch into the task with `value` (nothing when it starts); return what it hands back."""
        return self.switch(value) if self else self.switch()


def gathered(method: Method) -> Method:
    """Decorate a method taking one sequence of inputs and returning one output per input.

    Inside `Interleaver.run` the calls of all tasks in flight are merged into one call; elsewhere the
    method runs directly.
    """

    @functools.wraps(method)
    def wrapper(self: Any, items: Sequence[Any]) -> Sequence[Any]:
        current = greenlet.getcurrent()
        if not isinstance(current, _Task) or not len(items):
            return method(self, items)
        return current.parent.switch(_Request(self, method, list(items)))

    return wrapper


class Interleaver:
    """Run tasks with up to `in_flight` of them at once, merging their gathered calls into batches."""

    def __init__(self, in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        if in_flight < 1:
            raise RobustEvalError(f"examples in flight must be at least 1, got {in_flight}")
        self.in_flight = in_flight
        self.batches = 0
        self.items = 0

    def run(
        self,
        tasks: Iterable[Callable[[], T]],
        on_done: Callable[[int, T], None],
        seeds: Iterable[Callable[[], None] | None] | None = None,
    ) -> None:
        """Run every task; `on_done(index, result)` as each one finishes (in the main greenlet).

        `seeds[i]`, when given, seeds the random generators at the start of task i.
        """
        pending = deque(enumerate(tasks))
        seed_list = list(seeds) if seeds is not None else None
        waiting: list[tuple[int, _Task, _Request]] = []
        ready: deque[tuple[int, _Task, Any]] = deque()
        while pending or waiting or ready:
            while pending and len(waiting) + len(ready) < self.in_flight:
                index, function = pending.popleft()
                ready.append((index, _Task(function, seed_list[index] if seed_list else None), None))
            while ready:
                index, task, value = ready.popleft()
                handed = task.resume(value)
                if task.dead:
                    on_done(index, handed)
                    if pending:
                        next_index, function = pending.popleft()
                        seed = seed_list[next_index] if seed_list else None
                        ready.append((next_index, _Task(function, seed), None))
                elif isinstance(handed, _Request):
                    waiting.append((index, task, handed))
                else:
                    raise RobustEvalError(f"an attack task switched out without a request ({type(handed).__name__})")
            if waiting:
                ready.extend(self._answer(waiting))
                waiting = []

    def _answer(self, waiting: list[tuple[int, _Task, _Request]]) -> list[tuple[int, _Task, Any]]:
        """One call per (owner, method) over all waiting requests; each task gets its slice back."""
        groups: dict[tuple[int, Method], list[tuple[int, _Task, _Request]]] = {}
        for entry in waiting:
            groups.setdefault((id(entry[2].owner), entry[2].method), []).append(entry)
        answered = []
        for entries in groups.values():
            request = entries[0][2]
            items = [item for _, _, r in entries for item in r.items]
            outputs = request.method(request.owner, items)
            self.batches += 1
            self.items += len(items)
            offset = 0
            for index, task, r in entries:
                answered.append((index, task, outputs[offset: offset + len(r.items)]))
                offset += len(r.items)
        answered.sort(key=lambda entry: entry[0])
        return answered
