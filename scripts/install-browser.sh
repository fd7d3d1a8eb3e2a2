#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the explorer's browser tests (tests/explorer):
# Debian packages `chromium` and `chromium-driver`, installed when run as root and missing.
# Without root or apt the browser tests skip locally — and fail in CI (CI=true).
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Installing Chromium for the browser tests (Debian packages chromium, chromium-driver)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1; } \
    || echo "Could not install chromium/chromium-driver; the browser tests will not run."
else
  echo "chromium/chromedriver not found (install them with: sudo apt-get install chromium chromium-driver);"
  echo "the explorer's browser tests will skip (and fail in CI)."
fi
exit 0
