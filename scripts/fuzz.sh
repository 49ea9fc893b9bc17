#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of every parser that takes request bytes; see
# fuzz/README.md. The bounded proptest side runs in `make test` (tests/it/fuzz.rs).
#
#   scripts/fuzz.sh                  replay fuzz/regressions, then fuzz every target FUZZ_SECONDS each
#   scripts/fuzz.sh cursor multipart the same for those targets only
#   scripts/fuzz.sh --regressions    only replay fuzz/regressions/<target>/* (each file run once)
#
# Environment:
#   FUZZ_SECONDS    seconds of fuzzing per target (default 20)
#   FUZZ_TOOLCHAIN  `stable` (default: the default toolchain; without a sanitizer cargo fuzz passes
#                   rustc no -Z flag, so stable builds it as it is) or `nightly` (`cargo +nightly`)
#   FUZZ_SANITIZER  cargo fuzz's --sanitizer (default none: the fuzzed code is safe Rust;
#                   AddressSanitizer, cargo fuzz's own default, costs speed and a second build, and
#                   needs -Zsanitizer: on stable the script then sets RUSTC_BOOTSTRAP=1)
#   FUZZ_ARGS       more libFuzzer flags for every target, e.g. "-jobs=2 -workers=2"
#   FUZZ_KEEP=1     keep the temporary folder (logs, new corpus entries) after a clean run
#
# The seed corpora (fuzz/corpus/<target>) are read, never written: new inputs go to a temporary
# folder, crash artefacts beside them; both paths are printed. A crash fails the script; its input
# then belongs in fuzz/regressions/<target>/ (with the fix).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-20}
toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
targets_all=(cursor live_token flag_config analysis_params zip_frames mp4_probe multipart)

# Longest input per target: a little over the largest seed, so mutations can grow it but stay fast.
max_len() {
  case $1 in
    cursor) echo 256 ;;
    live_token) echo 1024 ;;
    flag_config | analysis_params) echo 4096 ;;
    zip_frames) echo 16384 ;;
    mp4_probe | multipart) echo 12288 ;;
  esac
}
dict() {
  case $1 in
    mp4_probe) echo fuzz/dicts/mp4.dict ;;
    multipart) echo fuzz/dicts/multipart.dict ;;
    analysis_params) echo fuzz/dicts/params.dict ;;
    flag_config) echo fuzz/dicts/flags.dict ;;
  esac
}

regressions_only=0
targets=()
for a in "$@"; do
  case $a in
    --regressions) regressions_only=1 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")

cargo_fuzz=$root/.tools/cargo-fuzz/bin/cargo-fuzz
if ! [ -x "$cargo_fuzz" ] || [ "$("$cargo_fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz"
  cargo install --quiet --root .tools/cargo-fuzz cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

case $toolchain in
  # RUSTC_BOOTSTRAP is part of cargo's fingerprints: set only where needed, or every crate rebuilds.
  stable) if [ "$sanitizer" = none ]; then fuzz=(cargo fuzz); else fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz); fi ;;
  nightly) fuzz=(cargo +nightly fuzz) ;;
  *) echo "FUZZ_TOOLCHAIN must be stable or nightly, not $toolchain" >&2; exit 2 ;;
esac
export PATH="$root/.tools/cargo-fuzz/bin:$PATH"
# Always fuzz/target, whatever CARGO_TARGET_DIR the caller's build uses.
build_flags=(--fuzz-dir fuzz --sanitizer "$sanitizer" --debug-assertions --target-dir "$root/fuzz/target")
start=$SECONDS
"${fuzz[@]}" build "${build_flags[@]}"
echo "built in $((SECONDS - start)) s"
bin_dir=$root/fuzz/target/x86_64-unknown-linux-gnu/release

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golfiq-fuzz.XXXXXX")
failed=()

# Replays every file of fuzz/regressions/<target>/ once, each on its own (a crash ends a run).
replay() {
  local t=$1 files=() f log
  [ -d "fuzz/regressions/$t" ] || return 0
  while IFS= read -r -d '' f; do files+=("$f"); done \
    < <(find "fuzz/regressions/$t" -type f ! -name 'README*' -print0 | sort -z)
  [ ${#files[@]} -gt 0 ] || return 0
  echo "== $t: ${#files[@]} regression input(s)"
  for f in "${files[@]}"; do
    log=$tmp/$t.regression.$(basename "$f").log
    if "$bin_dir/$t" -rss_limit_mb=2048 -timeout=10 "$f" >"$log" 2>&1; then
      echo "   ok: $f"
    else
      grep -vE '^(INFO|WARNING):' "$log" | grep -vE '^ *$' | head -20 | sed 's/^/   /'
      echo "FAILED: $t regression $f (reproduce: $bin_dir/$t $f)"
      failed+=("$t ($(basename "$f"))")
    fi
  done
}

# Fuzzes one target for $seconds.
run() {
  local t=$1 artifacts=$tmp/artifacts/$t/ new=$tmp/corpus/$t d
  mkdir -p "$artifacts" "$new"
  d=$(dict "$t")
  local args=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$artifacts" -print_final_stats=1)
  [ -z "$d" ] || args+=(-dict="$d")
  # shellcheck disable=SC2206 # FUZZ_ARGS is a list of flags
  args+=(${FUZZ_ARGS:-})
  echo "== $t: ${seconds}s"
  local rc=0
  "$bin_dir/$t" "${args[@]}" "$new" "fuzz/corpus/$t" >"$tmp/$t.log" 2>&1 || rc=$?
  grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|tolerated a panic' \
    "$tmp/$t.log" | sed 's/^/   /' || true
  if [ $rc -ne 0 ]; then
    grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse|RELOAD)|NEW_FUNC|^(INFO|WARNING):' "$tmp/$t.log" | tail -30
    local a
    for a in "$artifacts"*; do
      [ -e "$a" ] || continue
      echo "CRASH: $t: $a"
      echo "  reproduce: $bin_dir/$t $a"
      echo "  keep it:   cp $a fuzz/regressions/$t/"
    done
    echo "FAILED: $t (exit $rc, log: $tmp/$t.log)"
    failed+=("$t")
  fi
}

for t in "${targets[@]}"; do
  [ -n "$(max_len "$t")" ] || { echo "no fuzz target $t (have: ${targets_all[*]})" >&2; exit 2; }
  replay "$t"
done
if [ $regressions_only -eq 0 ]; then
  for t in "${targets[@]}"; do run "$t"; done
fi

echo "fuzz: ${#targets[@]} target(s) in $((SECONDS - start)) s (build included); logs and new inputs in $tmp"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
[ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$tmp"
echo "fuzz: no crash"
