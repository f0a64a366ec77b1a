#!/usr/bin/env bash
# Install what Mata Kota needs on a fresh Debian 12 machine; quick when everything is there already.
#   - Debian packages: GStreamer's RTSP server (the camera simulator), ffmpeg, and PostgreSQL (the tests
#     start a throwaway server of their own; a cluster the package may start is not used)
#   - Chromium and a font, for the web UI's browser tests (Playwright drives /usr/bin/chromium; it downloads
#     no browser of its own)
#   - .venv with torch, ultralytics, OpenVINO, PyAV, FastAPI, ... and this project (editable)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav ffmpeg
  postgresql chromium fonts-dejavu-core
)
TORCH_SPEC=${MATAKOTA_TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $python"
  "$python" -m venv .venv
fi

stamp=".venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages (torch comes from this machine's disk; a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first and pinned: otherwise ultralytics would pull the newest CUDA build from the index.
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install -q --progress-bar off $TORCH_SPEC
  .venv/bin/python -m pip install -q --progress-bar off -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
