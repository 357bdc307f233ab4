#!/usr/bin/env bash
# Footprint report of the leveraged-token program, in one command:
#   * per instruction: serialized transaction bytes, accounts, CPIs (from the
#     bank's logs), SPL Token CU (metered in the bank), handler instruction
#     counts under callgrind (run twice: must be identical), an on-paper CU
#     estimate;
#   * SBF heap per instruction (harness::heap, every instruction of the program);
#   * stack frames of the program crate (scripts/stack-sizes.sh, a separate
#     host build with -Z emit-stack-sizes; skip with --no-stack);
#   * account sizes and rent;
#   * keeper/client throughput (decide over 100 and 10,000 views; one loop of
#     the shipped keeper — fetch, decide, fire — over 100 tokens in the bank).
# Writes docs/footprint.md and prints the handler-count deltas against the
# docs/footprint.md it replaces. Then runs tests/tests/footprint.rs, which
# asserts the deterministic figures.
#
# Usage: scripts/footprint.sh [--runs N] [--no-callgrind] [--tokens N] [--no-test] [--no-stack]
# Needs valgrind for the instruction counts (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/levtoken/target}"

run_test=1
run_stack=1
args=()
for a in "$@"; do
  case "$a" in
    --no-test) run_test=0 ;;
    --no-stack) run_stack=0 ;;
    *) args+=("$a") ;;
  esac
done

if ! printf '%s\n' "${args[@]+"${args[@]}"}" | grep -qx -- '--no-callgrind'; then
  if ! command -v valgrind >/dev/null 2>&1; then
    echo "footprint: valgrind not found (apt-get install valgrind), or pass --no-callgrind" >&2
    exit 1
  fi
fi

# The bank logs at DEBUG/INFO through env_logger; keep it quiet.
export RUST_LOG="${RUST_LOG:-error}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "footprint: building lt-bench (release)" >&2
if ! cargo build --release --locked -p leveraged-token-bench >"$log" 2>&1; then
  grep -vE "DEBUG|INFO" "$log" | tail -40 >&2
  exit 1
fi

"$CARGO_TARGET_DIR/release/lt-bench" report --doc docs/footprint.md "${args[@]+"${args[@]}"}"

# The stack-frame section (lt-bench report keeps the previous one otherwise).
if [ "$run_stack" = 1 ]; then
  bash scripts/stack-sizes.sh --doc docs/footprint.md
fi

if [ "$run_test" = 1 ]; then
  echo "footprint: cargo test --test footprint" >&2
  if ! cargo test --locked -p leveraged-token-tests --test footprint >"$log" 2>&1; then
    grep -vE "DEBUG|INFO" "$log" | tail -60 >&2
    exit 1
  fi
  grep -E "^test |test result" "$log" >&2
fi
