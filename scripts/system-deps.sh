#!/usr/bin/env bash
# System packages the tests use: Debian's Chromium (driven by Playwright) and zbar (QR decoding),
# and Janus (the virtual class's media server, VideoRoom plugin) with its JavaScript library.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v janus >/dev/null 2>&1 || missing+=(janus)
[ -f /usr/share/javascript/janus-gateway/janus.js ] || missing+=(libjs-janus-gateway)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} from Debian's packages…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif [ "${CI:-}" = "true" ]; then
  echo "CI needs ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 1
else
  echo "Note: ${missing[*]} not installed; the tests that need them are skipped (sudo apt-get install ${missing[*]})."
fi
