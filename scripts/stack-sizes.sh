#!/usr/bin/env bash
# Stack frames of the program crate against SBF's 4 KiB frame limit.
#
# Builds the program crate alone (release profile, as `cargo build-sbf`
# does, but per crate: no LTO, so Anchor's generated `try_accounts` of each
# instruction stays a function of its own) for the host with
# `-Z emit-stack-sizes` (RUSTC_BOOTSTRAP=1 on the stable toolchain), reads
# the object's `.stack_sizes` with `llvm-readobj --stack-sizes`, and writes
# the largest frames plus every instruction's `try_accounts` into
# docs/footprint.md (between the stack-sizes markers, which `lt-bench report`
# keeps when it regenerates the rest). Host (x86-64) frames only approximate
# SBF's: different registers, calling convention and codegen, and the SBF
# build is fat-LTO'd, which can inline one function into another and merge
# their frames.
#
# Usage: scripts/stack-sizes.sh [--top N] [--doc PATH] [--print]
#   --print  print the section instead of writing the doc.
# Env: STACK_TARGET_DIR (default ~/.cache/levtoken/stack-target).
# Needs llvm-readobj (apt-get install llvm) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

top=25
doc=docs/footprint.md
print=0
while [ $# -gt 0 ]; do
  case "$1" in
    --top) top="$2"; shift 2 ;;
    --doc) doc="$2"; shift 2 ;;
    --print) print=1; shift ;;
    *) echo "usage: scripts/stack-sizes.sh [--top N] [--doc PATH] [--print]" >&2; exit 2 ;;
  esac
done

readobj=""
for c in llvm-readobj llvm-readobj-22 llvm-readobj-19 llvm-readobj-14; do
  if command -v "$c" >/dev/null 2>&1; then readobj="$c"; break; fi
done
[ -n "$readobj" ] || { echo "stack-sizes: llvm-readobj not found (apt-get install llvm)" >&2; exit 1; }

target_dir="${STACK_TARGET_DIR:-$HOME/.cache/levtoken/stack-target}"
obj="$target_dir/leveraged_token.stack.o"
mkdir -p "$target_dir"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "stack-sizes: building the program crate (release, no LTO, -Z emit-stack-sizes) in $target_dir" >&2
# `cargo rustc` passes the flags to the program crate only; the dependencies
# build as usual. Its own target dir: other flags than the workspace build.
if ! RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$target_dir" CARGO_PROFILE_RELEASE_LTO=false \
  cargo rustc --locked --release -p leveraged-token --lib --crate-type lib -- \
  -Z emit-stack-sizes --emit "obj=$obj" >"$log" 2>&1; then
  tail -40 "$log" >&2
  exit 1
fi
rustc_version=$(rustc --version)

"$readobj" --stack-sizes --demangle "$obj" >"$log.stack" 2>/dev/null || { echo "stack-sizes: $readobj failed on $obj" >&2; exit 1; }

python3 - "$log.stack" "$top" "$doc" "$print" "$rustc_version" "$readobj" <<'PY'
import re, sys
from pathlib import Path

stack_file, top, doc, print_only, rustc_version, readobj = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "1", sys.argv[5], sys.argv[6]
LIMIT = 4096
BEGIN, END = "<!-- stack-sizes:begin -->", "<!-- stack-sizes:end -->"

# llvm-readobj: Entry { Functions: [a, b] Size: 0x.. }
frames = {}
funcs = None
for line in open(stack_file):
    line = line.strip()
    m = re.match(r"Functions: \[(.*)\]$", line)
    if m:
        funcs = [f.strip() for f in m.group(1).split(", ") if f.strip()]
        continue
    m = re.match(r"Size: (0x[0-9A-Fa-f]+|\d+)$", line)
    if m and funcs is not None:
        size = int(m.group(1), 0)
        for f in funcs:
            frames[f] = max(size, frames.get(f, 0))
        funcs = None
if not frames:
    sys.exit("stack-sizes: no .stack_sizes entries in the object")

def clean(name):
    return re.sub(r"::h[0-9a-f]{16}$", "", name)

def short(name):
    """Drop the hash and the module paths the table makes obvious."""
    name = clean(name)
    name = re.sub(r"leveraged_token::instructions::\w+::\w+::", "", name)
    name = re.sub(r"Accounts<\w+Bumps>", "Accounts", name)
    return name.replace("anchor_lang::", "")

# Instruction name -> Accounts struct, from the #[program] module.
lib = Path("programs/leveraged-token/src/lib.rs").read_text()
ixs = re.findall(r"pub fn (\w+)\(ctx: Context<(\w+)>", lib)

def biggest_match(regex):
    pat = re.compile(regex)
    hits = [(s, f) for f, s in frames.items() if pat.match(f)]
    return max(hits) if hits else None

def try_accounts(struct):
    return biggest_match(r"<leveraged_token::.*::" + re.escape(struct) + r" as anchor_lang::Accounts<.*>>::try_accounts(::h[0-9a-f]+)?$")

def try_accounts_closures(struct):
    # Anchor's generated constraint checks compile to closures of try_accounts: frames of their own.
    return biggest_match(r"<leveraged_token::.*::" + re.escape(struct) + r" as anchor_lang::Accounts<.*>>::try_accounts::\{closure#\d+\}(::h[0-9a-f]+)?$")

def handler(ix):
    return biggest_match(r"leveraged_token::instructions::\w+::\w+::process_" + re.escape(ix) + r"(::h[0-9a-f]+)?$")

def dispatch(ix):
    return biggest_match(r"leveraged_token::__private::__global::" + re.escape(ix) + r"(::h[0-9a-f]+)?$")

def cell(hit):
    return f"{hit[0]:,}" if hit else "inlined"

def pct(n):
    return f"{n * 100 / LIMIT:.0f} %"

ranked = sorted(frames.items(), key=lambda kv: (-kv[1], kv[0]))
largest = ranked[0]
over = [f for f, s in ranked if s > LIMIT]
out = []
w = out.append
w(BEGIN)
w("## Stack frames (SBF limit: 4 KiB per frame)")
w("")
w(f"Generated by `scripts/stack-sizes.sh` (kept as is when `lt-bench report` regenerates the rest). Frame sizes of every function "
  f"the program crate compiles — its own and the generic code it instantiates — from a **host (x86-64) build**: release profile, "
  f"the program crate alone without LTO, `-Z emit-stack-sizes` (`RUSTC_BOOTSTRAP=1`, {rustc_version}), read with `{readobj} --stack-sizes`. "
  f"**These only approximate SBF's frames**: SBF has its own registers, calling convention and code generation, and its build is fat-LTO'd, "
  f"which may inline a function into its caller and add the two frames. The SBF toolchain itself reports any frame over 4,096 bytes when "
  f"`anchor build` runs (.github/workflows/sbf.yml). Deep call chains are fine on SBF as long as each frame fits (up to 64 frames).")
w("")
w(f"{len(frames):,} functions; the largest frame is {largest[1]:,} bytes ({pct(largest[1])} of 4,096); "
  + (f"**{len(over)} over 4,096**: " + ", ".join(f"`{short(f)}`" for f in over) if over else "none is over 4,096") + ".")
w("")
w("### Each instruction: dispatch, Anchor's `try_accounts`, handler (bytes)")
w("")
w("| instruction | `Accounts` struct | `__global::<ix>` (dispatch + exit) | `try_accounts` | its largest closure | `process_<ix>` (handler) | largest, of 4,096 |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for ix, struct in ixs:
    d, t, c, h = dispatch(ix), try_accounts(struct), try_accounts_closures(struct), handler(ix)
    biggest = max([x[0] for x in (d, t, c, h) if x] or [0])
    w(f"| `{ix}` | `{struct}` | {cell(d)} | {cell(t)} | {cell(c) if c else '–'} | {cell(h)} | {pct(biggest)} |")
if any(x is None for ix, struct in ixs for x in (dispatch(ix), try_accounts(struct), handler(ix))):
    w("")
    w("`inlined`: no function of that name in the object (the compiler inlined it into its caller, whose frame then includes it).")
w("")
w(f"### The {top} largest frames")
w("")
w("(`<X as Accounts>` is the instruction's accounts struct in `leveraged_token::instructions`.)")
w("")
w("| bytes | of 4,096 | function |")
w("| ---: | ---: | --- |")
for f, s in ranked[:top]:
    name = short(f).replace("|", "\\|")
    if len(name) > 160:
        name = name[:157] + "..."
    w(f"| {s:,} | {pct(s)} | `{name}` |")
w(END)
section = "\n".join(out)

if print_only:
    print(section)
    sys.exit(0)
text = doc.read_text() if doc.exists() else ""
if BEGIN in text and END in text:
    a = text.index(BEGIN)
    b = text.index(END, a) + len(END)
    text = text[:a] + section + text[b:]
else:
    # Before the accounts section (where `lt-bench report` puts it), else at the end.
    anchor = "## Account sizes and rent"
    text = text.replace(anchor, section + "\n\n" + anchor, 1) if anchor in text else text.rstrip("\n") + "\n\n" + section + "\n"
doc.write_text(text)
print(f"stack-sizes: {len(frames)} functions, largest {largest[1]} bytes ({clean(largest[0])}); wrote {doc}", file=sys.stderr)
PY
rm -f "$log.stack"
