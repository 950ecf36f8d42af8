#!/usr/bin/env bash
# One GPU job on a host without network access: install an offline bundle, train vanilla MiniLM on MR
# (seed 0), attack it with the Apertium-based recipes on the MR test split, and bring back the records and
# the checkpoint (float16, split into parts under 16 MB).
#   robust-eval resources bundle create .bundle/b --include minilm --include mr --include wordnet \
#       --include apertium --wheel nltk==3.10.4          # on a connected machine (64.6 MB)
#   OUT=/some/dir bash benchmarks/gpu_vanilla_recipes.sh  # on the GPU host, from the repository root
set -u
export ROBUST_EVAL_HOME=${ROBUST_EVAL_HOME:-$PWD/runs/home} PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
python3 -m pip install -q --no-deps .bundle/b/wheels/*.whl
python3 -m robust_eval resources bundle install .bundle/b
python3 -m robust_eval train --method vanilla --output ck/vanilla --seed 0 --epochs 2 --lr 5e-5 --no-progress
python3 - <<'PY'
import os, tarfile
from pathlib import Path
from safetensors.torch import load_file, save
weights = save({k: v.half() for k, v in load_file("ck/vanilla/model.safetensors").items()})
out = Path(os.environ["OUT"]); part = 15_000_000
for i in range(0, len(weights), part):
    (out / f"vanilla.fp16.part{i // part}").write_bytes(weights[i:i + part])
with tarfile.open(out / "vanilla-files.tar.gz", "w:gz") as tar:
    for f in Path("ck/vanilla").iterdir():
        if f.name != "model.safetensors":
            tar.add(f, arcname=f.name)
PY
for recipe in sears bt-filtered; do
  timeout "${RECIPE_SECONDS:-210}" python3 -m robust_eval evaluate --model ck/vanilla --data mr:test \
      --recipe "$recipe" --out "runs/$recipe" --no-progress
  python3 -m robust_eval report "runs/$recipe" | tail -8
  tar czf "$OUT/$recipe.tar.gz" -C runs "$recipe"
done
