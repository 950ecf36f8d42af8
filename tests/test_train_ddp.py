"""Data-parallel training (2 CPU processes, gloo) equals one process with the same global batch.

The test launches this file with `torch.distributed.run`; as a script it trains one run from a JSON config.
Dropout is switched off in the tiny checkpoint so the two runs draw no different random numbers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REVIEWS = [("the movie was good", "positive"), ("a dull and boring film that was really slow", "negative"),
           ("great acting", "positive"), ("the plot was a mess and the script was weak", "negative")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(processes: int, config: dict, batch_size: int) -> Path:
    """Train with `processes` gloo workers, per-device batch `batch_size`; the checkpoint directory."""
    output = Path(config["output"] + f"-{processes}")
    settings = json.dumps({**config, "output": str(output), "batch_size": batch_size})
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
               f"--master_port={free_port()}", __file__, settings]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return output


def run_config(method: str, checkpoint: Path, tmp_path: Path) -> dict:
    """Settings of a short deterministic run: dropout off in `checkpoint`, 16 reviews per split."""
    model_config = json.loads((checkpoint / "config.json").read_text())
    model_config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (checkpoint / "config.json").write_text(json.dumps(model_config))
    splits = {}
    for name in ("train", "dev", "test"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in REVIEWS * 4))
        splits[f"{name}_data"] = str(path)
    return {"method": method, "model": str(checkpoint), "output": str(tmp_path / "model"), "epochs": 1,
            "lr": 1e-3, "adv_steps": 3, "adv_lr": 0.1, "adv_init_mag": 0.0, "progress": False, **splits}


def test_gradient_accumulation_matches_one_large_batch(tiny_checkpoint, tmp_path: Path) -> None:
    from trainers.config import from_mapping
    from trainers.train import train

    config = run_config("freelb", tiny_checkpoint("bert"), tmp_path)
    weights = []
    for batch_size, accumulation in ((8, 1), (4, 2)):
        output = tmp_path / f"accumulate-{accumulation}"
        train(from_mapping({**config, "output": str(output), "batch_size": batch_size, "grad_accum": accumulation}))
        weights.append(load_file(output / "model.safetensors"))
    for name, tensor in weights[0].items():
        assert torch.allclose(tensor, weights[1][name], atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize("method", ["freelb", "pgd"])
def test_two_gloo_processes_match_one(method: str, tiny_checkpoint, tmp_path: Path) -> None:
    checkpoint = tiny_checkpoint("bert")
    config = run_config(method, checkpoint, tmp_path)
    single = load_file(launch(1, config, batch_size=8) / "model.safetensors")
    double = load_file(launch(2, config, batch_size=4) / "model.safetensors")
    base = load_file(checkpoint / "model.safetensors")
    assert any(not torch.equal(single[k], base[k]) for k in base), "training must move the weights"
    for name, tensor in single.items():
        assert torch.allclose(tensor, double[name], atol=1e-5, rtol=1e-4), name
    card = json.loads((Path(config["output"] + "-2") / "training.json").read_text())
    assert card["batches"] == 2 and card["data"]["train"]["examples"] == 16


if __name__ == "__main__":
    from trainers.config import from_mapping
    from trainers.train import end_distributed, train

    train(from_mapping(json.loads(sys.argv[1])))
    end_distributed()
