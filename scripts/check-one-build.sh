#!/usr/bin/env bash
# README's two commands must share one build: every dependency that
# `cargo run -p leveraged-token-cli` (the demo) compiles must have exactly the
# features `cargo test --workspace` gives it, or Cargo compiles it (and all
# that depends on it) a second time. Prints the crates that differ and fails;
# the fix is to add them, with the missing features, to app/workspace-hack.
# Takes seconds (cargo tree only, no build).
set -euo pipefail
cd "$(dirname "$0")/.."
tree() { cargo tree --locked -f '{p} [{f}]' --prefix none "$@" | sed 's/ (\*)$//; s/ (proc-macro)$//; s/ (\/[^)]*)//' | sort -u; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree --workspace -e normal,build,dev >"$tmp/tests"
tree -p leveraged-token-cli -e normal,build >"$tmp/demo"
diff=$(comm -13 "$tmp/tests" "$tmp/demo")
if [ -n "$diff" ]; then
  echo "check-one-build: these dependencies get other features under the demo command than under the tests:" >&2
  echo "$diff" | sed 's/^/  /' >&2
  echo "add them (with the test build's features) to app/workspace-hack/Cargo.toml" >&2
  exit 1
fi
echo "check-one-build: the demo's $(wc -l <"$tmp/demo") dependency builds all match the test build's features"
