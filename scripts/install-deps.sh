#!/usr/bin/env bash
# Installs the Debian packages r1.cpp builds and tests with. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libfmt-dev libcli11-dev libpcre2-dev libutf8proc-dev
  libcpp-httplib-dev libssl-dev libcurl4-openssl-dev zlib1g-dev libbrotli-dev
  libopenmpi-dev openmpi-bin  # --pipeline (MPI); the build leaves it out when absent
  python3-numpy python3-jinja2
  chromium  # the web chat's browser test (driven by playwright-core, never a downloaded browser)
)
# Node.js/npm (for the JavaScript oracles) may come from elsewhere than Debian.
command -v node >/dev/null && command -v npm >/dev/null || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
