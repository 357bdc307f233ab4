#!/usr/bin/env bash
# Deploy the leveraged-token program to a cluster, then make its config,
# markets and tokens match migrations/<cluster>.toml (lt-deploy apply).
#
#   migrations/deploy.sh [--cluster localnet|devnet|...] [--url URL] [--keypair PATH]
#                        [--so PATH] [--program-keypair PATH] [--skip-program]
#                        [--dry-run] [--yes]
#
# Defaults come from Anchor.toml: [provider] cluster and wallet, and the
# program id under [programs.<cluster>].
#
# THE PROGRAM BINARY: target/deploy/leveraged_token.so is built with the SBF
# toolchain (`anchor build`, or `cargo build-sbf --manifest-path
# programs/leveraged-token/Cargo.toml`), which downloads Solana's
# platform-tools. That toolchain is NOT available on this project's dev/CI
# machines: build the .so on a machine that has the Solana/Anchor tool suite,
# and copy it (with target/deploy/leveraged_token-keypair.json, whose address
# must be the program id) here, or run this script there. --skip-program only
# runs the apply step (e.g. when solana-test-validator loaded the program with
# --bpf-program).
#
# initialize_config makes its signer the admin, first come first served: the
# apply runs right after the deploy, with the same wallet, to keep the window
# short (see the note in migrations/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "deploy.sh: $*" >&2; exit 1; }

# --- Anchor.toml ----------------------------------------------------------------
toml_get() { # section key -> value of `key = "value"` in [section] of Anchor.toml
  awk -v sec="[$1]" -v key="$2" '
    /^\[/ { in_sec = ($0 == sec) }
    in_sec && $1 == key { sub(/^[^=]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit }
  ' Anchor.toml
}

cluster=$(toml_get provider cluster)
wallet=$(toml_get provider wallet)
url=""
so="target/deploy/leveraged_token.so"
program_keypair="target/deploy/leveraged_token-keypair.json"
skip_program=0
dry_run=0
yes=0

while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) cluster="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    --keypair) wallet="$2"; shift 2 ;;
    --so) so="$2"; shift 2 ;;
    --program-keypair) program_keypair="$2"; shift 2 ;;
    --skip-program) skip_program=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --yes|-y) yes=1; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[ -n "$cluster" ] || die "no cluster: pass --cluster or set [provider] cluster in Anchor.toml"
wallet="${wallet/#\~/$HOME}"
config="migrations/${cluster}.toml"
[ -f "$config" ] || die "no deploy file $config for cluster '$cluster' (have: $(ls migrations/*.toml | xargs -n1 basename | tr '\n' ' '))"
program_id=$(toml_get "programs.${cluster}" leveraged_token)
[ -n "$program_id" ] || die "Anchor.toml has no [programs.${cluster}] leveraged_token = \"<id>\""
if [ -z "$url" ]; then
  case "$cluster" in
    localnet|localhost) url="http://127.0.0.1:8899" ;;
    devnet) url="https://api.devnet.solana.com" ;;
    testnet) url="https://api.testnet.solana.com" ;;
    mainnet|mainnet-beta) url="https://api.mainnet-beta.solana.com" ;;
    *) die "unknown cluster '$cluster': pass --url" ;;
  esac
fi
[ -f "$wallet" ] || die "wallet keypair $wallet not found (solana-keygen new, or --keypair PATH)"

echo "cluster:  $cluster ($url)"
echo "program:  $program_id"
echo "wallet:   $wallet (becomes admin if the config does not exist yet)"
echo "config:   $config"

# --- 1. the program ---------------------------------------------------------------
run() { echo "+ $*"; if [ "$dry_run" = 0 ]; then "$@"; fi; }

if [ "$skip_program" = 0 ]; then
  if [ ! -f "$so" ]; then
    die "$so not found. Building it needs the SBF toolchain (anchor build / cargo build-sbf),
which is not available on this project's machines: build it where the Solana/Anchor
tool suite is installed and copy it here, or pass --skip-program if the program is
already deployed (e.g. solana-test-validator --bpf-program $program_id $so)."
  fi
  command -v solana >/dev/null || die "the solana CLI is needed to deploy (https://docs.anza.xyz/cli/install)"
  if [ -f "$program_keypair" ]; then
    have=$(solana address -k "$program_keypair")
    [ "$have" = "$program_id" ] || die "$program_keypair is $have, but Anchor.toml says $program_id"
    program_arg=("--program-id" "$program_keypair")
  else
    # Upgrading an existing deployment needs only the upgrade authority (the wallet).
    program_arg=("--program-id" "$program_id")
  fi
  if command -v anchor >/dev/null && [ "$so" = "target/deploy/leveraged_token.so" ]; then
    run anchor deploy --provider.cluster "$url" --provider.wallet "$wallet"
  else
    run solana program deploy --url "$url" --keypair "$wallet" "${program_arg[@]}" "$so"
  fi
else
  echo "skipping the program deploy (--skip-program)"
fi

# --- 2. config, markets, tokens ------------------------------------------------------
apply_args=(apply "$config" --url "$url" --keypair "$wallet")
[ "$dry_run" = 1 ] && apply_args+=(--dry-run)
[ "$yes" = 1 ] && apply_args+=(--yes)
if command -v lt-deploy >/dev/null; then
  echo "+ lt-deploy ${apply_args[*]}"
  lt-deploy "${apply_args[@]}"
else
  echo "+ cargo run -p leveraged-token-deploy --bin lt-deploy -- ${apply_args[*]}"
  cargo run --quiet -p leveraged-token-deploy --bin lt-deploy -- "${apply_args[@]}"
fi
