#!/usr/bin/env bash
# ctest report_render: writes the example report (every figure kind), renders it in headless
# Chromium (tools/render_report.sh: fails on any console message) and checks the screenshot
# (report_example --check-screenshot: 1280 x 2000, luminance variance, distinct colours,
# non-white share), after checking the HTML references nothing outside itself. Exit 77
# (skipped) only when chromium is absent and cannot be installed.
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
# Self-contained: every src is a data: URI (Chromium logs no console message for a missing
# local file, so this is checked on the HTML).
if grep -oE '(src|href)="[^"]*"' "$out/report.html" | grep -v '^src="data:'; then
    echo "FAIL: the report references outside resources (above)"
    exit 1
fi
"$root/tools/render_report.sh" "$out/report.html" "$out/report.png" 1280,2000
"$example" --check-screenshot "$out/report.png" 1280 2000
