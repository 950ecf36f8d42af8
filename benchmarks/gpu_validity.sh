#!/usr/bin/env bash
# Every recipe and profile on vanilla MiniLM (seed 0, trained as in reports/mr-minilm) and sears / bt-filtered
# and the synonym recipes on SEAR-augmented MiniLM, on the 1000 MR test sentences, on one CUDA host without
# network access. The resources travel in parts of at most ~60 MB each; the host keeps runs/ between stages.
# On a connected machine:
#   robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet --wheel nltk==3.10.4
#   robust-eval resources bundle create .bundle/b --include counter-fitted --include tagger --include link-grammar \
#       --include apertium --include smollm2 --wheel gguf==0.19.0 --volume-mb 45
#   bash benchmarks/pack_site.sh .gpu/site.tar.xz
# Then, on the GPU host, from the repository root, one stage per transfer:
#   bash benchmarks/gpu_validity.sh train          # with .bundle/a, .bundle/b/volume-4 and greenlet's wheel in .gpu/wheels
#   bash benchmarks/gpu_validity.sh stash          # with .bundle/b/volume-1 and .gpu/site.tar.xz
#   bash benchmarks/gpu_validity.sh stash          # with .bundle/b/volume-2 (and .gpu/prior, if any)
#   OUT=DIR bash benchmarks/gpu_validity.sh evaluate   # with .bundle/b/volume-3; results in DIR
# Records of an earlier, unfinished run placed in .gpu/prior/ are resumed when the retrained checkpoints are
# the same (training is deterministic on one GPU model); TRAIN_LIMIT / EVAL_LIMIT (examples) shrink the run
# for a check on a CPU.
set -euo pipefail
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:$PWD/runs/site
VANILLA=runs/mr-minilm/checkpoints/vanilla-seed0
AUGMENTED=runs/sears-augmented/vanilla-sears-seed0
RECIPES=(wordnet-swap embedding-swap pwws textfooler wordnet-swap-strict embedding-swap-strict pwws-strict
         textfooler-strict sears bt-filtered)
AUGMENTED_RECIPES=(sears bt-filtered wordnet-swap pwws textfooler)
limit_args=(${EVAL_LIMIT:+--limit "$EVAL_LIMIT"})
train_limit=(${TRAIN_LIMIT:+--limit "$TRAIN_LIMIT"})
# What a transfer brought is copied under runs/ at once: a carried path is not kept for later stages.
stash() { mkdir -p runs/volumes; for v in .bundle/b/volume-*; do [ -d "$v" ] && cp -r "$v" runs/volumes/; done
          if [ -f .gpu/site.tar.xz ]; then mkdir -p runs/site; tar -xJf .gpu/site.tar.xz -C runs/site; fi
          for prior in .gpu/prior/*/; do [ -d "$prior" ] && cp -rn "$prior" runs/; done; ls runs/volumes; }

case "$1" in
train)
  python3 -m pip install -q --no-deps .bundle/a/wheels/*.whl .gpu/wheels/*.whl  # nltk, greenlet
  python3 -m robust_eval resources bundle install .bundle/a | tail -1
  stash
  python3 -m robust_eval train --method vanilla --seed 0 --epochs 2 --lr 5e-5 --batch-size 32 --max-length 64 \
      "${train_limit[@]}" --output "$VANILLA" --no-progress | tail -2
  python3 -m robust_eval train --method vanilla --seed 0 --epochs 2 --lr 5e-5 --batch-size 32 --max-length 64 \
      --augment sears "${train_limit[@]}" --output "$AUGMENTED" --no-progress | tail -2
  ;;
stash) stash ;;
evaluate)
  stash
  python3 - <<'PY'
import json, shutil
from pathlib import Path
from robust_eval.pipeline.plan import checkpoint_digest
for run in (Path("runs/validity"), Path("runs/sears-augmented-eval")):
    if (run / "run.json").is_file():
        recorded = json.loads((run / "run.json").read_text())
        checkpoint = recorded["config"]["checkpoints"][0]
        path = recorded["environment"]["checkpoint_paths"][checkpoint["name"]]
        same = checkpoint_digest(Path(path)) == checkpoint["sha256"]
        print(run, "resumed" if same else "discarded: the retrained checkpoint differs")
        if not same:
            shutil.rmtree(run)
PY
  python3 -m pip install -q --no-deps runs/volumes/volume-*/wheels/*.whl  # gguf, for SmolLM2's install
  python3 -m robust_eval resources bundle install runs/volumes 2>&1 | grep -v "de-quantizing" | tail -3
  python3 -c "import spacy, lemminflect, greenlet; print('spacy', spacy.__version__)"
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/gpu-samples.csv" &
  sampler=$!
  recipe_args=(); for r in "${RECIPES[@]}"; do recipe_args+=(--recipe "$r"); done
  start=$SECONDS
  timeout "${VANILLA_SECONDS:-420}" python3 -m robust_eval evaluate --model "$VANILLA" --data mr:test \
      "${limit_args[@]}" "${recipe_args[@]}" --jobs "${JOBS:-8}" --out runs/validity --no-progress \
      > "$OUT/evaluate-vanilla.log" 2>&1 || true
  vanilla_s=$(( SECONDS - start ))
  kill "$sampler" || true
  recipe_args=(); for r in "${AUGMENTED_RECIPES[@]}"; do recipe_args+=(--recipe "$r"); done
  start=$SECONDS
  timeout "${AUGMENTED_SECONDS:-90}" python3 -m robust_eval evaluate --model "$AUGMENTED" --data mr:test \
      "${limit_args[@]}" "${recipe_args[@]}" --jobs "${JOBS:-8}" --out runs/sears-augmented-eval --no-progress \
      > "$OUT/evaluate-augmented.log" 2>&1 || true
  augmented_s=$(( SECONDS - start ))
  echo "{\"vanilla_all_recipes_s\": $vanilla_s, \"augmented_s\": $augmented_s, \"jobs\": ${JOBS:-8}}" > "$OUT/timing.json"
  tail -40 "$OUT/evaluate-vanilla.log"; tail -20 "$OUT/evaluate-augmented.log"; cat "$OUT/timing.json"
  for run in validity sears-augmented-eval; do tar -cJf "$OUT/$run.tar.xz" -C runs "$run"; done
  tar -cJf "$OUT/cards.tar.xz" "$VANILLA/training.json" "$AUGMENTED/training.json" "$VANILLA"/README.md "$AUGMENTED"/README.md
  ;;
*) echo "usage: gpu_validity.sh train|stash|evaluate" >&2; exit 2 ;;
esac
