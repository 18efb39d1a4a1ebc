#!/usr/bin/python3
"""Golden fixture for the MIL models (tests/mil/test_models_golden.cpp).

The models below are written from the reference code, with its module names (so state_dict
keys match):
  AMiL       marrlab/SCEMILA ml_pipeline/model.py: ftr_proc (Conv2d(in, int(1.5 in), 2) - ReLU -
             Conv2d(.., 2 in, 2) - ReLU - AdaptiveMaxPool2d(1) - Flatten - Linear(2 in, L) -
             ReLU), attention / classifier (single branch), attention_multi_column /
             classifier_multi_column (one Linear-ReLU-Linear per class). "vector" configs
             replace ftr_proc by Linear(in, L) - ReLU (our option for (N, D) features).
  ABMIL      AMLab-Amsterdam/AttentionDeepMIL model.py Attention / GatedAttention on feature
             vectors (feature_extractor = Linear(in, M) - ReLU or none), with DinoBloom's head
             Linear(M, hidden) - ReLU - Linear(hidden, C) (or one Linear).
  MeanPool   the mean of the embeddings, then the same head.
Sizes are small (the real AMiL's 5,554,948 parameters are checked by count in the C++ test).

Per config <c> (CONFIGS), in float64:
  <c>/sd/<key>         the initial state_dict (torch's init + 0.05 N(0, 1) so biases are not 0)
  <c>/bag, <c>/label   one bag (N, *instance) and its class
  <c>/logits (1, C), <c>/attention_raw and <c>/attention (1, heads, N), <c>/features (1, heads, M)
  <c>/loss             cross-entropy of the bag; <c>/bag.grad and <c>/grad/<key> its gradients
                       (none for the parameters of the AMiL branch not used)
  <c>/batch/bags       3 bags of lengths LENGTHS padded to the longest with random values (not
                       zeros: padding must not leak); <c>/batch/mask (3, Nmax) bool
  <c>/batch/logits, attention (padding 0), features: each bag run alone, stacked
  <c>/batch/loss       the mean cross-entropy of the 3 bags; <c>/batch/grad/<key> its gradients
  <c>/train/...        5 optimizer steps from the initial state:
                       "sgd_accumulate" (SCEMILA's rule): SGD lr 0.01, momentum 0.9, Nesterov,
                       10 single bags <c>/train/bag<i> with labels <c>/train/labels; backward
                       after every bag, step + zero_grad after every 2nd (the sum of 2
                       gradients); <c>/train/losses (10,)
                       "adam_batched": Adam lr 1e-3, weight_decay 1e-4, the masked batch above,
                       mean loss; <c>/train/losses (5,)
  <c>/after/<key>      the state_dict after the 5 steps
  metadata config.<c>  the model's arguments (JSON); keys.<c> the state_dict's key order

Run with Debian's python3-torch: /usr/bin/python3 gen_mil.py OUT.safetensors
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from safetensors_io import save

torch.set_default_dtype(torch.float64)
LENGTHS = [5, 2, 4]

CONFIGS = {
    "amil_multi": {"model": "amil", "classes": 3, "multicolumn": True, "spatial": True, "in": 8,
                   "embed": 10, "attention_hidden": 6, "classifier_hidden": 5, "h": 5,
                   "train": "sgd_accumulate"},
    "amil_single": {"model": "amil", "classes": 3, "multicolumn": False, "spatial": True, "in": 8,
                    "embed": 10, "attention_hidden": 6, "classifier_hidden": 5, "h": 4,
                    "train": "sgd_accumulate"},
    "amil_vector": {"model": "amil", "classes": 4, "multicolumn": True, "spatial": False, "in": 12,
                    "embed": 10, "attention_hidden": 6, "classifier_hidden": 5,
                    "train": "adam_batched"},
    "abmil_gated": {"model": "abmil", "classes": 3, "gated": True, "in": 12, "embed": 10,
                    "attention_hidden": 6, "classifier_hidden": 5, "train": "adam_batched"},
    "abmil_plain": {"model": "abmil", "classes": 2, "gated": False, "in": 12, "embed": 0,
                    "attention_hidden": 6, "classifier_hidden": 0, "train": "sgd_accumulate"},
    "meanpool": {"model": "meanpool", "classes": 3, "in": 12, "embed": 10,
                 "classifier_hidden": 5, "train": "adam_batched"},
}


def head(m, hidden, out):
    if hidden == 0:
        return nn.Sequential(nn.Linear(m, out))
    return nn.Sequential(nn.Linear(m, hidden), nn.ReLU(), nn.Linear(hidden, out))


def pool(scores, h):
    """scores (N, K), h (N, M) -> raw (K, N), softmax over N, pooled (K, M)."""
    raw = scores.t()
    a = F.softmax(raw, dim=1)
    return raw, a, a @ h


class AMiL(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        if c["spatial"]:
            i = c["in"]
            self.ftr_proc = nn.Sequential(
                nn.Conv2d(i, int(i * 1.5), kernel_size=2), nn.ReLU(),
                nn.Conv2d(int(i * 1.5), i * 2, kernel_size=2), nn.ReLU(),
                nn.AdaptiveMaxPool2d((1, 1)), nn.Flatten(), nn.Linear(i * 2, c["embed"]), nn.ReLU())
        else:
            self.ftr_proc = nn.Sequential(nn.Linear(c["in"], c["embed"]), nn.ReLU())
        L, D, C = c["embed"], c["attention_hidden"], c["classes"]
        self.attention = nn.Sequential(nn.Linear(L, D), nn.Tanh(), nn.Linear(D, 1))
        self.classifier = head(L, c["classifier_hidden"], C)
        self.attention_multi_column = nn.Sequential(nn.Linear(L, D), nn.Tanh(), nn.Linear(D, C))
        self.classifier_multi_column = nn.ModuleList(
            [head(L, c["classifier_hidden"], 1) for _ in range(C)])

    def forward(self, bag):
        h = self.ftr_proc(bag)
        if self.c["multicolumn"]:
            raw, a, z = pool(self.attention_multi_column(h), h)
            logits = torch.cat([self.classifier_multi_column[k](z[k:k + 1])
                                for k in range(self.c["classes"])], dim=1)
        else:
            raw, a, z = pool(self.attention(h), h)
            logits = self.classifier(z)
        return logits, raw, a, z


class ABMIL(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        m = c["embed"] or c["in"]
        if c["embed"]:
            self.feature_extractor = nn.Sequential(nn.Linear(c["in"], c["embed"]), nn.ReLU())
        if c["gated"]:
            self.attention_V = nn.Sequential(nn.Linear(m, c["attention_hidden"]), nn.Tanh())
            self.attention_U = nn.Sequential(nn.Linear(m, c["attention_hidden"]), nn.Sigmoid())
            self.attention_w = nn.Linear(c["attention_hidden"], 1)
        else:
            self.attention = nn.Sequential(nn.Linear(m, c["attention_hidden"]), nn.Tanh(),
                                           nn.Linear(c["attention_hidden"], 1))
        self.classifier = head(m, c["classifier_hidden"], c["classes"])

    def forward(self, bag):
        h = self.feature_extractor(bag) if self.c["embed"] else bag
        if self.c["gated"]:
            scores = self.attention_w(self.attention_V(h) * self.attention_U(h))
        else:
            scores = self.attention(h)
        raw, a, z = pool(scores, h)
        return self.classifier(z), raw, a, z


class MeanPool(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        m = c["embed"] or c["in"]
        if c["embed"]:
            self.feature_extractor = nn.Sequential(nn.Linear(c["in"], c["embed"]), nn.ReLU())
        self.classifier = head(m, c["classifier_hidden"], c["classes"])

    def forward(self, bag):
        h = self.feature_extractor(bag) if self.c["embed"] else bag
        n = h.shape[0]
        a = torch.full((1, n), 1.0 / n)
        z = a @ h
        return self.classifier(z), torch.zeros(1, n), a, z


def make(c):
    return {"amil": AMiL, "abmil": ABMIL, "meanpool": MeanPool}[c["model"]](c)


def random_bag(c, n, g):
    shape = (n, c["in"], c["h"], c["h"]) if c.get("spatial") else (n, c["in"])
    return torch.randn(shape, generator=g)


def batched(out):
    """A single bag's (logits, raw, a, z) in the batched layout (1, C), (1, K, N), (1, K, M)."""
    logits, raw, a, z = out
    return logits, raw.unsqueeze(0), a.unsqueeze(0), z.unsqueeze(0)


def gen_config(name, c, out):
    p = name + "/"
    torch.manual_seed(len(name))
    g = torch.Generator().manual_seed(100 + len(name))
    model = make(c)
    with torch.no_grad():
        for t in model.parameters():
            t.add_(0.05 * torch.randn(t.shape, generator=g))
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for k, v in sd.items():
        out[p + "sd/" + k] = v
    C = c["classes"]

    # one bag
    bag = random_bag(c, 6, g).requires_grad_(True)
    label = torch.tensor([1])
    logits, raw, a, z = batched(model(bag))
    loss = F.cross_entropy(logits, label)
    model.zero_grad()
    loss.backward()
    out.update({p + "bag": bag.detach(), p + "label": label, p + "logits": logits.detach(),
                p + "attention_raw": raw.detach(), p + "attention": a.detach(),
                p + "features": z.detach(), p + "loss": loss.detach(),
                p + "bag.grad": bag.grad})
    for k, t in model.named_parameters():
        if t.grad is not None:  # (the branch AMiL does not use gets none)
            out[p + "grad/" + k] = t.grad.clone()

    # a masked batch: each bag alone, stacked; padding random
    nmax = max(LENGTHS)
    bags = [random_bag(c, n, g) for n in LENGTHS]
    labels = torch.tensor([0, C - 1, 1])
    padded = random_bag(c, nmax * len(LENGTHS), g).reshape(len(LENGTHS), nmax, *bags[0].shape[1:])
    mask = torch.zeros(len(LENGTHS), nmax, dtype=torch.bool)
    for i, b in enumerate(bags):
        padded[i, :len(b)] = b
        mask[i, :len(b)] = True

    def batch_forward():
        outs = [batched(model(b)) for b in bags]
        pad = lambda t: F.pad(t, (0, nmax - t.shape[-1]))
        return (torch.cat([o[0] for o in outs]), torch.cat([pad(o[1]) for o in outs]),
                torch.cat([pad(o[2]) for o in outs]), torch.cat([o[3] for o in outs]))

    logits, raw, a, z = batch_forward()
    loss = F.cross_entropy(logits, labels)
    model.zero_grad()
    loss.backward()
    out.update({p + "batch/bags": padded, p + "batch/mask": mask, p + "batch/labels": labels,
                p + "batch/logits": logits.detach(), p + "batch/attention": a.detach(),
                p + "batch/features": z.detach(), p + "batch/loss": loss.detach()})
    for k, t in model.named_parameters():
        if t.grad is not None:
            out[p + "batch/grad/" + k] = t.grad.clone()

    # 5 optimizer steps from the initial state
    model.load_state_dict(sd)
    losses = []
    if c["train"] == "sgd_accumulate":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
        train_labels = torch.randint(0, C, (10,), generator=g)
        opt.zero_grad()
        for i in range(10):
            b = random_bag(c, 3 + i % 4, g)
            out[p + f"train/bag{i}"] = b
            l = F.cross_entropy(model(b)[0], train_labels[i:i + 1])
            l.backward()
            losses.append(l.item())
            if (i + 1) % 2 == 0:
                opt.step()
                opt.zero_grad()
        out[p + "train/labels"] = train_labels
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        for _ in range(5):
            opt.zero_grad()
            l = F.cross_entropy(batch_forward()[0], labels)
            l.backward()
            opt.step()
            losses.append(l.item())
    out[p + "train/losses"] = torch.tensor(losses)
    for k, v in model.state_dict().items():
        out[p + "after/" + k] = v.detach().clone()
    return list(sd.keys())


def main():
    out, meta = {}, {}
    for name, c in CONFIGS.items():
        meta["keys." + name] = json.dumps(gen_config(name, c, out))
        meta["config." + name] = json.dumps(c)
    meta["configs"] = json.dumps(list(CONFIGS))
    save(sys.argv[1], out, meta)


if __name__ == "__main__":
    main()
