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
status=0
puma run "$spec" --out "$out" || status=$?
run_dir=$(ls -td "$out"/run-* | head -1)  # the folder this run just created
if [ "$status" != 0 ]; then
  echo "the run finished with failed calls (exit $status); complete it with: puma run --resume $run_dir"
  exit "$status"
fi

echo "== puma eval $run_dir"
puma eval "$run_dir"

echo "== puma share-results $run_dir --dry-run --out $package --yes"
before=$(mktemp); ls "$package"/*.json 2>/dev/null >"$before" || true
puma share-results "$run_dir" --dry-run --out "$package" --yes
submission=$(ls "$package"/*.json | grep -vxFf "$before" | head -1)
rm -f "$before"

echo "== puma verify-hash $submission --rescore"
if puma verify-hash "$submission" --rescore; then verdict="verified (hash and metrics match)"; else verdict="FAILED"; fi

echo
echo "run folder:     $run_dir"
echo "report:         $run_dir/report.html"
echo "package folder: $package"
echo "verification:   $verdict"
[ "$verdict" != "FAILED" ]
