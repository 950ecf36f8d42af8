#!/usr/bin/env bash
# One GPU job on a host without network access: the attack engine's throughput (benchmarks/throughput.py).
# Trains vanilla MiniLM seed 0 exactly as the headline experiment does, checks its weights against the committed
# run, then times wordnet-swap and embedding-swap on the 1000 MR test sentences one example at a time and with
# many examples in flight (fp32 and bf16), comparing the records with each other and with the committed ones.
#   robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet \
#       --include counter-fitted --wheel nltk==3.10.4       # on a connected machine; greenlet's wheel in .gpu/wheels
#   OUT=/some/dir bash benchmarks/gpu_engine.sh [FIRST_RECIPE [RECIPE...]]
set -u
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
python3 -m pip install -q --no-deps .bundle/a/wheels/*.whl .gpu/wheels/*.whl
python3 -m robust_eval resources bundle install .bundle/a | tail -2
python3 -m robust_eval run reports/mr-minilm/experiment.toml --method vanilla --train-seed 0 --train-only \
    --out runs/mr-minilm --no-progress 2>&1 | grep -v "^{'\|Warning\|warn(" | tail -3
python3 - <<'PY'
import json
from robust_eval.pipeline.plan import checkpoint_digest
from pathlib import Path
committed = {c["name"]: c["sha256"] for c in json.loads(Path("reports/mr-minilm/run.json").read_text())["config"]["checkpoints"]}
print("weights equal the committed vanilla-seed0:", checkpoint_digest(Path("runs/mr-minilm/checkpoints/vanilla-seed0")) == committed["vanilla-seed0"])
PY
# the committed records, decompressed, as the reference run
mkdir -p runs/reference && cp reports/mr-minilm/run.json runs/reference/
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('reports/mr-minilm/records.jsonl.xz'), open('runs/reference/records.jsonl', 'wb'))"
# the first recipe also runs one example at a time (the previous engine's schedule); the others only interleaved
first=${1:-wordnet-swap}; shift || true
[ -n "${SKIP_SEQUENTIAL:-}" ] && set -- "$first" "$@"
[ -z "${SKIP_SEQUENTIAL:-}" ] && python3 benchmarks/throughput.py --model runs/mr-minilm/checkpoints/vanilla-seed0 --recipe "$first" \
    --reference runs/reference --output "$OUT/throughput-$first.json" 2>&1 | grep -v "Warning\|warn("
for recipe in "$@"; do
  python3 benchmarks/throughput.py --model runs/mr-minilm/checkpoints/vanilla-seed0 --recipe "$recipe" --skip-sequential ${PRECISIONS:-} \
      --reference runs/reference --output "$OUT/throughput-$recipe.json" 2>&1 | grep -v "Warning\|warn("
done
