#!/usr/bin/env bash
# Debian packages the tests need: real media tools for fixtures, real crypto tools, and a
# real headless browser for the report. Installs only what is missing; a no-op when all is there.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ffmpeg    || need+=(ffmpeg)
have espeak-ng || need+=(espeak-ng)
have gpg       || need+=(gnupg)
have age       || need+=(age)
have openssl   || need+=(openssl)
have zip       || need+=(zip)
have chromium  || need+=(chromium)
have pdftoppm  || need+=(poppler-utils)   # print-to-PDF pages of the report, as PNG
have file      || need+=(file)            # libmagic, the baseline of bench/eval_recall.py
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing system packages: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
