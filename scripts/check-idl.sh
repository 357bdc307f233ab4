#!/usr/bin/env bash
# Fail if idl/leveraged_token.json is not what scripts/idl.sh generates from
# the current program source (an instruction, account, event, error or doc
# comment changed without regenerating the IDL).
#
#   scripts/check-idl.sh        exit 0 if fresh; else print the diff and exit 1
#
# Same build as scripts/idl.sh (own target dir, $IDL_TARGET_DIR). Fix with:
#   scripts/idl.sh && git add idl/leveraged_token.json
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
committed="$root/idl/leveraged_token.json"
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
start=$(date +%s)
"$root/scripts/idl.sh" -o "$fresh"
if [ ! -f "$committed" ]; then
  echo "check-idl: $committed is missing; run scripts/idl.sh and commit it" >&2
  exit 1
fi
if ! diff -u --label "committed idl/leveraged_token.json" --label "generated from source" "$committed" "$fresh"; then
  echo "check-idl: idl/leveraged_token.json is stale: run scripts/idl.sh and commit the result" >&2
  exit 1
fi
echo "check-idl: idl/leveraged_token.json is up to date ($(( $(date +%s) - start ))s)"
