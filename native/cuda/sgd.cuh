// sgd_shadow: SHADOW mode's step, theta^(k+1) = theta^(k) - eta u a^T, written out of place into the sample's own
// slice of the context's shadow buffer (dense.cpp's sgd_to_shadow and sgd_rank1, one sample per slice).
//
// Why a slice per sample: the uncertain samples of a batch adapt in parallel, each with its own theta', as IMPLICIT
// mode's do; the CPU step runs them one at a time through one shadow instead. So a context's shadow holds
// max_batch copies of the adapted tensors (IMPLICIT needs none: it is the mode to use). Only tensors whose gradient
// is non-zero are written (fused_clip_step_kernel1 says which); a row whose eta * u[o] is 0 is copied (or left
// alone in place), as sgd_rank1 does. Later passes read a sample's slice once it is written (Layer, weight_of()).
#ifndef REFOCUS_CUDA_SGD_CUH
#define REFOCUS_CUDA_SGD_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

struct SgdArgs {
    Layer layer;
    const float* u;              // U(k, l) rows, [max_batch][ld_out]
    const float* a;              // X(k, l), the layer's input at step k, [max_batch][ld_in]
    const int32_t* src_written;  // [max_batch][n_layers]: theta^(k) is the sample's slice (else the shared tensor)
    const int32_t* step_nonzero; // [max_batch][n_layers]: the step changes the layer
    int32_t n_layers;
    const Call* call;
    const Status* status;
    const int32_t* slots;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// A warp per row, blocks in y over the uncertain samples. grid: (ceil(out / WARPS), min(max_batch, 65535)).
__global__ void __launch_bounds__(THREADS) sgd_shadow_kernel1(const SgdArgs a) {
    const int32_t lane = threadIdx.x % WARP, o = blockIdx.x * WARPS + threadIdx.x / WARP;
    if (o >= a.layer.out) return;  // whole warps
    const float eta = a.call->eta;
    const int32_t ld_in = a.layer.ld_in;
    for (int32_t j = blockIdx.y; j < a.status->n_uncertain; j += gridDim.y) {
        const int32_t s = a.slots[j];
        const size_t at = (size_t)s * a.n_layers + a.layer.index;
        if (!a.step_nonzero[at]) continue;
        const bool own = a.src_written[at] != 0;
        const float u = a.u[(size_t)s * a.layer.ld_out + o];
        float* b_to = a.layer.shadow_b + (size_t)s * a.layer.shadow_b_stride;
        const float* b_from = own ? b_to : a.layer.b;
        if (lane == 0) b_to[o] = b_from[o] - eta * u;
        if (!a.layer.adapts_weight) continue;
        float* to = a.layer.shadow_w + (size_t)s * a.layer.shadow_w_stride + (size_t)o * ld_in;
        const float* from = own ? to : a.layer.w + (size_t)o * ld_in;
        const float* x = a.a + (size_t)s * ld_in;
        const float c = eta * u;
        if (c == 0.0f) {
            if (from != to) {
                for (int32_t i = lane; i < a.layer.in; i += WARP) to[i] = from[i];
            }
            continue;
        }
        for (int32_t i = lane; i < a.layer.in; i += WARP) to[i] = from[i] - c * x[i];
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t sgd_shadow(const SgdArgs& args, int32_t max_batch, cudaStream_t stream) {
    const dim3 grid(ceil_div(args.layer.out, WARPS), max_batch < 65535 ? max_batch : 65535);
    sgd_shadow_kernel1<<<grid, THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_SGD_CUH
