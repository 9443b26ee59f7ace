#!/usr/bin/env bash
# The side-by-side comparisons of issue #9 in one command: builds the release
# benchmarks once, runs them one after another (server, sync, sealing,
# thin_link; console when tmux and fzf are present), then a load generator
# against `guichet serve` on 127.0.0.1 if one is at hand, and prints one
# summary table gathered from the benchmarks' `SUMMARY|` lines.
#
#   tests/bench/compare.sh                                  (small sizes, minutes)
#   GUICHET_BENCH_CASES=100000 tests/bench/compare.sh       (the full size, an hour or more)
#   GUICHET_BENCH_LOAD=1 tests/bench/compare.sh             (installs oha with cargo, or wrk with apt)
#
# Sizes: GUICHET_BENCH_CASES (default 2000) for every benchmark,
# GUICHET_BENCH_ACTIONS (default 500) for the sync's replay,
# GUICHET_BENCH_IDLE_SECONDS (default 10) for the console, GUICHET_BENCH_LOAD_SECONDS
# (default 10) for the load generator. Each benchmark's full output is kept
# in $GUICHET_BENCH_OUT (default: a new temporary directory).
# Everything listens on 127.0.0.1 only.

set -euo pipefail

cd "$(dirname "$0")/../.."

export GUICHET_BENCH_CASES="${GUICHET_BENCH_CASES:-2000}"
export GUICHET_BENCH_ACTIONS="${GUICHET_BENCH_ACTIONS:-500}"
export GUICHET_BENCH_IDLE_SECONDS="${GUICHET_BENCH_IDLE_SECONDS:-10}"
load_seconds="${GUICHET_BENCH_LOAD_SECONDS:-10}"
out="${GUICHET_BENCH_OUT:-$(mktemp -d -t guichet-bench.XXXXXX)}"
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"

echo "== sizes: GUICHET_BENCH_CASES=$GUICHET_BENCH_CASES GUICHET_BENCH_ACTIONS=$GUICHET_BENCH_ACTIONS; outputs in $out"
echo "== $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"

# One release build for every benchmark (and the guichet binary they run).
cargo bench --no-run

benches=(server sync sealing thin_link)
if command -v tmux >/dev/null && command -v fzf >/dev/null; then
    benches+=(console)
else
    echo "== console skipped: it needs tmux and fzf"
fi

failed=()
for bench in "${benches[@]}"; do
    echo
    echo "== cargo bench --bench $bench"
    started=$(date +%s)
    # A benchmark that fails is reported and the others still run.
    if cargo bench --bench "$bench" 2>"$out/$bench.stderr" | tee "$out/$bench.out"; then
        echo "== $bench: $(($(date +%s) - started)) s"
    else
        echo "== $bench FAILED (see $out/$bench.stderr)"
        tail -5 "$out/$bench.stderr" || true
        failed+=("$bench")
    fi
done

# The load generator: wrk (apt, only when asked and root: seconds), else oha
# (cargo install, only when asked: minutes of compiling), else whichever is
# already installed.
if [[ "${GUICHET_BENCH_LOAD:-0}" == 1 ]]; then
    if ! command -v oha >/dev/null && ! command -v wrk >/dev/null && [[ $(id -u) == 0 ]]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } || true
    fi
    if ! command -v oha >/dev/null && ! command -v wrk >/dev/null; then
        cargo install oha --locked || true
    fi
fi
load_line=""
if command -v oha >/dev/null || command -v wrk >/dev/null; then
    echo
    echo "== load: guichet serve --demo $GUICHET_BENCH_CASES on 127.0.0.1, ${load_seconds} s on the cases list"
    db_dir=$(mktemp -d -t guichet-load.XXXXXX)
    coproc SERVE { exec "$target/release/guichet" serve --addr 127.0.0.1:0 --db "$db_dir/cases.db" --demo "$GUICHET_BENCH_CASES" 2>"$out/load-server.stderr"; }
    serve_pid=$SERVE_PID
    read -r first_line <&"${SERVE[0]}"
    url="${first_line#listening on }"
    case "$url" in
        http://127.0.0.1:*) ;;
        *) echo "unexpected first line from guichet serve: $first_line"; kill "$serve_pid"; exit 1 ;;
    esac
    list="$url/api/now/table/sn_customerservice_case?sysparm_limit=50&sysparm_query=stateIN1,10,18%5EORDERBYnumber"
    if command -v oha >/dev/null; then
        tool="oha $({ oha --version || true; } | awk '{print $2}'), 16 connections"
        oha --no-tui -z "${load_seconds}s" -c 16 -a demo:demo "$list" | tee "$out/load.out"
        rps=$(awk '/Requests\/sec:/ {print $2}' "$out/load.out")
    else
        # `wrk --version` exits 1 after printing its version.
        tool="wrk $({ wrk --version 2>&1 || true; } | awk 'NR==1 {print $2}'), 2 threads, 16 connections"
        wrk -t2 -c16 -d"${load_seconds}s" -H "Authorization: Basic $(printf demo:demo | base64)" "$list" | tee "$out/load.out"
        rps=$(awk '/Requests\/sec:/ {print $2}' "$out/load.out")
    fi
    peak=$(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$serve_pid/status")
    kill "$serve_pid"
    wait "$serve_pid" 2>/dev/null || true
    rm -rf "$db_dir"
    load_line="SUMMARY|load ($GUICHET_BENCH_CASES cases)|GET 50 open cases, basic auth demo, ${load_seconds} s ($tool)|${rps} requests/s|server peak RSS (VmHWM) ${peak}"
    echo "$load_line" >"$out/load.summary"
else
    echo
    echo "== load skipped: no oha or wrk (GUICHET_BENCH_LOAD=1 installs one)"
fi

echo
echo "## Summary ($GUICHET_BENCH_CASES cases; full outputs in $out)"
echo
echo "| benchmark | what | figure | beside, same run |"
echo "|---|---|---|---|"
cat "$out"/*.out "$out"/*.summary 2>/dev/null | grep '^SUMMARY|' | while IFS='|' read -r _ bench what figure beside; do
    echo "| $bench | $what | $figure | $beside |"
done
if ((${#failed[@]})); then
    echo
    echo "failed: ${failed[*]}"
    exit 1
fi
