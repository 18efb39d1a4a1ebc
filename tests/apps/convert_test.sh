#!/usr/bin/env bash
# The convert app end to end on the committed .pth fixtures (tests/golden/fixtures/pth):
# select + strip prefixes writes the expected keys and prints the key table; DINO's args
# (argparse.Namespace) and a pickle calling os.system are refused naming the global, and
# --skip-unknown-globals converts the weights while saying what it skipped.
#   convert_test.sh <convert binary> <fixtures dir> <work dir>
set -euo pipefail
app=$1
fixtures=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "convert_test: $*" >&2; exit 1; }

"$app" "$fixtures/nested.pth" "$work/teacher.safetensors" --select teacher \
    --strip-prefix module. --strip-prefix backbone. >"$work/out.txt" 2>&1 ||
    { cat "$work/out.txt" >&2; fail "nested.pth did not convert"; }
for key in blocks.0.attn.qkv.weight norm.bias head.last_layer.weight; do
    grep -q "^$key " "$work/out.txt" || fail "key table lacks $key"
done
grep -q "^3 tensors, 20 elements, 80 bytes" "$work/out.txt" || fail "no totals line"
[ -s "$work/teacher.safetensors" ] || fail "no output file"
grep -q "blocks.0.attn.qkv.weight" "$work/teacher.safetensors" || fail "output lacks a key"

if "$app" "$fixtures/dino_args.pth" "$work/x.safetensors" >"$work/refused.txt" 2>&1; then
    fail "dino_args.pth converted without --skip-unknown-globals"
fi
grep -q "refusing to load global argparse.Namespace" "$work/refused.txt" || fail "no refusal message"
[ ! -e "$work/x.safetensors" ] || fail "a refused file left an output"
"$app" "$fixtures/dino_args.pth" "$work/x.safetensors" --select teacher --skip-unknown-globals \
    >"$work/skipped.txt" 2>&1 || { cat "$work/skipped.txt" >&2; fail "skip mode failed"; }
grep -q "skipped objects of argparse.Namespace" "$work/skipped.txt" || fail "skip not reported"

if "$app" "$fixtures/evil.pth" "$work/e.safetensors" >"$work/evil.txt" 2>&1; then
    fail "evil.pth converted"
fi
grep -q "refusing to load global posix.system" "$work/evil.txt" || fail "os.system not named"
echo "convert: ok"
