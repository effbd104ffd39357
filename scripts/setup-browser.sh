#!/bin/sh
# Installs headless Chromium from Debian's packages for the HTML report's browser test
# (reports/browser/html.browser.test.ts) when no Chromium is on PATH. Idempotent.
set -eu
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "setup-browser: $(command -v "$b") already installed"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "setup-browser: chromium is missing and installing it needs root (apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "setup-browser: installed $(command -v chromium)"
