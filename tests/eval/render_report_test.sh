#!/usr/bin/env bash
# ctest report_render: writes the example report (every figure kind), renders it in headless
# Chromium (tools/render_report.sh: fails on any console message) and checks the screenshot
# (report_example --check-screenshot: 1280 x 2000, luminance variance, distinct colours,
# non-white share). Exit 77 (skipped) only when chromium is absent and cannot be installed.
# Usage: render_report_test.sh REPORT_EXAMPLE OUT_DIR
set -euo pipefail
example=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
        (. "$root/tools/setup.sh" && need_packages chromium) || true
    fi
    if ! command -v chromium >/dev/null; then
        echo "SKIP: chromium is not installed (sudo apt-get install -y chromium)"
        exit 77
    fi
fi
rm -rf "$out"
"$example" "$out"
"$root/tools/render_report.sh" "$out/report.html" "$out/report.png" 1280,2000
"$example" --check-screenshot "$out/report.png" 1280 2000
