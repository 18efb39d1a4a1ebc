"""Golden fixtures for data/functional.cpp: torchvision 0.14's tensor implementation of each
deterministic image operation applied to two float images (3 x 29 x 41 random, and the same
image's 1 x 29 x 41 gray version where the op supports it). Every case's parameters are in its
name, parsed by tests/data/test_functional.cpp:  <op>[:<param>...].

Run with Debian's python3-torch and python3-torchvision:
    /usr/bin/python3 gen_transforms.py OUT.safetensors
"""
import sys

import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode as IM

import safetensors_io

MODES = {"nearest": IM.NEAREST, "bilinear": IM.BILINEAR, "bicubic": IM.BICUBIC}


def apply(op, args, img):
    if op == "resize":
        h, w, mode, aa = int(args[0]), int(args[1]), args[2], args[3] == "aa"
        return F.resize(img, [h, w], interpolation=MODES[mode], antialias=aa)
    if op == "crop":
        return F.crop(img, *[int(a) for a in args])
    if op == "center_crop":
        return F.center_crop(img, [int(args[0]), int(args[1])])
    if op == "hflip":
        return F.hflip(img)
    if op == "vflip":
        return F.vflip(img)
    if op == "rot90":
        return torch.rot90(img, int(args[0]), dims=(-2, -1))
    if op == "rotate":
        fill = [float(v) for v in args[2].split(",")]
        return F.rotate(img, float(args[0]), interpolation=MODES[args[1]], fill=fill[:img.shape[0]])
    if op == "gray":
        return F.rgb_to_grayscale(img, int(args[0]))
    if op == "brightness":
        return F.adjust_brightness(img, float(args[0]))
    if op == "contrast":
        return F.adjust_contrast(img, float(args[0]))
    if op == "saturation":
        return F.adjust_saturation(img, float(args[0]))
    if op == "hue":
        return F.adjust_hue(img, float(args[0]))
    if op == "solarize":
        return F.solarize(img, float(args[0]))
    if op == "blur":
        k, s = int(args[0]), float(args[1])
        return F.gaussian_blur(img, [k, k], [s, s])
    if op == "normalize":
        return F.normalize(img, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    raise ValueError(op)


CASES = [
    "resize:20:30:bilinear:aa", "resize:45:60:bilinear:aa", "resize:37:20:bilinear:aa",
    "resize:12:17:bicubic:aa", "resize:40:50:bicubic:aa", "resize:19:61:bilinear:plain",
    "resize:45:59:bilinear:plain", "resize:19:61:nearest:plain", "resize:45:59:nearest:plain",
    "crop:5:7:20:30", "crop:-3:40:20:30", "center_crop:21:30", "center_crop:40:60",
    "center_crop:20:52", "hflip", "vflip", "rot90:1", "rot90:2", "rot90:3", "rot90:-1",
    "rotate:30:bilinear:0.5,0.2,0.9", "rotate:-75:bilinear:0,0,0",
    "rotate:33:nearest:0.1,0.2,0.3",
    "gray:1", "gray:3", "brightness:0.6", "brightness:1.7", "contrast:0.5", "contrast:1.8",
    "saturation:0.3", "saturation:2.0", "hue:0.2", "hue:-0.45", "solarize:0.5",
    "blur:9:1.3", "blur:23:4.0", "blur:3:0.1", "normalize",
]


def main(out):
    gen = torch.Generator().manual_seed(11)
    rgb = torch.rand(3, 29, 41, generator=gen)
    rgb[:, 10:14, :] = rgb[:, 10:14, :].mean(0, keepdim=True)  # gray rows: hue's max == min
    gray = F.rgb_to_grayscale(rgb, 1)
    tensors = {"input/rgb": rgb, "input/gray": gray}
    for case in CASES:
        op, *args = case.split(":")
        tensors["rgb/" + case] = apply(op, args, rgb)
        if op not in ("gray", "hue", "saturation", "normalize"):
            tensors["gray/" + case] = apply(op, args, gray)
    safetensors_io.save(out, tensors, {"generator": "gen_transforms.py",
                                       "torchvision": torchvision.__version__,
                                       "torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv[1])
