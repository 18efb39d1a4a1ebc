"""PyTorch twins of the sinkhorn and crop_cross_entropy registry cases (tests/ops/cases/
sinkhorn.cpp, crop_cross_entropy.cpp), used by gen_ops.py for the golden fixture and by the
benchmark peer. They transcribe upstream:
  distributed_sinkhorn   facebookresearch/swav main_swav.py, at world size 1 (the all_reduce
                         calls are identities), plain exp as upstream
  DINOLoss.forward       facebookresearch/dino main_dino.py (loop over teacher/student pairs,
                         then update_center)
  forward_masked         facebookresearch/dinov2 dinov2/loss/ibot_patch_loss.py
"""
import torch
import torch.nn.functional as F


def distributed_sinkhorn(out, epsilon, sinkhorn_iterations, world_size=1):
    Q = torch.exp(out / epsilon).t()  # K x B
    B = Q.shape[1] * world_size
    K = Q.shape[0]
    sum_Q = torch.sum(Q)
    Q /= sum_Q
    for it in range(sinkhorn_iterations):
        sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
        Q /= sum_of_rows
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


def dino_loss(student_output, teacher_output, center, ncrops, student_temp=0.1, temp=0.04,
              center_momentum=0.9):
    """DINOLoss.forward: returns the loss and the updated center."""
    student_out = student_output / student_temp
    student_out = student_out.chunk(ncrops)
    teacher_out = F.softmax((teacher_output - center) / temp, dim=-1)
    teacher_out = teacher_out.detach().chunk(2)
    total_loss = 0
    n_loss_terms = 0
    for iq, q in enumerate(teacher_out):
        for v in range(len(student_out)):
            if v == iq:
                continue
            loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
            total_loss += loss.mean()
            n_loss_terms += 1
    total_loss /= n_loss_terms
    # update_center (dist.all_reduce at world size 1 is the identity)
    with torch.no_grad():
        batch_center = torch.sum(teacher_output, dim=0, keepdim=True)
        batch_center = batch_center / len(teacher_output)
        new_center = center * center_momentum + batch_center * (1 - center_momentum)
    return total_loss, new_center


def dino_loss_case(teacher, student, center):
    ncrops = student.shape[0] // (teacher.shape[0] // 2)
    loss, new_center = dino_loss(student, teacher, center, ncrops)
    return torch.cat([loss.reshape(1), new_center.reshape(-1)])


def crops(targets, logits, tau):
    """cross_entropy_crops as DINOLoss's loop on stacked crops (and its composed twin)."""
    total, n = 0, 0
    for j in range(targets.shape[0]):
        for v in range(logits.shape[0]):
            if v == j:
                continue
            total = total + torch.sum(-targets[j] * F.log_softmax(logits[v] / tau, dim=-1), dim=-1).mean()
            n += 1
    return total / n


def ibot_forward_masked(student_patch_tokens_masked, teacher_patch_tokens_masked, student_masks_flat,
                        student_temp=0.1, n_masked_patches=None, masks_weight=None):
    t = teacher_patch_tokens_masked
    s = student_patch_tokens_masked
    loss = torch.sum(t * F.log_softmax(s / student_temp, dim=-1), dim=-1)
    if masks_weight is None:
        masks_weight = (
            (1 / student_masks_flat.sum(-1).clamp(min=1.0))
            .unsqueeze(-1)
            .expand_as(student_masks_flat)[student_masks_flat]
        )
    if n_masked_patches is not None:
        loss = loss[:n_masked_patches]
    loss = loss * masks_weight
    return -loss.sum() / student_masks_flat.shape[0]


def ibot_case(targets, logits):
    masks = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.bool)
    # masks_weight as DINOv2's collate computes it, in the inputs' dtype (the default path's
    # int -> float32 promotion would round 1/3 in the float64 golden)
    weight = (1 / masks.sum(-1).clamp(min=1).to(logits.dtype)).unsqueeze(-1).expand_as(masks)[masks]
    return ibot_forward_masked(logits, targets, masks, masks_weight=weight)


def soft_ce(targets, logits, weights, tau):
    return torch.sum(weights * torch.sum(-targets * F.log_softmax(logits / tau, dim=-1), dim=-1))


def crops_cases():
    return {
        "sinkhorn_knopp": lambda x: distributed_sinkhorn(x, 0.05, 3),
        "sinkhorn_knopp_swav": lambda x: distributed_sinkhorn(x, 0.05, 3),
        "sinkhorn_knopp_eps1_iters1": lambda x: distributed_sinkhorn(x, 1.0, 1),
        "sinkhorn_knopp_teacher": lambda x: distributed_sinkhorn(x, 0.07, 3),
        "cross_entropy_crops": lambda t, s: crops(t, s, 0.1),
        "cross_entropy_crops_composed": lambda t, s: crops(t, s, 0.1),
        "cross_entropy_crops_t1": lambda t, s: crops(t, s, 0.5),
        "cross_entropy_crops_t1_composed": lambda t, s: crops(t, s, 0.5),
        "cross_entropy_crops_t3": lambda t, s: crops(t, s, 1.0),
        "cross_entropy_crops_t3_composed": lambda t, s: crops(t, s, 1.0),
        "dino_loss": dino_loss_case,
        "soft_cross_entropy": lambda t, s, w: soft_ce(t / t.sum(-1, keepdim=True), s, w, 0.1),
        "soft_cross_entropy_composed": lambda t, s, w: soft_ce(t / t.sum(-1, keepdim=True), s, w, 0.1),
        "ibot_patch_loss": ibot_case,
    }
