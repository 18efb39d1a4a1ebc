// The CPU column of the dispatch table: one explicit line per kernel.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"

namespace marrow {

void register_cpu_kernels() {
    constexpr DeviceType cpu = DeviceType::cpu;
    register_kernel<CopyKernel>(OpId::copy, cpu, cpu::copy);
    register_kernel<FillKernel>(OpId::fill, cpu, cpu::fill);
    register_kernel<UnaryKernel>(OpId::unary, cpu, cpu::unary);
    register_kernel<UnaryBackwardKernel>(OpId::unary_backward, cpu, cpu::unary_backward);
    register_kernel<BinaryKernel>(OpId::binary, cpu, cpu::binary);
    register_kernel<WhereKernel>(OpId::where, cpu, cpu::where);
    register_kernel<ReduceKernel>(OpId::reduce, cpu, cpu::reduce);
    register_kernel<GemmKernel>(OpId::gemm, cpu, cpu::gemm);
    register_kernel<SoftmaxKernel>(OpId::softmax, cpu, cpu::softmax);
    register_kernel<SoftmaxBackwardKernel>(OpId::softmax_backward, cpu, cpu::softmax_backward);
    register_kernel<CumsumKernel>(OpId::cumsum, cpu, cpu::cumsum);
    register_kernel<IndexSelectKernel>(OpId::index_select, cpu, cpu::index_select);
    register_kernel<IndexAddKernel>(OpId::index_add, cpu, cpu::index_add);
    register_kernel<GatherKernel>(OpId::gather, cpu, cpu::gather);
    register_kernel<ScatterAddKernel>(OpId::scatter_add, cpu, cpu::scatter_add);
    register_kernel<SortKernel>(OpId::sort, cpu, cpu::sort);
    register_kernel<RandomKernel>(OpId::random, cpu, cpu::random);
}

}  // namespace marrow
