#!/usr/bin/env bash
# Install the Debian packages Lessons KB needs, only when they are missing.
#   scripts/system-deps.sh        everything the tests need: the OCR and .doc tools below, plus
#                                 Chromium for the browser tests and DejaVu for Vietnamese PDFs
#   scripts/system-deps.sh ingest what ingesting the sample corpus needs (`make run`): Tesseract
#                                 with its Vietnamese and English models (scanned PDFs), antiword
set -euo pipefail
need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
for lang in vie eng; do
  ls /usr/share/tesseract-ocr/*/tessdata/"$lang".traineddata >/dev/null 2>&1 \
    || need+=("tesseract-ocr-$lang")
done
command -v antiword >/dev/null 2>&1 || need+=(antiword)
if [ "${1:-all}" != "ingest" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
