#!/usr/bin/env bash
# Every recipe and profile on vanilla MiniLM (seed 0, trained as in reports/mr-minilm) and sears / bt-filtered
# and the synonym recipes on SEAR-augmented MiniLM, on the 1000 MR test sentences, or one part of a headline
# experiment, on one CUDA host without network access. The resources travel in volumes of at most 44 MB (a
# transfer holds 64 MiB with the tracked tree); the host keeps runs/ between stages while it is held.
# On a connected machine:
#   robust-eval resources bundle create .bundle/core --include mr --include wordnet --wheel nltk==3.10.4 --volume-mb 51
#   robust-eval resources bundle create .bundle/minilm --include minilm --volume-mb 44
#   robust-eval resources bundle create .bundle/b --include counter-fitted --include tagger --include link-grammar \
#       --include apertium --include smollm2 --wheel gguf==0.19.0 --volume-mb 44
#   robust-eval resources bundle create .bundle/mpnet --include mpnet --volume-mb 44   # for mr-mpnet parts only
#   bash benchmarks/pack_site.sh .gpu/site.tar.xz     # spaCy and lemminflect; greenlet's wheel in .gpu/wheels:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 -d .gpu/wheels greenlet==3.5.6
# Then, on the GPU host, from the repository root, one stash per transfer, each carrying one volume:
#   python3 -m pip install --no-deps .gpu/wheels/*.whl; bash benchmarks/gpu_validity.sh stash
#                                      # with .bundle/core/volume-1, .gpu/wheels, .gpu/site.tar.xz (and .gpu/prior)
#   bash benchmarks/gpu_validity.sh stash          # once per further volume of .bundle/b, .bundle/minilm
#                                                  # (and .bundle/mpnet, which also needs minilm's sentence encoder)
# Every stashed bundle is installed (with the wheels in its volumes) by the first evaluate, part or check on a host,
# or by `install`, after which parts can run side by side, sharing the host's workers, e.g.
#   bash benchmarks/gpu_validity.sh install; for part in "yopo 1" "pgd 0"; do set -- $part; mkdir -p DIR/$1
#     OUT=DIR/$1 JOBS=8 bash benchmarks/gpu_validity.sh part --method $1 --train-seed $2 & done; wait
#   bash benchmarks/gpu_validity.sh train          # the vanilla and SEAR-augmented checkpoints, for evaluate
#   OUT=DIR bash benchmarks/gpu_validity.sh evaluate   # results in DIR
# or, in place of train and evaluate, a part of an experiment (trained and evaluated by `robust-eval run`,
# resumable on the same host, in its own run directory runs/EXPERIMENT-METHOD-seedS, since a run directory holds
# one set of checkpoints; it comes back without its checkpoints, whose training cards come apart):
#   EXPERIMENT=benchmarks/headline/mr-minilm.toml OUT=DIR bash benchmarks/gpu_validity.sh part --method freelb --train-seed 1
# after which the same checkpoints and their temperature-scaled copies are attacked with CALIBRATE_RECIPES
# (default "pwws textfooler", the score-based attacks of Raina et al.) into runs/...-calibration.
# The check alone, of a checkpoint whose part ran on another host (it retrains the checkpoint in the check's own
# run directory; compare the SHA-256 in its run.json with the part's before joining):
#   EXPERIMENT=benchmarks/headline/mr-minilm.toml OUT=DIR bash benchmarks/gpu_validity.sh check --method freeat --train-seed 0
# Records of an earlier, unfinished run placed in .gpu/prior/ (or left under runs/ by an earlier evaluate on the
# same host) are resumed only when the retrained checkpoints have the same SHA-256: MiniLM retrained to the same
# weights on other hosts (an H100's too), MPNet FreeLB did not (same dev history), so finish a cut part on the
# host that trained it where possible. A part cut short is resumed from joined results by cutting its checkpoint
# out of them, e.g.
#   robust-eval merge reports/mr-minilm --checkpoint yopo-seed1 --out .gpu/prior/mr-minilm-yopo-seed1
# TRAIN_LIMIT / EVAL_LIMIT (examples) shrink the run for a check on a CPU.
# Environment: RECIPES (vanilla, run in order by all workers), SIDE_BY_SIDE (vanilla recipes run after them,
# each in its own process with JOBS / their number workers, into runs/validity-RECIPE), AUGMENTED_RECIPES (empty:
# the augmented model is neither trained nor evaluated), VANILLA_SECONDS / SIDE_SECONDS / AUGMENTED_SECONDS.
set -euo pipefail
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:$PWD/runs/site
VANILLA=runs/mr-minilm/checkpoints/vanilla-seed0
AUGMENTED=runs/sears-augmented/vanilla-sears-seed0
read -ra RECIPES <<< "${RECIPES-wordnet-swap embedding-swap pwws textfooler wordnet-swap-strict embedding-swap-strict pwws-strict textfooler-strict sears bt-filtered}"
read -ra SIDE_BY_SIDE <<< "${SIDE_BY_SIDE-}"
read -ra AUGMENTED_RECIPES <<< "${AUGMENTED_RECIPES-sears bt-filtered wordnet-swap pwws textfooler}"
limit_args=(${EVAL_LIMIT:+--limit "$EVAL_LIMIT"})
train_limit=(${TRAIN_LIMIT:+--limit "$TRAIN_LIMIT"})
# What a transfer brought is copied under runs/ at once: a carried path is not kept for later stages.
# Volumes are kept per bundle (runs/volumes/BUNDLE/volume-N): two bundles' volumes share their names.
stash() { mkdir -p runs/volumes
          for v in .bundle/*/volume-*; do
            [ -d "$v" ] && { bundle=runs/volumes/$(basename "$(dirname "$v")"); mkdir -p "$bundle"; cp -r "$v" "$bundle/"; }
          done
          # once per host: parts side by side must not rewrite the packages that the other one imports
          if [ -f .gpu/site.tar.xz ] && [ ! -d runs/site ]; then mkdir -p runs/site; tar -xJf .gpu/site.tar.xz -C runs/site; fi
          for prior in .gpu/prior/*/; do [ -d "$prior" ] && cp -rn "$prior" runs/; done; ls runs/volumes/*; }
# The volumes' resources and wheels, installed once per host and bundle.
install() { for bundle in runs/volumes/*/; do
              [ -f "$bundle/installed" ] && continue
              for wheel in "$bundle"volume-*/wheels/*.whl; do  # gguf, for SmolLM2's install
                if [ -f "$wheel" ]; then python3 -m pip install -q --no-deps "$wheel"; fi
              done
              python3 -m robust_eval resources bundle install "$bundle" 2>&1 | grep -v "de-quantizing" | tail -3
              touch "$bundle/installed"
            done
            python3 -c "import spacy, lemminflect, greenlet; print('spacy', spacy.__version__)"; }

# METHOD-seedS of a part's `--method METHOD --train-seed S` arguments; several of either are joined by "_"
# (`check --method freeat --train-seed 0 --train-seed 1` runs in runs/EXPERIMENT-freeat-seed0_1-calibration).
part_name() { local methods=() seeds=(); while [ $# -gt 0 ]; do case "$1" in
                --method) methods+=("$2"); shift ;; --train-seed) seeds+=("$2"); shift ;; esac; shift; done
              [ ${#methods[@]} -gt 0 ] && [ ${#seeds[@]} -gt 0 ] || { echo "part needs --method and --train-seed" >&2; exit 2; }
              local IFS=_; echo "${methods[*]}-seed${seeds[*]}"; }

# The temperature-scaling check (Raina et al.) of a part's checkpoints, in a run directory of its own: each
# checkpoint and NAME@calibrated under CALIBRATE_RECIPES (default "pwws textfooler"; empty: no check, status 1).
# It links to the part's checkpoints when the part ran on this host; otherwise it trains them (deterministically)
# in its own directory.
calibration_check() {  # RUN_DIR PART_ARGS...
  local run_dir=$1; shift
  local recipes recipe_args=(); read -ra recipes <<< "${CALIBRATE_RECIPES-pwws textfooler}"
  [ ${#recipes[@]} -gt 0 ] || return 1
  for r in "${recipes[@]}"; do recipe_args+=(--recipe "$r"); done
  mkdir -p "$run_dir-calibration"
  [ -d "$run_dir/checkpoints" ] && ln -sfn "../$(basename "$run_dir")/checkpoints" "$run_dir-calibration/checkpoints"
  timeout "${CALIBRATE_SECONDS:-180}" python3 -m robust_eval run "$EXPERIMENT" "$@" "${recipe_args[@]}" \
      --calibrate "${CALIBRATE_DATA:-mr:dev}" --jobs "${JOBS:-16}" --out "$run_dir-calibration" --no-progress \
      > "$OUT/calibration-$(basename "$run_dir").log" 2>&1 || true
  tail -12 "$OUT/calibration-$(basename "$run_dir").log"; }

# A part's or check's run directory, named (and its arguments checked) before anything is installed.
case "$1" in part|check)
  [ -n "${EXPERIMENT:-}" ] || { echo "set EXPERIMENT to an experiment file, e.g. benchmarks/headline/mr-minilm.toml" >&2; exit 2; }
  run_dir=runs/$(basename "$EXPERIMENT" .toml)-$(part_name "${@:2}") ;;
esac
case "$1" in
train)
  stash; install
  python3 -m robust_eval train --method vanilla --seed 0 --epochs 2 --lr 5e-5 --batch-size 32 --max-length 64 \
      "${train_limit[@]}" --output "$VANILLA" --no-progress | tail -2
  [ ${#AUGMENTED_RECIPES[@]} -eq 0 ] || python3 -m robust_eval train --method vanilla --seed 0 --epochs 2 --lr 5e-5 \
      --batch-size 32 --max-length 64 --augment sears "${train_limit[@]}" --output "$AUGMENTED" --no-progress | tail -2
  ;;
stash) stash ;;
install) stash; install ;;
part)
  shift; stash; install
  timeout "${PART_SECONDS:-540}" python3 -m robust_eval run "$EXPERIMENT" "$@" --jobs "${JOBS:-16}" --out "$run_dir" \
      --no-progress > "$OUT/part.log" 2>&1 || true
  tail -25 "$OUT/part.log"
  parts=("$(basename "$run_dir")")
  if calibration_check "$run_dir" "$@"; then parts+=("$(basename "$run_dir")-calibration"); fi
  # Records and reports without the checkpoints (a checkpoint folder without weights placed in .gpu/prior would
  # pass for trained); their training cards apart.
  tar -cJf "$OUT/$(basename "$run_dir").tar.xz" --exclude=checkpoints -C runs "${parts[@]}"
  tar -cJf "$OUT/cards.tar.xz" "$run_dir"/checkpoints/*/training.json "$run_dir"/checkpoints/*/README.md
  ;;
check)
  shift; stash; install
  calibration_check "$run_dir" "$@" || { echo "check: CALIBRATE_RECIPES is empty; name the recipes to check" >&2; exit 2; }
  tar -cJf "$OUT/$(basename "$run_dir")-calibration.tar.xz" --exclude=checkpoints -C runs "$(basename "$run_dir")-calibration"
  ;;
evaluate)
  stash
  python3 - <<'PY'
import json, shutil
from pathlib import Path
from robust_eval.pipeline.plan import checkpoint_digest
for run in sorted(Path("runs").glob("validity*")) + [Path("runs/sears-augmented-eval")]:
    if (run / "run.json").is_file():
        recorded = json.loads((run / "run.json").read_text())
        checkpoint = recorded["config"]["checkpoints"][0]
        path = recorded["environment"]["checkpoint_paths"][checkpoint["name"]]
        same = checkpoint_digest(Path(path)) == checkpoint["sha256"]
        print(run, "resumed" if same else "discarded: the retrained checkpoint differs")
        if not same:
            shutil.rmtree(run)
PY
  install
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/gpu-samples.csv" &
  sampler=$!
  jobs=${JOBS:-8}
  evaluate() {  # SECONDS_LIMIT MODEL OUT_DIR LOG JOBS RECIPE...
    local limit=$1 model=$2 out=$3 log=$4 workers=$5; shift 5
    local args=(); for r in "$@"; do args+=(--recipe "$r"); done
    timeout "$limit" python3 -m robust_eval evaluate --model "$model" --data mr:test "${limit_args[@]}" "${args[@]}" \
        --jobs "$workers" --out "$out" --no-progress > "$log" 2>&1 || true
  }
  start=$SECONDS
  [ ${#RECIPES[@]} -eq 0 ] || evaluate "${VANILLA_SECONDS:-420}" "$VANILLA" runs/validity "$OUT/evaluate-vanilla.log" "$jobs" "${RECIPES[@]}"
  vanilla_s=$(( SECONDS - start )); start=$SECONDS
  side=()  # their pids: a bare `wait` would also wait for the GPU sampler, which never ends
  for r in "${SIDE_BY_SIDE[@]}"; do
    evaluate "${SIDE_SECONDS:-420}" "$VANILLA" "runs/validity-$r" "runs/evaluate-$r.log" $(( jobs / ${#SIDE_BY_SIDE[@]} )) "$r" &
    side+=($!)
  done
  [ ${#side[@]} -eq 0 ] || wait "${side[@]}"
  side_s=$(( SECONDS - start ))
  kill "$sampler" || true
  start=$SECONDS
  [ ${#AUGMENTED_RECIPES[@]} -eq 0 ] || evaluate "${AUGMENTED_SECONDS:-90}" "$AUGMENTED" runs/sears-augmented-eval \
      "$OUT/evaluate-augmented.log" "$jobs" "${AUGMENTED_RECIPES[@]}"
  augmented_s=$(( SECONDS - start ))
  echo "{\"vanilla_s\": $vanilla_s, \"side_by_side_s\": $side_s, \"augmented_s\": $augmented_s, \"jobs\": $jobs}" > "$OUT/timing.json"
  for log in "$OUT"/evaluate-*.log runs/evaluate-*.log; do [ -f "$log" ] && { echo "== $log"; tail -15 "$log"; }; done
  cat "$OUT/timing.json"
  runs=(); for run in runs/validity* runs/sears-augmented-eval; do [ -d "$run" ] && runs+=("${run#runs/}"); done
  tar -cJf "$OUT/runs.tar.xz" -C runs "${runs[@]}" $(cd runs && ls evaluate-*.log 2>/dev/null)
  cards=(); for c in "$VANILLA" "$AUGMENTED"; do [ -d "$c" ] && cards+=("$c/training.json" "$c/README.md"); done
  tar -cJf "$OUT/cards.tar.xz" "${cards[@]}"
  ;;
*) echo "usage: gpu_validity.sh train|stash|install|evaluate|part|check" >&2; exit 2 ;;
esac
