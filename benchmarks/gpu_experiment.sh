#!/usr/bin/env bash
# An experiment (EXPERIMENT, default reports/mr-minilm/experiment.toml) on a GPU host without network access whose
# jobs last minutes: each job installs the offline bundle it carries, resumes `robust-eval run` until its
# deadline, and sends back the output directory without weights. Run it again (same host, files kept) until
# the run is complete. Two bundles, since one transfer holds 64 MiB:
#   robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet \
#       --include counter-fitted --wheel nltk==3.10.4                                   # 59.8 MB
#   robust-eval resources bundle create .bundle/b --include minilm --include mr --include wordnet \
#       --include apertium --wheel nltk==3.10.4                                         # 64.6 MB
#   BUNDLE=.bundle/b OUT=/some/dir SECONDS_LEFT=560 bash benchmarks/gpu_experiment.sh
# A bundle cut into volumes (`bundle create ... --volume-mb 65`) travels one volume per job to the same host;
# the job that brings the last one installs them all (BUNDLE=the bundle's directory).
# Arguments after the variables select a part of the experiment (`run --method/--train-seed/--recipe`),
# evaluated into RUN_DIR (default runs/<the experiment's folder name>); checkpoints that earlier parts of the
# same experiment trained on this host are reused, the parts joined later with `robust-eval merge`.
set -u
deadline=$(( $(date +%s) + ${SECONDS_LEFT:-560} ))
experiment=${EXPERIMENT:-reports/mr-minilm/experiment.toml}
run_dir=${RUN_DIR:-runs/$(basename "$(dirname "$experiment")")}
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
if [ -n "${BUNDLE:-}" ]; then
  find "$BUNDLE" -path "*/wheels/*.whl" -exec python3 -m pip install -q --no-deps {} +
  python3 -m robust_eval resources bundle install "$BUNDLE" | tail -4
fi
python3 -m robust_eval resources status | tail -8
mkdir -p "$run_dir/checkpoints"
for part in runs/*/; do
  cmp -s "$part/experiment.toml" "$experiment" || continue
  for trained in "$part"checkpoints/*/; do
    target="$run_dir/checkpoints/$(basename "$trained")"
    [ -e "$target" ] || [ ! -f "$trained/training.json" ] || cp -al "$trained" "$target"
  done
done
start=$(date +%s)
timeout $(( deadline - $(date +%s) )) python3 -m robust_eval run "$experiment" "$@" \
    --jobs "${JOBS:-14}" --out "$run_dir" --no-progress 2>&1 | grep -v "^{'\|Warning\|warn(\|^ *return"
echo "run seconds this job: $(( $(date +%s) - start ))"
python3 -m robust_eval report "$run_dir" | tail -20
tar czf "$OUT/$(basename "$run_dir").tar.gz" --exclude=model.safetensors --exclude=tokenizer.json \
    --exclude=vocab.txt "$run_dir"
