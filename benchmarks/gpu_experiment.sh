#!/usr/bin/env bash
# The headline experiment (reports/mr-minilm/experiment.toml) on a GPU host without network access whose
# jobs last minutes: each job installs the offline bundle it carries, resumes `robust-eval run` until its
# deadline, and sends back the output directory without weights. Run it again (same host, files kept) until
# the run is complete. Two bundles, since one transfer holds 64 MiB:
#   robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet \
#       --include counter-fitted --wheel nltk==3.10.4                                   # 59.8 MB
#   robust-eval resources bundle create .bundle/b --include minilm --include mr --include wordnet \
#       --include apertium --wheel nltk==3.10.4                                         # 64.6 MB
#   BUNDLE=.bundle/b OUT=/some/dir SECONDS_LEFT=560 bash benchmarks/gpu_experiment.sh
# Arguments after the variables select a part of the experiment (`run --method/--train-seed/--recipe`),
# evaluated into RUN_DIR (default runs/mr-minilm); checkpoints that earlier parts trained on this host
# are reused, the parts joined later with `robust-eval merge`.
set -u
deadline=$(( $(date +%s) + ${SECONDS_LEFT:-560} ))
run_dir=${RUN_DIR:-runs/mr-minilm}
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
if [ -n "${BUNDLE:-}" ]; then
  python3 -m pip install -q --no-deps "$BUNDLE"/wheels/*.whl
  python3 -m robust_eval resources bundle install "$BUNDLE" | tail -4
fi
python3 -m robust_eval resources status | tail -8
mkdir -p "$run_dir/checkpoints"
for trained in runs/*/checkpoints/*/; do
  target="$run_dir/checkpoints/$(basename "$trained")"
  [ -e "$target" ] || [ ! -f "$trained/training.json" ] || cp -al "$trained" "$target"
done
start=$(date +%s)
timeout $(( deadline - $(date +%s) )) python3 -m robust_eval run reports/mr-minilm/experiment.toml "$@" \
    --jobs "${JOBS:-14}" --out "$run_dir" --no-progress 2>&1 | grep -v "^{'\|Warning\|warn(\|^ *return"
echo "run seconds this job: $(( $(date +%s) - start ))"
python3 -m robust_eval report "$run_dir" | tail -20
tar czf "$OUT/$(basename "$run_dir").tar.gz" --exclude=model.safetensors --exclude=tokenizer.json \
    --exclude=vocab.txt "$run_dir"
