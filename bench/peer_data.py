#!/usr/bin/python3
"""torchvision's side of the data benchmark: the same images through PIL decode and the SimCLR
pipeline (two views; RandomResizedCrop, flip, ColorJitter(0.8, 0.8, 0.8, 0.2) p=0.8,
grayscale p=0.2, blur p=0.5 with a 10% kernel, ToTensor, Normalize) in a DataLoader with the
same batch size and worker count. Prints one JSON line like bench_data's.

  /usr/bin/python3 bench/peer_data.py --list images.txt --size 144 --workers 2 --batch 64
"""
import argparse
import json
import time

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T


class Views(torch.utils.data.Dataset):
    def __init__(self, paths, size):
        k = int(0.1 * size) // 2 * 2 + 1
        self.paths = paths
        self.transform = T.Compose([
            T.RandomResizedCrop(size),
            T.RandomHorizontalFlip(),
            T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
            T.RandomGrayscale(p=0.2),
            T.RandomApply([T.GaussianBlur(k, sigma=(0.1, 2.0))], p=0.5),
            T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i]).convert("RGB")
        return self.transform(img), self.transform(img)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", required=True)
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--images", type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(1)  # the workers are the parallelism, as in training scripts
    with open(args.list) as f:
        paths = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    loader = torch.utils.data.DataLoader(Views(paths, args.size), batch_size=args.batch,
                                         shuffle=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    loaded, it = 0, iter(loader)
    next(it)  # warm-up: workers started
    t0 = time.perf_counter()
    while loaded < args.images:
        try:
            a, _ = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        loaded += a.shape[0]
    seconds = time.perf_counter() - t0
    print(json.dumps({"bench": "data", "case": f"decode+simclr2v_{args.size}",
                      "peer_s": seconds / loaded, "images_per_s": loaded / seconds,
                      "workers": args.workers, "peer": f"torchvision {torchvision.__version__} "
                      f"(PIL, DataLoader {args.workers} workers)"}))


if __name__ == "__main__":
    main()
