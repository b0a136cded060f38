// matmul_backward: the delta of layer l-1 from layer l's, delta_{l-1} = (W'^T delta_l) * act'_{l-1}, for the
// uncertain samples of a call. The backward pass never reaches the first adapted layer's input: dense.cpp's rule,
// so this runs for layers above the first adapted one only.
//
// Why rows are skipped: W'^T d = sum_o d[o] W'[o, :] needs only the rows whose d[o] is non-zero, and the focus
// head makes dL/dz sparse (|F| non-zero entries for IFO and IFO_WEIGHTED) while ReLU zeroes about half of every
// other delta. A row is read when some sample of the tile needs it, and only then.
// IMPLICIT mode adds the rank-one terms of the earlier steps (DESIGN.md section 2),
//     W^(k)^T d = W^T d - eta sum_{tau<k} a_tau (u_tau . d),
// with u_tau . d precomputed by rank1.cuh; SHADOW mode reads each sample's slice once a step wrote it.
//
// Layout of the work: a block per 32 columns of W (a lane per column, so a warp reads 128 contiguous bytes of a
// row), its 8 warps over interleaved rows, TILE samples in registers; the warps' partial sums are then added in
// warp order, one warp per sample. Each column's sum has one order whatever the batch: alone or in a batch, the
// same bits.
#ifndef REFOCUS_CUDA_MATMUL_BACKWARD_CUH
#define REFOCUS_CUDA_MATMUL_BACKWARD_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

struct BackwardArgs {
    Layer layer;             // layer l
    const float* d;          // delta_l rows (D(k, l)), [max_batch][ld_out]
    float* g;                // delta_{l-1} rows (D(k, l-1)), [max_batch][ld_in]
    const float* a;          // X(k, l): the input of layer l at step k, the output of layer l-1: for act'_{l-1}
    const float* pre;        // P(k, l): the pre-activation of those rows where act'_{l-1} needs it, else NULL
    int32_t activation;      // act_{l-1}
    // IMPLICIT terms when layer l adapts its weight, k >= 1: a_tau = X(tau, l) rows at a_tau + tau * a_step,
    // u_tau . d at ud[s * steps + tau]
    int32_t k, steps;
    const float* a_tau;
    size_t a_step;
    const float* ud;
    const int32_t* written;  // SHADOW, as ForwardArgs
    int32_t n_layers;
    const Call* call;
    const Status* status;
    const int32_t* slots;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// grid: ceil(in / WARP) blocks of THREADS (TILE <= WARPS warps finish the tile's samples).
__global__ void __launch_bounds__(THREADS) matmul_backward_kernel1(const BackwardArgs a) {
    static_assert(TILE <= WARPS, "a warp per sample of the tile adds the partial sums");
    __shared__ float part[TILE][WARPS][WARP];
    const int32_t count = a.status->n_uncertain;
    if (count == 0) return;  // the whole block
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    const int32_t col = blockIdx.x * WARP + lane;
    const bool inside = col < a.layer.in;
    const int32_t ld_in = a.layer.ld_in, ld_out = a.layer.ld_out, out = a.layer.out;

    for (int32_t t0 = 0; t0 < count; t0 += TILE) {
        const float* w[TILE];
        const float* d[TILE];
        float acc[TILE];
#pragma unroll
        for (int32_t t = 0; t < TILE; t++) {
            const int32_t s = a.slots[min(t0 + t, count - 1)];
            w[t] = weight_of(a.layer, a.written, a.n_layers, s) + (inside ? col : 0);
            d[t] = a.d + (size_t)s * ld_out;
            acc[t] = 0.0f;
        }
        for (int32_t o = warp; o < out; o += WARPS) {
#pragma unroll
            for (int32_t t = 0; t < TILE; t++) {
                if (t0 + t >= count) break;
                const float dv = d[t][o];  // the same on every lane: the branch never splits the warp
                if (dv != 0.0f) acc[t] = fmaf(inside ? w[t][(size_t)o * ld_in] : 0.0f, dv, acc[t]);
            }
        }
#pragma unroll
        for (int32_t t = 0; t < TILE; t++) part[t][warp][lane] = acc[t];
        __syncthreads();

        const int32_t t = warp;  // warp t finishes sample t of the tile
        if (t < TILE && t0 + t < count && inside) {
            const int32_t s = a.slots[t0 + t];
            float g = 0.0f;
            for (int32_t v = 0; v < WARPS; v++) g += part[t][v][lane];
            for (int32_t tau = 0; tau < a.k; tau++) {
                const float c = a.call->eta * a.ud[(size_t)s * a.steps + tau];
                g -= c * a.a_tau[tau * a.a_step + (size_t)s * ld_in + col];
            }
            const size_t at = (size_t)s * ld_in + col;
            a.g[at] = times_derivative(g, a.a[at], a.pre != nullptr ? a.pre[at] : 0.0f, a.activation);
        }
        __syncthreads();  // part is reused by the next tile
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t matmul_backward(const BackwardArgs& args, cudaStream_t stream) {
    matmul_backward_kernel1<<<ceil_div(args.layer.in, WARP), THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_MATMUL_BACKWARD_CUH
