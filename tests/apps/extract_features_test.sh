#!/usr/bin/env bash
# The extract_features app end to end on a tiny synthetic cohort (5 patients, ~25 cells of
# 16 px, a ResNet-18 with the small-input stem; a few seconds): shapes; paths, labels and bags
# line up with the folders (and with cells.csv under --cell-labels); the encoder file written by --save-encoder gives the same
# features; the same weights without marrow's metadata load as a "published" state_dict
# given --arch; a path list works (with --tta); a torchvision .pth gives torchvision's
# features (when torch is installed); and clear errors for a missing encoder file,
# a mismatched --arch (an encoder file, and a bare state_dict: every bad key listed), and
# --per-bag on a layout without bags.
#   extract_features_test.sh <extract_features binary> <synth_cohort binary> <work dir>
set -euo pipefail
app=$1
synth=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "extract_features_test: $*" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

"$synth" --out "$work/synth" --patients-per-class 1 --min-cells 4 --max-cells 6 --size 16 \
    --seed 0 >/dev/null
run() { "$app" "$@" --workers 1 >"$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; fail "failed: $*"; }; }
run --random-init --arch resnet18 --stem small --seed 3 --data "$work/synth" \
    --out "$work/bags.safetensors" --per-bag --save-encoder "$work/enc.safetensors"
[ -s "$work/bags.safetensors.run/run.json" ] || fail "no run record"
run --encoder "$work/enc.safetensors" --data "$work/synth" --out "$work/cells.safetensors"

# A reader of safetensors in plain Python (no torch needed), and the checks.
cat >"$work/check.py" <<'PY'
import json, struct, sys, os
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); meta = h.pop("__metadata__", {})
    fmt = {"F32": "f", "I64": "q"}
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        raw = b[8 + n + s: 8 + n + e]
        vals = struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt[v["dtype"]]), fmt[v["dtype"]]), raw)
        out[k] = (v["shape"], list(vals))
    return out, meta
def strip(src, dst):  # the same tensors without __metadata__: a bare, "published" state_dict
    b = open(src, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
    open(dst, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
cmd = sys.argv[1]
if cmd == "strip":
    strip(sys.argv[2], sys.argv[3]); sys.exit(0)
if cmd == "same":
    a, _ = load(sys.argv[2]); b, _ = load(sys.argv[3])
    assert a["features"] == b["features"], "features differ"
    sys.exit(0)
t, meta = load(sys.argv[2])
(n, d), f = t["features"]
classes = json.loads(meta["class_names"]); paths = json.loads(meta["paths"])
labels = t["labels"][1]
assert d == 512 and n == len(paths) == len(labels) and 20 <= n <= 30, (n, d, len(paths))
assert len(f) == n * d and all(v == v for v in f), "features size / NaN"
for p, l in zip(paths, labels):  # data/<label>/<patient>/NNN.TIF
    assert os.path.basename(os.path.dirname(os.path.dirname(p))) == classes[l], (p, classes[l])
assert json.loads(meta["encoder"])["spec"]["arch"] == "resnet18"
if cmd == "bags":
    off = t["bag_offsets"][1]; bl = t["bag_labels"][1]; ids = json.loads(meta["bag_ids"])
    assert len(off) == len(ids) + 1 == len(bl) + 1 == 6 and off[0] == 0 and off[-1] == n, off
    for p in range(len(ids)):
        assert off[p] < off[p + 1], "empty bag"
        for r in range(off[p], off[p + 1]):
            assert os.path.basename(os.path.dirname(paths[r])) == ids[p], (paths[r], ids[p])
            assert labels[r] == bl[p]
    print("extract_features: %d cells in %d bags, %d-d" % (n, len(ids), d))
else:
    assert "bag_offsets" not in t and "bag_ids" not in meta
PY
$py "$work/check.py" bags "$work/bags.safetensors" || fail "per-bag file"
$py "$work/check.py" cells "$work/cells.safetensors" || fail "per-cell file"
$py "$work/check.py" same "$work/bags.safetensors" "$work/cells.safetensors" ||
    fail "the saved encoder gives other features than the one that was saved"

# Cell-type labels from the cohort's cells.csv: each row's label is its cell's type.
run --encoder "$work/enc.safetensors" --data "$work/synth" --out "$work/types.safetensors" \
    --per-bag --cell-labels cell_type
$py - "$work/check.py" "$work/types.safetensors" "$work/synth/cells.csv" <<'PY' || fail "--cell-labels"
import csv, json, os, sys
sys.argv = sys.argv[1:]; exec(open(sys.argv[0]).read().split("cmd = sys.argv[1]")[0])
t, meta = load(sys.argv[1])
truth = {(r["patient_id"], r["file"]): r["cell_type"] for r in csv.DictReader(open(sys.argv[2]))}
classes = json.loads(meta["class_names"]); paths = json.loads(meta["paths"])
for p, l in zip(paths, t["labels"][1]):
    assert classes[l] == truth[(os.path.basename(os.path.dirname(p)), os.path.basename(p))], p
assert len(json.loads(meta["bag_class_names"])) == 5
PY

# The same weights as a bare state_dict: needs --arch, loads with the right one.
$py "$work/check.py" strip "$work/enc.safetensors" "$work/bare.safetensors"
run --encoder "$work/bare.safetensors" --arch resnet18 --stem small --data "$work/synth" \
    --out "$work/bare_feats.safetensors"
$py "$work/check.py" same "$work/cells.safetensors" "$work/bare_feats.safetensors" ||
    fail "the bare state_dict gives other features"

# A path list (labels by class name) with flip TTA.
find "$work/synth/data" -name '*.TIF' | sort | head -6 |
    awk -F/ '{print $0, $(NF-2)}' >"$work/list.txt"
run --encoder "$work/enc.safetensors" --data "$work/list.txt" --out "$work/list.safetensors" --tta
grep -q "list layout" "$work/out.txt" || fail "the list was not read as a list"

# A torchvision ResNet-18 saved by torch.save (a published .pth) gives torchvision's features
# on the same images (ImageNet normalization, no resize, fc removed); skipped without torch.
if $py -c "import torch, torchvision" 2>/dev/null; then
    $py - "$work" <<'PY' || fail "could not write the torchvision checkpoint"
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18()
for mod in m.modules():  # non-trivial BN statistics, so eval mode is checked too
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 1.5)
torch.save(m.state_dict(), sys.argv[1] + "/tv.pth")
PY
    run --encoder "$work/tv.pth" --arch resnet18 --data "$work/list.txt" --out "$work/tv.safetensors"
    $py - "$work" <<'PY' || fail "features differ from torchvision's"
import sys, json, struct, torch, torchvision
from PIL import Image
import torchvision.transforms.functional as F
w = sys.argv[1]
m = torchvision.models.resnet18(); m.load_state_dict(torch.load(w + "/tv.pth")); m.fc = torch.nn.Identity(); m.eval()
b = open(w + "/tv.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
paths = json.loads(h["__metadata__"]["paths"]); s, e = h["features"]["data_offsets"]
ours = torch.tensor(struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e])).reshape(h["features"]["shape"])
x = torch.stack([F.normalize(F.to_tensor(Image.open(p).convert("RGB")), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) for p in paths])
with torch.no_grad(): ref = m(x)
err = ((ours - ref).abs() / (1e-4 + 1e-4 * ref.abs())).max().item()
print("extract_features: torchvision parity, max |ours - torch| = %.2e" % (ours - ref).abs().max().item())
assert err <= 1, err
PY
else
    echo "extract_features: torch/torchvision not found; torchvision parity skipped"
fi

# Errors.
expect_error() {  # expect_error <pattern> <args...>
    local pattern=$1; shift
    if "$app" "$@" --workers 1 >"$work/err.txt" 2>&1; then fail "did not fail: $*"; fi
    grep -q -- "$pattern" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "no '$pattern' in the error of: $*"; }
}
expect_error "none.safetensors does not exist" --encoder "$work/none.safetensors" \
    --data "$work/synth" --out "$work/x.safetensors"
expect_error "holds a resnet18 --stem small encoder, but --arch says resnet50" \
    --encoder "$work/enc.safetensors" --arch resnet50 --data "$work/synth" --out "$work/x.safetensors"
expect_error "Missing key" --encoder "$work/bare.safetensors" --arch resnet50 \
    --data "$work/synth" --out "$work/x.safetensors"
grep -q "layer1.0.conv3.weight" "$work/err.txt" || fail "the mismatch does not list the keys"
expect_error "needs --arch" --encoder "$work/bare.safetensors" --data "$work/synth" --out "$work/x.safetensors"
expect_error "per-bag needs a layout with patient bags" --encoder "$work/enc.safetensors" \
    --data "$work/list.txt" --out "$work/x.safetensors" --per-bag
[ ! -e "$work/x.safetensors" ] || fail "a failed run left an output file"
echo "extract_features: ok"
