#!/usr/bin/env bash
# Install the pinned Stoplight Prism (openapi/prism/package-lock.json) for the contract test.
# Idempotent and quiet: `npm ci` runs only when node_modules is missing or older than the
# lock file. Callers at the same time (scripts/test's step and the contract tests' fixture)
# take turns on a lock: the second finds Prism installed. npm's download cache is used when
# it has the packages (--prefer-offline); a fresh machine downloads them. Everything comes
# from the npm registry; no package in the lock has an install script, and --ignore-scripts
# keeps it that way (nothing is downloaded from anywhere else).
# On failure it prints npm's output and exits non-zero: the contract test must not be skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRISM_DIR="$ROOT/openapi/prism"
LOCK="$PRISM_DIR/package-lock.json"
# npm rewrites this hidden lock on every install, so its age is the install's age.
INSTALLED="$PRISM_DIR/node_modules/.package-lock.json"
BIN="$PRISM_DIR/node_modules/.bin/prism"

fail() {
    echo "scripts/_prism.sh: $*" >&2
    exit 1
}

exec 9>"$PRISM_DIR/.install-lock"
flock 9
if [ -x "$BIN" ] && [ -f "$INSTALLED" ] && [ ! "$LOCK" -nt "$INSTALLED" ]; then
    exit 0
fi
command -v node >/dev/null 2>&1 || fail "node is not installed (Prism needs Node.js >= 18.20.1)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (it installs Prism from the npm registry)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "installing Prism (npm ci --prefix openapi/prism) ..." >&2
if ! npm ci --prefix "$PRISM_DIR" --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    fail "npm ci failed in $PRISM_DIR"
fi
[ -x "$BIN" ] || fail "npm ci finished but $BIN is missing"
"$BIN" --version >/dev/null 2>&1 || fail "$BIN does not run with $(node --version)"
