#!/usr/bin/env bash
# Renders an HTML report to a PNG screenshot with headless Chromium, and fails if the page
# logged anything to the browser console (a report needs no JavaScript and loads nothing, so
# any console message - an uncaught error, a resource that failed to load - is a defect).
# Chromium (Debian's `chromium`) is installed here, when this runs, by tools/setup.sh's
# need_packages (as root; otherwise it prints the apt line and stops).
#
# Usage: tools/render_report.sh REPORT.html OUT.png [WIDTH,HEIGHT]   (default 1280,2000)
# Writes OUT.png and OUT.chromium.log (Chromium's stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2; exit 2; }
. "$root/tools/setup.sh"
command -v chromium >/dev/null || need_packages chromium

html=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1280,2000}
log=${out%.png}.chromium.log
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
# --hide-scrollbars: the screenshot is the page, not the window's scrollbar; a private
# profile directory so parallel runs and the user's own browser do not interfere.
if ! timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$profile" --no-first-run --enable-logging=stderr --v=0 \
        --screenshot="$out" --window-size="$size" "file://$html" 2>"$log"; then
    cat "$log" >&2
    echo "render_report: chromium failed on $html" >&2
    exit 1
fi
# Console messages are logged as "...:CONSOLE(line)] message" (INFO, WARNING or ERROR level).
if grep -E ":CONSOLE|Uncaught|net::ERR_" "$log" >&2; then
    echo "render_report: the page logged console messages (above; full log: $log)" >&2
    exit 1
fi
[ -s "$out" ] || { echo "render_report: chromium wrote no screenshot $out" >&2; exit 1; }
echo "render_report: $out"
