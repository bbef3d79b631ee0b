#!/usr/bin/env bash
# Install Vitals for systemd (see docs/deploy.md, "systemd"):
#
#   /opt/vitals/venv    a virtualenv with the Vitals wheels (agent-only: vitals-core + vitals-agent)
#   /opt/vitals/web     the dashboard (services/gateway/web/dist), central hosts only
#   /etc/vitals         vitals.toml and vitals.env (secrets: mode 0640, group vitals)
#   /var/lib/vitals     the services' state (owned by vitals)
#   user and group      vitals (system account, no login shell)
#   /etc/systemd/system vitals-{gateway,alerter,notifier,agent}.service, or only the agent's
#
# Usage: sudo deploy/systemd/install.sh --wheels DIR [--agent-only] [--web DIR]
#   --wheels DIR   the wheels from `uv build --all-packages --wheel --out-dir DIR`
#   --agent-only   a monitored host: the agent alone
#   --web DIR      the built dashboard (default: services/gateway/web/dist beside this script)
# DESTDIR=/some/root installs into that root instead (no user is created, systemd is not
# told); the tests use it. It installs and enables nothing it was not asked to: start the
# units yourself once /etc/vitals/vitals.env points at NATS and Redis.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wheels="" agent_only=0 web="$repo/services/gateway/web/dist"
while (($#)); do
  case $1 in
    --wheels) wheels=${2:?--wheels needs a directory}; shift 2 ;;
    --agent-only) agent_only=1; shift ;;
    --web) web=${2:?--web needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n $wheels && -d $wheels ]] || { echo "install.sh: --wheels DIR is required (see --help)" >&2; exit 2; }
root=${DESTDIR:-}
if [[ -z $root && $(id -u) -ne 0 ]]; then
  echo "install.sh: run it as root (or set DESTDIR to install into another root)" >&2
  exit 1
fi

if ((agent_only)); then
  units=(vitals-agent)
  mapfile -t pkgs < <(ls "$wheels"/vitals_core-*.whl "$wheels"/vitals_agent-*.whl)
else
  units=(vitals-gateway vitals-alerter vitals-notifier vitals-agent)
  mapfile -t pkgs < <(ls "$wheels"/*.whl)
fi
((${#pkgs[@]})) || { echo "install.sh: no wheels in $wheels" >&2; exit 2; }

# The user first: the directories below belong to it.
if [[ -z $root ]] && ! id vitals >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/vitals --no-create-home \
    --shell /usr/sbin/nologin vitals
fi
owner() { [[ -n $root ]] || chown "$@"; }

install -d -m 0755 "$root/opt/vitals"
install -d -m 0750 "$root/etc/vitals" && owner root:vitals "$root/etc/vitals"
install -d -m 0750 "$root/var/lib/vitals" && owner vitals:vitals "$root/var/lib/vitals"

venv="$root/opt/vitals/venv"
uv=${UV:-$(command -v uv || true)}
if [[ -n $uv ]]; then
  "$uv" venv -q --allow-existing --python "${PYTHON:-python3}" "$venv"
  "$uv" pip install -q --python "$venv/bin/python" "${pkgs[@]}"
else
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q "${pkgs[@]}"
fi

if ((!agent_only)); then
  if [[ -f $web/index.html ]]; then
    rm -rf "$root/opt/vitals/web" && cp -r "$web" "$root/opt/vitals/web"
  else
    echo "install.sh: no built dashboard in $web (make web): the API works, the dashboard is not served" >&2
  fi
fi

# Settings: kept if they exist; the env file holds secrets, readable by vitals only.
[[ -e $root/etc/vitals/vitals.toml ]] || : >"$root/etc/vitals/vitals.toml"
if [[ ! -e $root/etc/vitals/vitals.env ]]; then
  cat >"$root/etc/vitals/vitals.env" <<'EOF'
# Where the bus and Redis are, and their credentials (docs/deploy.md).
VITALS_NATS_URL=nats://127.0.0.1:4222
# VITALS_NATS_USER=... / VITALS_NATS_PASSWORD=... / VITALS_NATS_CREDS_FILE=/etc/vitals/agent.creds
VITALS_REDIS_URL=redis://127.0.0.1:6379
# VITALS_ADMIN_PASSWORD=...
EOF
  chmod 0640 "$root/etc/vitals/vitals.env"
  owner root:vitals "$root/etc/vitals/vitals.env" "$root/etc/vitals/vitals.toml"
fi

install -d -m 0755 "$root/etc/systemd/system"
for unit in "${units[@]}"; do
  install -m 0644 "$here/$unit.service" "$root/etc/systemd/system/$unit.service"
done
if [[ -z $root ]]; then
  systemctl daemon-reload
  echo "installed ${units[*]}: edit /etc/vitals/vitals.env, then: systemctl enable --now ${units[*]}"
else
  echo "installed ${units[*]} into $root"
fi
