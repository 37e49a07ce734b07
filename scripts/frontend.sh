# The front end's part of scripts/test; sourced after lib.sh, not run.
#
# The pages in frontend/ are built into src/sleeplog/static/, and the built
# files are committed so that installing sleeplog needs no Node. These
# functions install Node.js and Debian's Chromium when missing, run the unit
# tests, rebuild the pages and fail when the build differs from the committed
# one, and run the browser tests against a real sleeplog-serve.

FRONTEND="$ROOT/frontend"
NODE_MINIMUM=20.19

node_is_recent() {
    command -v node >/dev/null && node -e '
        const [major, minor] = process.versions.node.split(".").map(Number);
        const [wantMajor, wantMinor] = process.argv[1].split(".").map(Number);
        process.exit(major > wantMajor || (major === wantMajor && minor >= wantMinor) ? 0 : 1);
    ' "$NODE_MINIMUM"
}

install_frontend_packages() {
    local missing=()
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v chromium >/dev/null || missing+=(chromium)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]}"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    if node_is_recent; then
        FRONTEND_READY=1
        return
    fi

    # Debian 12's own Node.js is 18. The pages are committed built, so the
    # Python suite still runs; only CI insists on checking the pages too.
    local problem
    problem="the front end needs Node.js $NODE_MINIMUM or newer; $(command -v node) is $(node --version)"
    if [ "${CI:-}" = true ]; then
        die "$problem"
    fi
    say "WARNING: $problem: skipping the front end's checks and browser tests"
    FRONTEND_READY=
}

# Format, unit tests, type check and build; fails when the committed build
# is stale.
check_frontend() {
    say "front end: npm ci, prettier, vitest, build"
    (cd "$FRONTEND" && npm ci --no-audit --no-fund --loglevel=error)
    (cd "$FRONTEND" && npm run --silent format:check)
    (cd "$FRONTEND" && npx vitest run)
    (cd "$FRONTEND" && npm run --silent build)
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        local changed
        changed=$(git -C "$ROOT" status --porcelain -- src/sleeplog/static)
        if [ -n "$changed" ]; then
            printf '%s\n' "$changed" >&2
            die "src/sleeplog/static differs from a fresh build of frontend/: run 'npm run build' in frontend/ and commit the result"
        fi
        say "the committed build of the pages matches a fresh one"
    fi
}

# The browser tests: tests/e2e, once, on the .venv's Python.
run_browser_tests() {
    say "front end: browser tests (headless $(command -v chromium))"
    (cd "$ROOT" && SLEEPLOG_E2E=1 "$VENV/bin/python" -m pytest tests/e2e -p no:cacheprovider)
}
