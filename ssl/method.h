// The self-supervised methods marrow trains (issue 15), by name. Each method's math lives in
// its own files (heads.h, the losses in autograd/ops.h, the trainer); this is only the name
// table the apps, presets and run records share.
#pragma once
#include <string>
#include <string_view>

namespace marrow::ssl {

// simclr: NT-Xent over two views (Chen et al. 2020); swav: swapped prediction of Sinkhorn
// codes (Caron et al. 2020); dino: self-distillation with a centred EMA teacher (Caron et al.
// 2021); dinov2: DINO + iBOT masked patches + KoLeo (Oquab et al. 2023; DinoBloom's recipe).
enum class Method { simclr, swav, dino, dinov2 };

// "simclr" | "swav" | "dino" | "dinov2"; anything else is an error listing the four.
Method parse_method(std::string_view name);
std::string method_name(Method method);

}  // namespace marrow::ssl
