#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it.
# Used as-is by .ci/run; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the network-namespace lab needs real sshd, keepalived and iproute2;
# tmux is used by the console smoke test; prometheus (which brings promtool) by the metrics tests.
# Installed only when running as root with apt.
need=()
for pair in sshd:openssh-server keepalived:keepalived ip:iproute2 tmux:tmux nc:netcat-openbsd mkfs.ext4:e2fsprogs flock:util-linux prometheus:prometheus; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Python: a project-local virtualenv so nothing touches the system Python.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'

exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
