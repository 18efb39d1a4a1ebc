"""Image decoding fixtures: small images in every format and pixel layout data/image.cpp
reads, written by PIL, plus what PIL decodes each to after .convert("RGB") (the reference
pipelines' loader), as uint8 HWC tensors in images.safetensors.

Run with Debian's python3-torch and python3-pil: /usr/bin/python3 gen_images.py IMAGES_DIR OUT
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

import safetensors_io


def base_rgb(h=17, w=23):
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // (w - 1)).astype(np.uint8)
    g = (y * 255 // (h - 1)).astype(np.uint8)
    b = (((x - w / 2) ** 2 + (y - h / 2) ** 2) < 30).astype(np.uint8) * 200 + 30
    img = np.stack([r, g, b], axis=-1)
    img[3:6, 4:15] = [250, 10, 120]  # a sharp bar: edges stress JPEG and palettes
    return img


def main(images_dir, out):
    rgb = Image.fromarray(base_rgb())
    gray = rgb.convert("L")
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray((np.arange(17 * 23).reshape(17, 23) % 256).astype(np.uint8)))
    palette = rgb.quantize(colors=16)
    images = {
        "rgb.png": (rgb, {}), "gray.png": (gray, {}), "rgba.png": (rgba, {}),
        "palette.png": (palette, {}),
        "rgb.jpg": (rgb, {"quality": 92}), "gray.jpg": (gray, {"quality": 92}),
        "progressive.jpg": (rgb, {"quality": 92, "progressive": True}),
        "rgb.bmp": (rgb, {}), "palette.bmp": (palette, {}),
        "rgb_raw.tif": (rgb, {"compression": "raw"}),
        "rgb_lzw.tif": (rgb, {"compression": "tiff_lzw"}),
        "rgb_deflate.tif": (rgb, {"compression": "tiff_adobe_deflate"}),
        "gray_lzw.tif": (gray, {"compression": "tiff_lzw"}),
        "rgba_deflate.tif": (rgba, {"compression": "tiff_adobe_deflate"}),
        "palette_lzw.tif": (palette, {"compression": "tiff_lzw"}),
    }
    tensors = {}
    for name, (img, kwargs) in images.items():
        path = os.path.join(images_dir, name)
        img.save(path, **kwargs)
        decoded = np.asarray(Image.open(path).convert("RGB"))
        tensors[name] = torch.from_numpy(decoded.copy())
    safetensors_io.save(out, tensors, {"generator": "gen_images.py",
                                       "pil": Image.__version__})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
