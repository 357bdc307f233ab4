#!/usr/bin/env bash
# Type-check the program for `target_os = "solana"` (the code paths the SBF
# build compiles: syscalls instead of host stubs, the bump allocator, ...)
# without Solana's platform-tools. Run by .ci/run; see docs/sbf.md.
#
#   1. Debian's rustc-web, cargo-web and rust-web-src (Rust 1.96 with its
#      library source), installed with apt-get if missing. The rustup
#      toolchain stays the default for everything else: this script calls
#      /usr/bin/rustc and /usr/bin/cargo explicitly, and nothing else does.
#   2. A copy of that library patched with sbf/std-1.96-os-solana.patch so std
#      accepts os "solana" (kept under ~/.cache/levtoken, rebuilt only when the
#      patch or the package changes). The patch is pinned to Rust 1.96.0: any
#      other rust-web-src version fails here with a message.
#   3. `cargo check -p leveraged-token --lib` for sbf/target-solana-bpf.json
#      (the bpfel-unknown-none spec with "os": "solana") with -Zbuild-std, in
#      its own target dir outside the clone. Any error fails.
#
# It is a type check, not a build: LLVM's BPF backend (Debian's LLVM 22)
# cannot generate code for functions with more than five arguments, so no
# `.so` comes out of this route — .github/workflows/sbf.yml builds one with
# the real platform-tools.
#
# Env: SBF_TARGET_DIR (default ~/.cache/levtoken/sbf-target),
#      SBF_STD_DIR (default ~/.cache/levtoken/sbf-std-<rust version>).
set -euo pipefail
cd "$(dirname "$0")/.."

RUST_VERSION=1.96.0            # what sbf/std-1.96-os-solana.patch was made against
PATCH=sbf/std-1.96-os-solana.patch
TARGET_JSON=sbf/target-solana-bpf.json
PACKAGES=(rustc-web cargo-web rust-web-src)
CACHE="$HOME/.cache/levtoken"
TARGET_DIR="${SBF_TARGET_DIR:-$CACHE/sbf-target}"
STD_DIR="${SBF_STD_DIR:-$CACHE/sbf-std-$RUST_VERSION}"

fail() {
  echo "sbf-check: $*" >&2
  exit 1
}

start=$(date +%s)

# --- 1. Debian packages -------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done
command -v patch >/dev/null 2>&1 || missing+=(patch)
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "needs ${missing[*]} (Debian bookworm packages) and apt-get is not available"
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "needs ${missing[*]}: run as root or install sudo"
    sudo=(sudo)
  fi
  echo "sbf-check: installing ${missing[*]} (apt-get)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

deb_version=$(dpkg-query -W -f='${Version}' rust-web-src)
upstream=${deb_version#*:}
upstream=${upstream%%+*}
if [ "$upstream" != "$RUST_VERSION" ]; then
  fail "rust-web-src is $deb_version, but $PATCH is pinned to Rust $RUST_VERSION.
  The patch edits std's source by line; make a new one against /usr/src/rustc-$upstream/library
  (docs/sbf.md says how) and update RUST_VERSION in scripts/sbf-check.sh, or install rust-web-src $RUST_VERSION."
fi
rustc_version=$(/usr/bin/rustc --version)
case "$rustc_version" in
  "rustc $RUST_VERSION "*) ;;
  *) fail "/usr/bin/rustc is '$rustc_version', expected $RUST_VERSION (rustc-web and rust-web-src must match)" ;;
esac
src="/usr/src/rustc-$RUST_VERSION/library"
[ -d "$src/std" ] || fail "$src not found (rust-web-src $deb_version installs it there)"

# --- 2. the patched library -----------------------------------------------------
stamp="$deb_version $(sha256sum "$PATCH" | cut -c1-16)"
if [ "$(cat "$STD_DIR/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
  echo "sbf-check: patching a copy of $src into $STD_DIR"
  rm -rf "$STD_DIR"
  mkdir -p "$STD_DIR"
  cp -a "$src" "$STD_DIR/library"
  if ! patch -d "$STD_DIR/library" -p1 --batch --forward --silent <"$PATCH"; then
    rm -rf "$STD_DIR"
    fail "$PATCH does not apply to $src (rust-web-src $deb_version)"
  fi
  echo "$stamp" >"$STD_DIR/.stamp"
fi

# --- 3. the check -----------------------------------------------------------------
mkdir -p "$TARGET_DIR"
echo "sbf-check: $rustc_version, cargo check -p leveraged-token --lib --target $TARGET_JSON (target dir $TARGET_DIR)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! env -u RUSTUP_TOOLCHAIN -u RUSTC_WRAPPER \
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TARGET_DIR" \
  __CARGO_TESTS_ONLY_SRC_ROOT="$STD_DIR/library" \
  /usr/bin/cargo check --locked -p leveraged-token --lib \
  --target "$TARGET_JSON" -Zbuild-std=std,panic_abort -Zjson-target-spec >"$log" 2>&1; then
  grep -E "^(error|warning: unused)|^ *--> |^ *= " "$log" | head -80 >&2 || true
  tail -30 "$log" >&2
  fail "the program does not type-check for target_os = \"solana\" (full log above)"
fi
warnings=$(grep -c "^warning" "$log" || true)
echo "sbf-check: ok — the program type-checks for target_os = \"solana\" ($warnings warning lines, $(($(date +%s) - start)) s)"
