#!/usr/bin/env bash
# Installs the Debian packages cppbx needs to build, run and test, when missing.
# Idempotent: packages already present are not touched; apt-get update runs only
# when something has to be installed.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-url1.81-dev
  libssl-dev libcurl4-openssl-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libsoci-dev libsqlite3-dev libhiredis-dev libargon2-dev
)
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  sip-tester baresip-core linphone-cli
  postgresql-15 mariadb-server redis-server
  python3-fastapi python3-uvicorn python3-multipart
  chromium nodejs fonts-dejavu-core
)

wanted=("${build_packages[@]}")
if [[ "${1:-}" == "--with-tests" ]]; then
  wanted+=("${test_packages[@]}")
fi
if [[ "${1:-}" == "--with-bench" ]]; then
  wanted+=("${test_packages[@]}" kamailio sip-tester)
fi

# The browser tests need npm (playwright-core). Some nodejs builds carry it,
# Debian's does not: ask for Debian's npm only when there is no npm at all,
# so a nodejs that has its own is never replaced.
if [[ "${1:-}" == "--with-tests" ]] && ! command -v npm >/dev/null 2>&1; then
  wanted+=(npm)
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
