#!/usr/bin/env bash
# `make demo`: the whole path of a fresh user on the embedded model —
# doctor → run → eval → share-results --dry-run → verify-hash. Prints where everything is.
set -euo pipefail
spec=${PUMA_DEMO_SPEC:-specs/runs/demo_publication.yaml}
out=${PUMA_DEMO_OUT:-runs}
package=${PUMA_DEMO_PACKAGE:-$out/package}

echo "== puma doctor $spec"
puma doctor "$spec"

echo "== puma run $spec --out $out"
summary=$(mktemp)
puma run "$spec" --out "$out" --json | tee "$summary"
run_dir=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_dir"])' "$summary")
rm -f "$summary"
echo "run folder: $run_dir"

if puma --help | grep -q " eval "; then
  echo "== puma eval $run_dir"
  puma eval "$run_dir"
fi

if puma --help | grep -q "share-results"; then
  echo "== puma share-results $run_dir --dry-run --out $package"
  puma share-results "$run_dir" --dry-run --out "$package" --yes
  submission=$(ls -t "$package"/*.json | grep -v -e provenance -e predictions | head -1)
  echo "== puma verify-hash $submission"
  if puma verify-hash "$submission"; then verdict="hash verified"; else verdict="HASH MISMATCH"; fi
  echo "package folder: $package"
  echo "verification: $verdict"
fi
echo "run folder: $run_dir"
