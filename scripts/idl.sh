#!/usr/bin/env bash
# Generate the program's Anchor IDL, idl/leveraged_token.json — byte for byte
# what `anchor idl build` (anchor-cli 1.2.2) writes — without the Anchor CLI
# or the SBF toolchain.
#
#   scripts/idl.sh              write idl/leveraged_token.json
#   scripts/idl.sh -o FILE      write FILE
#   scripts/idl.sh -o -         print to stdout
#
# How: scripts/idl-build is a 30-line binary around anchor-lang-idl's
# IdlBuilder, the code the Anchor CLI calls. It runs, in the program dir,
#   cargo test __anchor_private_print_idl --features idl-build -- --show-output --quiet
# (the program compiled for the host with `idl-build`; its generated tests
# print the IDL in pieces), then assembles the pieces, shortens module paths,
# sorts and checks them, and prints `serde_json::to_string_pretty` (no
# trailing newline, as the CLI writes it).
#
# Builds in its own target dir ($IDL_TARGET_DIR, default
# ~/.cache/levtoken/target-idl), so the idl-build feature set and the
# RUSTFLAGS the builder sets ("-A warnings") never invalidate the shared test
# build. With the CLI installed, this is the same build, reused:
#   env -u RUSTUP_TOOLCHAIN CARGO_TARGET_DIR=~/.cache/levtoken/target-idl anchor idl build -o idl/leveraged_token.json
# RUSTUP_TOOLCHAIN is unset because Anchor's builder would otherwise run
# `cargo +{toolchain}` (an unformatted literal in anchor-lang-idl 0.1.4) and fail.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/idl/leveraged_token.json"
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "idl.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cd "$root"
if ! env -u RUSTUP_TOOLCHAIN RUSTFLAGS="-A warnings" \
    CARGO_TARGET_DIR="${IDL_TARGET_DIR:-$HOME/.cache/levtoken/target-idl}" \
    cargo run --quiet --locked --manifest-path scripts/idl-build/Cargo.toml -- \
      programs/leveraged-token --locked >"$tmp"; then
  echo "idl.sh: IDL generation failed (see above; ANCHOR_LOG=1 shows the test output)" >&2
  exit 1
fi
[ -s "$tmp" ] || { echo "idl.sh: empty IDL" >&2; exit 1; }
if [ "$out" = "-" ]; then
  cat "$tmp"; echo
else
  mkdir -p "$(dirname "$out")"
  cp "$tmp" "$out"
  echo "idl.sh: wrote ${out#"$root"/}" >&2
fi
