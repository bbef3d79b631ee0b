#!/usr/bin/env bash
# Install the system packages the tests drive for real, when missing: Chromium (dashboard
# end-to-end tests), Prometheus (scrapes the gateway in a test) and systemd-analyze (the
# units in deploy/systemd are verified; Debian ships it in the `systemd` package) and a
# compose CLI (`docker compose config` checks deploy/compose*.yaml; Debian's docker-compose
# when the Compose plugin is absent). Debian/Ubuntu only;
# elsewhere it says what is missing and the tests that need it fail with that reason.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
  || need+=(docker-compose)
((${#need[@]})) || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]} (install them with your package manager)" >&2
  exit 0
fi
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
