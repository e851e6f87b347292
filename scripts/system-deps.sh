#!/usr/bin/env bash
# Installs the Debian packages the test suites drive for real: protoc (wire interop),
# the keyboard hook's X libraries (uiohook-napi: libX11, libXtst, libXrandr, libXt) and OCR
# (tesseract-ocr + English data) for the typed/on-screen text sources,
# Xvfb + openbox + x11 tools (window, idle, lock, screenshot tests), cryptsetup and udev
# tools (USB tests on loop devices), Chromium (console browser tests), and the packaging tools
# (dpkg-deb, systemd-analyze, osslsigncode, wixl/msitools, mingw-w64, Wine for the MSI test),
# and PostgreSQL (server + client tools: the store suite, kill -9 and backup/restore tests start
# a throwaway cluster with initdb/pg_ctl from /usr/lib/postgresql/*/bin, test/support/postgres.ts),
# nats-server and haproxy (several collectors over one PostgreSQL, connected by NATS JetStream,
# behind HAProxy: test/e2e/multi-process.test.ts and the scale simulator, test/sim/cluster.ts),
# and unzip (the subject access test opens the archive with a tool other than the one that wrote it).
# test/support/tools.ts maps
# every tool a suite drives to its package here; test/e2e/environment.test.ts checks both agree.
# Idempotent: does nothing when every package is present already.
set -euo pipefail
pkgs=(protobuf-compiler xvfb x11-utils x11-xserver-utils xterm xdotool xprintidle openbox i3lock
      cryptsetup-bin util-linux udev psmisc chromium fonts-dejavu-core e2fsprogs mount
      ntfs-3g openssl imagemagick python3 xauth procps x11-xkb-utils tesseract-ocr tesseract-ocr-eng
      libx11-6 libxtst6 libxrandr2 libxt6
      binutils dpkg systemd passwd osslsigncode wixl msitools gcc-mingw-w64-x86-64-win32 wine wine64
      postgresql unzip nats-server haproxy)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all ${#pkgs[@]} Debian packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
