#!/usr/bin/env bash
# kizuna's two set-up commands (see README.md):
#   ./dev.sh demo   build the demo company, compute everything, serve the web app on http://127.0.0.1:8000
#   ./dev.sh test   the gates (ruff, ruff format, mypy --strict, import contracts), then the whole test suite
#                   (SQLite + PostgreSQL, DuckDB + Spark, a real browser)
#   ./dev.sh check  the gates alone
# Both install what they need first: Debian packages (browser, Java, fonts) and a virtualenv in .venv pinned by
# constraints.txt. Running them again skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

need_apt=()
apt_wants() { dpkg -s "$1" >/dev/null 2>&1 || need_apt+=("$1"); }

install_system() {
  apt_wants fonts-ipafont-gothic   # Japanese glyphs for QBR PDFs
  command -v npm >/dev/null 2>&1 || apt_wants npm  # front-end libraries (package-lock.json)
  if [ "${1:-}" = test ]; then
    apt_wants chromium             # browser tests (Playwright drives Debian's chromium)
    command -v java >/dev/null 2>&1 || apt_wants default-jre-headless  # Spark
  fi
  if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "installing Debian packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
}

install_python() {
  local extras=$1
  local stamp="$VENV/.kizuna-installed-$extras"
  local want
  want=$( (cat pyproject.toml constraints.txt; echo compile-bytecode) | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip uv
  echo "installing kizuna and its pinned dependencies into $VENV"
  # --compile-bytecode: every process imports Ibis, pandas and PyArrow; without .pyc files (none are written where
  # PYTHONDONTWRITEBYTECODE is set) each one compiles their sources again, 1.5 s of a KPI refresh
  "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" -c constraints.txt -e ".[$extras]"
  echo "$want" > "$stamp"
}

compile_sources() {
  # kizuna's own modules (an editable install is not compiled by uv); only changed files are compiled again
  "$VENV/bin/python" -m compileall -q -j 0 src >/dev/null
}

install_node() {
  # Front-end libraries (charts, API docs UI) from npm, served locally from node_modules (never a CDN).
  local stamp="node_modules/.kizuna-installed"
  local want
  want=$(sha256sum package-lock.json | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  echo "installing front-end libraries (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
}

run_gates() {
  # The gates CI holds the code to, before the tests: lint, format, strict types, the import-layer contracts.
  echo "gates: ruff check, ruff format --check, mypy --strict, lint-imports"
  "$VENV/bin/ruff" check src tests bench
  "$VENV/bin/ruff" format --check --quiet src tests bench
  "$VENV/bin/mypy" --no-error-summary
  "$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache
}

case "${1:-}" in
  demo)
    shift
    install_system demo
    install_python spark
    install_node
    compile_sources
    export KIZUNA_DATA_DIR=${KIZUNA_DATA_DIR:-./kizuna-data}
    "$VENV/bin/kizuna" init
    "$VENV/bin/kizuna" demo "$@"
    # the demo ends today unless --end-date pins its "today": refresh as of the same day
    as_of=() prev=""
    for arg in "$@"; do
      [ "$prev" = --end-date ] && as_of=(--as-of "$arg")
      case "$arg" in --end-date=*) as_of=(--as-of "${arg#--end-date=}") ;; esac
      prev=$arg
    done
    if "$VENV/bin/kizuna" --help | grep -q " refresh "; then "$VENV/bin/kizuna" refresh "${as_of[@]}"; fi
    if "$VENV/bin/kizuna" --help | grep -q " serve "; then
      exec "$VENV/bin/kizuna" serve --demo-login
    fi
    "$VENV/bin/kizuna" status
    ;;
  check)
    shift
    install_python dev
    run_gates
    ;;
  test)
    shift
    install_system test
    install_python dev
    install_node
    compile_sources
    run_gates
    exec "$VENV/bin/python" -m pytest -n "${KIZUNA_TEST_WORKERS:-2}" --dist loadgroup "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo [--accounts N --years Y --seed S] | ./dev.sh test [pytest args] | ./dev.sh check" >&2
    exit 2
    ;;
esac
