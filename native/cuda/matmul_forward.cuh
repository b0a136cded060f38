// matmul_forward: y = act(W x + b) for a batch; the plain pass and every adapted pass are this one kernel.
//
// Why one kernel: in IMPLICIT mode the adapted layer is the plain one plus rank-one terms (DESIGN.md section 2),
//     W' x + b' = W x + b - eta sum_{tau<k} u_tau (a_tau . x + 1),
// where u_tau is the clipped delta of step tau and a_tau . x comes precomputed (rank1.cuh, or fused_clip_step for
// the layer above the first adapted one); in SHADOW mode a sample reads its own slice of theta' once a step wrote
// it. So the weights a sample reads and the terms it subtracts are the only differences.
//
// Layout of the work: a warp per output row, lanes over the row in float4 chunks, TILE samples carried in
// registers through one pass over the row: the row comes from memory once and the other samples of the batch
// find it in L1, so W is read once per pass for the whole batch. The adapted passes visit only the uncertain
// samples (the slot list of focus_head_forward_kernel1); a pass with none returns at once, so a certain call
// costs the adapted path a launch each and nothing else. Each sample's dot product is summed in one order
// (lane-strided chunks, then a butterfly) whatever its place in the batch: alone or in a batch, the same bits.
#ifndef REFOCUS_CUDA_MATMUL_FORWARD_CUH
#define REFOCUS_CUDA_MATMUL_FORWARD_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

struct ForwardArgs {
    Layer layer;
    const float* x;          // inputs, [max_batch][ld_in], row = sample
    float* y;                // outputs act(h), [max_batch][ld_out]
    float* pre;              // h itself too (the plain pass of the first adapted layer), or NULL
    float* kept_pre;         // h once more, into P(k, l + 1) where act' needs h (needs_pre), or NULL
    int32_t adapted;         // 0: samples 0 .. n-1 with the shared weights; 1: the uncertain samples only
    // IMPLICIT terms, k >= 1: u_tau rows at u + tau * u_step, a_tau . x at ax[s * steps + tau]
    int32_t k, steps;
    const float* u;
    size_t u_step;
    const float* ax;
    // SHADOW: a sample reads its slice of the layer where written[s * n_layers + l] (NULL: never)
    const int32_t* written;
    int32_t n_layers;
    const Call* call;
    const Status* status;
    const int32_t* slots;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// grid: ceil(out / WARPS) blocks of THREADS; warp w of block b computes row b * WARPS + w.
__global__ void __launch_bounds__(THREADS) matmul_forward_kernel1(const ForwardArgs a) {
    const int32_t count = a.adapted ? a.status->n_uncertain : a.call->n;
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    const int32_t o = blockIdx.x * WARPS + warp;
    if (count == 0 || o >= a.layer.out) return;  // whole warps: no block-wide barrier follows
    const int32_t chunks = a.layer.ld_in / VEC, ld_in = a.layer.ld_in, ld_out = a.layer.ld_out;

    for (int32_t t0 = 0; t0 < count; t0 += TILE) {
        const float4* w[TILE];
        const float4* x[TILE];
        float acc[TILE];
#pragma unroll
        for (int32_t t = 0; t < TILE; t++) {
            const int32_t j = min(t0 + t, count - 1);  // past the last sample: a valid address, result dropped
            const int32_t s = a.adapted ? a.slots[j] : j;
            w[t] = reinterpret_cast<const float4*>(weight_of(a.layer, a.written, a.n_layers, s) + (size_t)o * ld_in);
            x[t] = reinterpret_cast<const float4*>(a.x + (size_t)s * ld_in);
            acc[t] = 0.0f;
        }
        for (int32_t c = lane; c < chunks; c += WARP) {
#pragma unroll
            for (int32_t t = 0; t < TILE; t++) {
                if (t0 + t < count) acc[t] = dot4(w[t][c], x[t][c], acc[t]);
            }
        }
#pragma unroll
        for (int32_t t = 0; t < TILE; t++) acc[t] = warp_sum(acc[t]);

        if (lane == 0) {
#pragma unroll
            for (int32_t t = 0; t < TILE; t++) {
                if (t0 + t >= count) break;
                const int32_t s = a.adapted ? a.slots[t0 + t] : t0 + t;
                float h = acc[t] + bias_of(a.layer, a.written, a.n_layers, s)[o];
                for (int32_t tau = 0; tau < a.k; tau++) {
                    const float ax = a.layer.adapts_weight ? a.ax[(size_t)s * a.steps + tau] : 0.0f;
                    h -= (a.call->eta * (ax + 1.0f)) * a.u[tau * a.u_step + (size_t)s * ld_out + o];
                }
                if (a.pre != nullptr) a.pre[(size_t)s * ld_out + o] = h;
                if (a.kept_pre != nullptr) a.kept_pre[(size_t)s * ld_out + o] = h;
                a.y[(size_t)s * ld_out + o] = activate(h, a.layer.activation);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t matmul_forward(const ForwardArgs& args, cudaStream_t stream) {
    matmul_forward_kernel1<<<ceil_div(args.layer.out, WARPS), THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_MATMUL_FORWARD_CUH
