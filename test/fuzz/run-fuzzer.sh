#!/bin/bash
# run-fuzzer.sh [--fresh] ENV_FILE SECONDS WORKDIR [libFuzzer options...] — one bounded libFuzzer run of
# one target, in one process; what the fuzz.smoke.* tests and scripts/fuzz run.
#
# ENV_FILE is the build tree's fuzz_NAME.env (test/fuzz/CMakeLists.txt): the binary, -max_len, the
# dictionary, the seed sets and the crash reproducers of the target; SMIME_TEST_PKI,
# SMIME_TEST_REVOCATION_PKI and SMIME_FUZZ_SEEDS (the seed sets' directory) in the environment win
# over the build tree's. The corpus grows in
# WORKDIR/corpus (kept between runs unless --fresh), crashes land in WORKDIR/artifacts, the whole log
# in WORKDIR/fuzz.log. Prints one summary line (seconds, executions and execs/s, libFuzzer's cov and ft,
# corpus size); on a crash, leak or timeout the report with its stack and the reproducer's path, and
# exits 1. The target runs with a 512 KiB stack (SMIME_FUZZ_STACK_KB).
set -euo pipefail

fresh=no
if [ "${1:-}" = --fresh ]; then
  fresh=yes
  shift
fi
if [ $# -lt 3 ]; then
  echo "usage: $0 [--fresh] ENV_FILE SECONDS WORKDIR [libFuzzer options...]" >&2
  exit 2
fi
ENV_FILE=$1 SECONDS_TO_RUN=$2 WORK=$3
shift 3
# shellcheck disable=SC1090
. "$ENV_FILE"
export SMIME_TEST_PKI=${SMIME_TEST_PKI:-} SMIME_TEST_REVOCATION_PKI=${SMIME_TEST_REVOCATION_PKI:-}
export SMIME_FUZZ_SEEDS=${SMIME_FUZZ_SEEDS:-}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

[ "$fresh" = yes ] && rm -rf -- "$WORK/corpus" "$WORK/artifacts"
mkdir -p -- "$WORK/corpus" "$WORK/artifacts"
touch "$WORK/.run-started"  # artifacts newer than this are this run's
corpus=("$WORK/corpus")
for s in $SEED_SETS; do
  [ -d "$SMIME_FUZZ_SEEDS/$s" ] || { echo "$0: no seeds in $SMIME_FUZZ_SEEDS/$s" >&2; exit 1; }
  corpus+=("$SMIME_FUZZ_SEEDS/$s")
done
[ -d "$REGRESSIONS" ] && corpus+=("$REGRESSIONS")
[ -d "${CORPUS:-}" ] && corpus+=("$CORPUS")

# A small stack: recursion that grows with the input overflows on inputs of -max_len size (a 16 KiB
# input of nested BER headers did, where a whole message needs about 1 MiB against the usual 8 MiB).
ulimit -s "${SMIME_FUZZ_STACK_KB:-512}"

log=$WORK/fuzz.log
rc=0
started=$(date +%s)
# -timeout: one input; -rss_limit_mb: also the largest single allocation (a CMS declaring a huge length).
"$BINARY" -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" -dict="$DICT" -timeout=25 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$@" "${corpus[@]}" > "$log" 2>&1 || rc=$?
elapsed=$(( $(date +%s) - started ))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
field() { sed -n "s/.* $1: \([^ ]*\).*/\1/p" <<< "$last"; }
files=$(find "$WORK/corpus" -type f | wc -l)
kib=$(( $(find "$WORK/corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}') / 1024 ))
printf 'fuzz_%s: %s s, %s execs (%s/s), cov %s, ft %s, corpus %s inputs (%s KiB in %s), peak rss %s MB\n' \
  "$NAME" "$elapsed" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
  "$(field cov)" "$(field ft)" "$files" "$kib" "$WORK/corpus" "$(stat peak_rss_mb)"

if [ "$rc" -ne 0 ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: |Test unit written to' "$log"; then
  echo "fuzz_$NAME: FAILED (exit $rc); report:"
  # The sanitizer's or libFuzzer's report, from its first line: the top of the stack, then its summary.
  report=$(sed -n '/^==[0-9]*==\(ERROR\|WARNING\)\|^fuzz target: \|runtime error:\|^ALARM\|deadly signal\|out-of-memory\|-- leak/,$p' \
    "$log" | grep -v '^stat::')
  head -40 <<< "$report"
  [ "$(wc -l <<< "$report")" -gt 40 ] && echo "    ... (the whole report: $log)"
  grep -E '^SUMMARY|^MS: ' <<< "$report" | tail -2
  find "$WORK/artifacts" -type f -newer "$WORK/.run-started" | while read -r a; do
    echo "reproducer: $a"
    echo "  replay: SMIME_TEST_PKI=${SMIME_TEST_PKI:-} SMIME_TEST_REVOCATION_PKI=${SMIME_TEST_REVOCATION_PKI:-} $BINARY $a"
  done
  exit 1
fi
echo "fuzz_$NAME: no crash"
