#!/usr/bin/env bash
# The headline experiment (reports/mr-minilm/experiment.toml) on a GPU host without network access whose
# jobs last minutes: each job installs the offline bundle it carries, resumes `robust-eval run` until its
# deadline, and sends back the output directory without weights. Run it again (same host, files kept) until
# the run is complete. Two bundles, since one transfer holds 64 MiB:
#   robust-eval resources bundle create .bundle/a --include minilm --include mr --include wordnet \
#       --include counter-fitted --wheel nltk==3.10.4                                   # 59.8 MB
#   robust-eval resources bundle create .bundle/b --include minilm --include mr --include wordnet \
#       --include apertium --wheel nltk==3.10.4                                         # 63.7 MB
#   BUNDLE=.bundle/b OUT=/some/dir SECONDS_LEFT=560 bash benchmarks/gpu_experiment.sh
set -u
deadline=$(( $(date +%s) + ${SECONDS_LEFT:-560} ))
export ROBUST_EVAL_HOME=$PWD/runs/home PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
if [ -n "${BUNDLE:-}" ]; then
  python3 -m pip install -q --no-deps "$BUNDLE"/wheels/*.whl
  python3 -m robust_eval resources bundle install "$BUNDLE" | tail -4
fi
python3 -m robust_eval resources status | tail -8
start=$(date +%s)
timeout $(( deadline - $(date +%s) )) python3 -m robust_eval run reports/mr-minilm/experiment.toml \
    --jobs "${JOBS:-14}" --out runs/mr-minilm --no-progress 2>&1 | grep -v "^{'\|Warning\|warn(\|^ *return"
echo "run seconds this job: $(( $(date +%s) - start ))"
python3 -m robust_eval report runs/mr-minilm | tail -20
tar czf "$OUT/mr-minilm.tar.gz" --exclude=model.safetensors --exclude=tokenizer.json --exclude=vocab.txt runs/mr-minilm
