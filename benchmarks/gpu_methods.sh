#!/usr/bin/env bash
# One GPU job on a host without network access (bundle a, as in benchmarks/gpu_engine.sh): the training-method
# comparison of benchmarks/methods_gpu.py (YOPO-3-3 with the embedding module as first layer, both inner-step
# sizes, FreeLB-3, FreeAT with carried delta and per batch, vanilla; wordnet-swap on the 1000 MR test sentences),
# then a profile of the interleaved wordnet-swap attack on its vanilla checkpoint, and that checkpoint in float16
# parts under 16 MB (to attack it elsewhere).
#   OUT=/some/dir bash benchmarks/gpu_methods.sh
set -u
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
python3 -m pip install -q --no-deps .bundle/a/wheels/*.whl .gpu/wheels/*.whl
python3 -m robust_eval resources bundle install .bundle/a | tail -1
python3 benchmarks/methods_gpu.py --output "$OUT/methods_gpu.json" 2>&1 | grep -v "^{'\|Warning\|warn(\|Loading weights\|Writing model"
vanilla=$(ls -d runs/methods-gpu/checkpoints/vanilla-seed*/ | head -1)
python3 benchmarks/throughput.py --model "$vanilla" --recipe wordnet-swap --skip-sequential --profile "$OUT" \
    --output "$OUT/throughput-profiled.json" 2>&1 | grep -v "Warning\|warn("
python3 - "$vanilla" <<'PY'
import os, sys, tarfile
from pathlib import Path
from safetensors.torch import load_file, save
source = Path(sys.argv[1]); out = Path(os.environ["OUT"]); part = 15_000_000
weights = save({k: v.half() for k, v in load_file(str(source / "model.safetensors")).items()})
for i in range(0, len(weights), part):
    (out / f"vanilla.fp16.part{i // part}").write_bytes(weights[i:i + part])
with tarfile.open(out / "vanilla-files.tar.gz", "w:gz") as tar:
    for f in source.iterdir():
        if f.name != "model.safetensors":
            tar.add(f, arcname=f.name)
PY
