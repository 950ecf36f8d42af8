#!/usr/bin/env bash
# One part of reports/mr-minilm/experiment.toml on a GPU host without network access, for hosts whose
# jobs are limited to minutes and keep nothing between jobs. The parts are joined with `robust-eval merge`.
#   part a: wordnet-swap + embedding-swap   bundle .bundle/a (minilm mr wordnet counter-fitted, nltk wheel)
#   part b: sears + bt-filtered (Apertium)  bundle .bundle/b (minilm mr wordnet apertium, nltk wheel)
#     robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet \
#         --include counter-fitted --wheel nltk==3.10.4                                   # 59.8 MB
#     robust-eval resources bundle create .bundle/b --include minilm --include mr --include wordnet \
#         --include apertium --wheel nltk==3.10.4                                         # 63.7 MB
#   PART=a SEED=0 OUT=/some/dir SECONDS_LEFT=570 bash benchmarks/gpu_experiment_part.sh
# Training is deterministic, so part b retrains the same weights as part a (merge checks the SHA-256).
# With SEED=0 the vanilla checkpoint is first evaluated alone, timed: the one-checkpoint evaluation time.
# Work still running at the deadline is stopped; what it recorded comes back and a rerun resumes it.
set -u
deadline=$(( $(date +%s) + ${SECONDS_LEFT:-570} ))
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
jobs=${JOBS:-14}
experiment=reports/mr-minilm/experiment.toml
case "$PART" in
  a) recipes=(--recipe wordnet-swap --recipe embedding-swap) ;;
  b) recipes=(--recipe sears --recipe bt-filtered) ;;
  *) echo "PART must be a or b" >&2; exit 2 ;;
esac
run_dir=runs/mr-minilm-seed$SEED-$PART
left() { echo $(( deadline - $(date +%s) )); }

python3 -m pip install -q --no-deps .bundle/"$PART"/wheels/*.whl
python3 -m robust_eval resources bundle install .bundle/"$PART" | tail -3
other=runs/mr-minilm-seed$SEED-$([ "$PART" = a ] && echo b || echo a)/checkpoints
if [ -d "$other" ] && [ ! -e "$run_dir/checkpoints" ]; then  # the host kept the other part's checkpoints
  mkdir -p "$run_dir" && cp -r "$other" "$run_dir/checkpoints"
fi
start=$(date +%s)
python3 -m robust_eval run "$experiment" --train-seed "$SEED" --train-only --jobs 5 --out "$run_dir" --no-progress
echo "training seconds: $(( $(date +%s) - start ))"
if [ "$SEED" = 0 ]; then
  start=$(date +%s)
  timeout "$(left)" python3 -m robust_eval evaluate --model "$run_dir/checkpoints/vanilla-seed0" --data mr:test \
      --limit 1000 "${recipes[@]}" --jobs "$jobs" --out "runs/one-checkpoint-$PART" --no-progress | tail -6
  echo "one-checkpoint evaluation seconds (part $PART, $jobs workers): $(( $(date +%s) - start ))"
fi
start=$(date +%s)
timeout "$(left)" python3 -m robust_eval run "$experiment" --train-seed "$SEED" "${recipes[@]}" --jobs "$jobs" \
    --out "$run_dir" --no-progress
rc=$?
echo "evaluation seconds: $(( $(date +%s) - start )) (exit $rc)"
python3 -m robust_eval report "$run_dir" | tail -9
tar czf "$OUT/part-seed$SEED-$PART.tar.gz" --exclude=model.safetensors --exclude=tokenizer.json --exclude=vocab.txt \
    "$run_dir" $( [ "$SEED" = 0 ] && echo "runs/one-checkpoint-$PART" )
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
