#!/usr/bin/env bash
# The Python packages a CUDA host without package access lacks for the tagger (spaCy and its dependencies),
# inflection (lemminflect) and interleaving (greenlet), for CPython 3.12 on x86-64: downloaded as wheels,
# unpacked, shared objects stripped of symbols and spaCy's own tests left out (57 MB of wheels -> 13 MB),
# then packed as one archive that benchmarks/gpu_validity.sh unpacks onto PYTHONPATH.
#   bash benchmarks/pack_site.sh .gpu/site.tar.xz
set -euo pipefail
archive=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 -d "$scratch/wheels" \
    spacy==3.8.7 thinc==8.3.11 blis==1.3.4 cymem==2.0.16 preshed==3.0.15 murmurhash==1.0.16 srsly==2.5.6 \
    wasabi==1.1.3 weasel==0.4.3 catalogue==2.0.10 confection==0.1.5 langcodes==3.5.1 pydantic==2.14.3 \
    pydantic_core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5 cloudpathlib==0.26.0 smart_open==7.7.1 \
    spacy-legacy==3.0.12 spacy-loggers==1.0.5 lemminflect==0.2.3 greenlet==3.5.6
mkdir "$scratch/site"
for wheel in "$scratch"/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$scratch/site"; done
find "$scratch/site" -name '*.so' -exec strip --strip-unneeded {} +
rm -rf "$scratch/site/spacy/tests"
mkdir -p "$(dirname "$archive")"
tar -cJf "$archive" -C "$scratch/site" .
du -h "$archive"
