#!/usr/bin/env bash
# Did a change move the default outputs? For every labeled corpus in ../shared/data:
# `labeler run CORPUS --sample 800 --llm none` with an OLD checkout and with this one (its own
# array cache, so UMAP runs again; the embedding cache is shared), then the run files compared.
#   benchmarks/house/same_outputs.sh OLD_CHECKOUT WORK_DIR      (from the repository root)
set -u
old=$(cd "$1" && pwd); work=$2; here=$(pwd); python=$here/.venv/bin/python
export HF_HUB_OFFLINE=1
for corpus in "$here"/../shared/data/*.jsonl.gz; do
  name=$(basename "$corpus" .jsonl.gz); a=$work/$name/cache-old; b=$work/$name/cache-new
  mkdir -p "$a" "$b"
  (cd "$old" && LABELER_CACHE_DIR=$a PYTHONPATH=$old $python -m labeler run "$corpus" \
    --sample 800 --llm none --out "$work/$name/old" -q >/dev/null)
  cp "$a"/embeddings.sqlite* "$b"/ 2>/dev/null; cp -r "$a"/models "$b"/ 2>/dev/null
  LABELER_CACHE_DIR=$b $python -m labeler run "$corpus" --sample 800 --llm none \
    --out "$work/$name/new" -q >/dev/null
  line="| $name |"
  for file in documents.parquet topics.json hierarchy.json embeddings.npy; do
    cmp -s "$work/$name/old/$file" "$work/$name/new/$file" && line="$line same |" || line="$line DIFF |"
  done
  echo "$line"
done
