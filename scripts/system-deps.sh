#!/usr/bin/env bash
# Install the Debian packages Lessons KB needs, only when they are missing: Chromium for the
# browser tests, DejaVu for Vietnamese PDFs, Tesseract with its Vietnamese and English models for
# OCR of scanned PDFs, antiword for legacy Word .doc files.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
for lang in vie eng; do
  ls /usr/share/tesseract-ocr/*/tessdata/"$lang".traineddata >/dev/null 2>&1 \
    || need+=("tesseract-ocr-$lang")
done
command -v antiword >/dev/null 2>&1 || need+=(antiword)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
