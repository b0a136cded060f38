// rank1: the dot products of IMPLICIT mode's rank-one terms (DESIGN.md section 2). After the steps tau < k, layer l
// computes W^(k) x + b^(k) = W x + b - eta sum_tau u_tau (a_tau . x + 1) and W^(k)^T d = W^T d - eta sum_tau
// a_tau (u_tau . d): each term needs one scalar per sample and step, a_tau . x before the forward pass of the
// layer and u_tau . d before its backward pass. This kernel computes them for every uncertain sample, so that the
// matrix kernels read each scalar instead of each block recomputing it.
//
// (The layer just above the first adapted one gets its a_tau . x from fused_clip_step_kernel1, which has the new
// input in hand; so at T = 1 this kernel runs once per layer above that one, and never for a two-layer network.)
#ifndef REFOCUS_CUDA_RANK1_CUH
#define REFOCUS_CUDA_RANK1_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

struct DotsArgs {
    const float* a;          // a_tau rows at a + tau * a_step, [max_batch][ld]
    size_t a_step;
    const float* b;          // the other vector's rows, [max_batch][ld]
    int32_t ld;              // row stride; rows are zero past their length
    float* out;              // out[s * steps + tau] = a_tau . b, tau < k
    int32_t steps, k;
    const Status* status;
    const int32_t* slots;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// A warp per (uncertain sample, tau). grid: ceil(max_batch * k / WARPS) blocks of THREADS.
__global__ void __launch_bounds__(THREADS) rank1_dots_kernel1(const DotsArgs a) {
    const int32_t pair = blockIdx.x * WARPS + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    const int32_t j = pair / a.k, tau = pair % a.k;
    if (j >= a.status->n_uncertain) return;  // whole warps
    const int32_t s = a.slots[j];
    const float4* u = reinterpret_cast<const float4*>(a.a + tau * a.a_step + (size_t)s * a.ld);
    const float4* v = reinterpret_cast<const float4*>(a.b + (size_t)s * a.ld);
    float acc = 0.0f;
    for (int32_t c = lane; c < a.ld / VEC; c += WARP) acc = dot4(u[c], v[c], acc);
    acc = warp_sum(acc);
    if (lane == 0) a.out[(size_t)s * a.steps + tau] = acc;
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t rank1_dots(const DotsArgs& args, int32_t max_batch, cudaStream_t stream) {
    rank1_dots_kernel1<<<ceil_div((int64_t)max_batch * args.k, WARPS), THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_RANK1_CUH
