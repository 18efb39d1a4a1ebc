// The CUDA column of the dispatch table in a build without a CUDA backend: empty, so every
// CUDA lookup throws "`<op>` has no CUDA implementation" and allocating on a CUDA device says
// the build has no backend for it.
#include "tensor/dispatch.h"

namespace marrow {

void register_cuda_kernels() {}

}  // namespace marrow
