#!/usr/bin/env bash
# Installs kassa as a systemd service on this machine (run as root, from the repository):
#   1. builds the release binary and copies it to /usr/local/bin/kassa;
#   2. writes /etc/kassa/kassa.env (mode 0600, root) with a new SECRET_KEY unless it exists,
#      for you to complete with DATABASE_URL and the rest (docs/configuration.md);
#   3. installs deploy/kassa.service and enables it (started now when the file names a
#      DATABASE_URL, else at the next `systemctl start kassa`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (it writes /usr/local/bin, /etc/kassa and /etc/systemd)"; exit 1; }

cargo build --release --locked --bin kassa
install -m 0755 "${CARGO_TARGET_DIR:-target}/release/kassa" /usr/local/bin/kassa

install -d -m 0700 /etc/kassa
if [ ! -f /etc/kassa/kassa.env ]; then
    umask 077
    {
        echo "# kassa's settings (docs/configuration.md). Readable by root alone."
        echo "SECRET_KEY=$(openssl rand -hex 32)"
        echo "# DATABASE_URL=postgres://kassa:PASSWORD@127.0.0.1/kassa"
        echo "BIND_ADDR=127.0.0.1:8080"
    } > /etc/kassa/kassa.env
    echo "wrote /etc/kassa/kassa.env: set DATABASE_URL in it"
fi
chmod 0600 /etc/kassa/kassa.env

install -m 0644 deploy/kassa.service /etc/systemd/system/kassa.service
systemctl daemon-reload
systemctl enable kassa.service
if grep -q '^DATABASE_URL=' /etc/kassa/kassa.env; then systemctl restart kassa.service; fi
systemctl --no-pager status kassa.service || true
