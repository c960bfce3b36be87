#!/usr/bin/env bash
# `make test`: lint, then the whole suite on SQLite and on PostgreSQL.
#
# Decision: every part runs even when an earlier one fails (a red SQLite run must not hide
# the PostgreSQL result), each part's output stays as it is (pytest's closing line
# included, CI reads it), and one summary at the end names each part's result. The exit
# code is non-zero if any part failed. Browser tests are never installed implicitly: with
# no /usr/bin/chromium they are skipped and the summary says how to install it.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE_CMD="${1:-make}"
logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT

declare -A status closing
run_part() {
    local name="$1" target="$2"
    echo "==> make $target"
    $MAKE_CMD --no-print-directory "$target" 2>&1 | tee "$logdir/$target.log"
    status[$name]=${PIPESTATUS[0]}
    # pytest's closing line ("== 512 passed, 3 skipped in 80.1s ==") for the summary.
    closing[$name]="$(grep -E '^=+ .*( in [0-9.]+s).* =+$|^[0-9]+ (passed|failed).* in [0-9.]+s' \
        "$logdir/$target.log" | tail -n 1)"
}

run_part lint lint
run_part sqlite test-sqlite
run_part postgres test-postgres

echo
echo "make test summary"
failed=0
for name in lint sqlite postgres; do
    label=$([ "${status[$name]}" = 0 ] && echo ok || echo "FAILED (exit ${status[$name]})")
    [ "${status[$name]}" = 0 ] || failed=1
    printf '  %-10s %s%s\n' "$name" "$label" "${closing[$name]:+  ${closing[$name]}}"
done
if [ ! -x /usr/bin/chromium ]; then
    echo "  browser    skipped: /usr/bin/chromium is missing; \`make chromium\` (root, apt) installs it"
fi
exit $failed
