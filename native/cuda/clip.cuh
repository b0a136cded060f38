// fused_clip_step: everything a step does per sample between its backward pass and the next forward pass, in one
// launch: the global gradient norm, the clipping factor, u = s * delta, and then
//   - IMPLICIT: the step itself. Only the first adapted layer's cached pre-activation moves, by -eta u (|a|^2 + 1)
//     (its input a never changes), and its new output, the input of the layer above, is written here; with it in
//     hand, so are that layer's a_tau . x for its next forward pass (rank1.cuh's job for the layers above).
//   - SHADOW: which tensors the step changes (the non-zero u), for sgd_shadow_kernel1.
//
// Why the norm needs no gradient matrix: |dW|^2 + |db|^2 = |delta|^2 (|a|^2 + 1) per layer (|delta|^2 when only
// biases adapt), clip_grad_norm_'s factor is min(1, c / (norm + 1e-6)), as dense.cpp's clip() and PyTorch. The
// whole sample's vectors are small: a block per sample reads them once, sums in double in a fixed order.
#ifndef REFOCUS_CUDA_CLIP_CUH
#define REFOCUS_CUDA_CLIP_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

struct ClipArgs {
    const Layer* layers;         // device table of the n_layers layers
    int32_t n_layers, first, k, steps, implicit;
    float clip_norm;             // 0: no clipping
    float* const* u_rows;        // device table [steps * n_layers]: U(k, l) for l >= first
    float* const* x_rows;        // device table [(steps + 1) * (n_layers + 1)]: X(k, l), the input of layer l
    const double* first_in_sq;   // |X(first)|^2 per sample (0 when its weight does not adapt)
    float* h_first;              // IMPLICIT: the first adapted layer's pre-activation rows
    float* pre_next;             // IMPLICIT: P(k + 1, first + 1), h_first kept for act' (needs_pre), or NULL
    float* ax_next;              // IMPLICIT: [max_batch][steps] a_tau . x of layer first + 1, or NULL
    int32_t* written;            // SHADOW: [max_batch][n_layers], else NULL (with the two below)
    int32_t* src_written;        //   written before this step: where sgd_shadow_kernel1 reads theta^(k)
    int32_t* step_nonzero;       //   whether this step changes the layer
    const Call* call;
    const Status* status;
    const int32_t* slots;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// A block of THREADS per uncertain sample. grid: max_batch blocks.
__global__ void __launch_bounds__(THREADS) fused_clip_step_kernel1(const ClipArgs a) {
    __shared__ double scratch[WARPS];
    const int32_t j = blockIdx.x;
    if (j >= a.status->n_uncertain) return;  // the whole block
    const int32_t s = a.slots[j], f = a.first, n_layers = a.n_layers, k = a.k, tid = threadIdx.x;

    float scale = 1.0f;
    if (a.clip_norm != 0.0f) {
        double squares = 0.0;
        for (int32_t l = f; l < n_layers; l++) {
            const Layer& layer = a.layers[l];
            const float* u = a.u_rows[(size_t)k * n_layers + l] + (size_t)s * layer.ld_out;
            double partial = 0.0;
            for (int32_t o = tid; o < layer.out; o += blockDim.x) partial += (double)u[o] * u[o];
            const double delta_sq = block_sum(partial, scratch);
            double a_sq = 0.0;
            if (layer.adapts_weight && l == f) {
                a_sq = a.first_in_sq[s];
            } else if (layer.adapts_weight) {
                const float* x = a.x_rows[(size_t)k * (n_layers + 1) + l] + (size_t)s * layer.ld_in;
                partial = 0.0;
                for (int32_t i = tid; i < layer.in; i += blockDim.x) partial += (double)x[i] * x[i];
                a_sq = block_sum(partial, scratch);
            }
            squares += delta_sq * (a_sq + 1.0);
        }
        const double q = a.clip_norm / (sqrt(squares) + 1e-6);
        scale = q >= 1.0 ? 1.0f : (float)q;  // NaN stays NaN, as dense.cpp
    }

    for (int32_t l = f; l < n_layers; l++) {
        const Layer& layer = a.layers[l];
        float* u = a.u_rows[(size_t)k * n_layers + l] + (size_t)s * layer.ld_out;
        bool nonzero = false;
        for (int32_t o = tid; o < layer.out; o += blockDim.x) {
            if (scale != 1.0f) u[o] *= scale;
            nonzero |= u[o] != 0.0f;
        }
        if (a.step_nonzero != nullptr) {
            const int32_t changes = __syncthreads_or(nonzero);
            if (tid == 0) {
                const size_t at = (size_t)s * n_layers + l;
                a.src_written[at] = a.written[at];
                a.written[at] = a.written[at] | changes;
                a.step_nonzero[at] = changes;
            }
        }
    }
    if (!a.implicit) return;

    // theta^(k+1) for the first adapted layer: h -= eta (|a|^2 + 1) u, then its output; each thread its own units
    const Layer& first = a.layers[f];
    const double a_sq = first.adapts_weight ? a.first_in_sq[s] : 0.0;
    const float c = (float)(a.call->eta * (a_sq + 1.0));
    const float* u = a.u_rows[(size_t)k * n_layers + f] + (size_t)s * first.ld_out;
    float* h = a.h_first + (size_t)s * first.ld_out;
    float* x_next = a.x_rows[(size_t)(k + 1) * (n_layers + 1) + f + 1] + (size_t)s * first.ld_out;
    for (int32_t o = tid; o < first.out; o += blockDim.x) {
        h[o] -= c * u[o];
        x_next[o] = activate(h[o], first.activation);
        if (a.pre_next != nullptr) a.pre_next[(size_t)s * first.ld_out + o] = h[o];
    }
    if (a.ax_next == nullptr) return;
    for (int32_t tau = 0; tau <= k; tau++) {
        const float* x_tau = a.x_rows[(size_t)tau * (n_layers + 1) + f + 1] + (size_t)s * first.ld_out;
        double partial = 0.0;
        for (int32_t o = tid; o < first.out; o += blockDim.x) partial += (double)x_tau[o] * x_next[o];
        const double dot = block_sum(partial, scratch);
        if (tid == 0) a.ax_next[(size_t)s * a.steps + tau] = (float)dot;
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t fused_clip_step(const ClipArgs& args, int32_t max_batch, cudaStream_t stream) {
    fused_clip_step_kernel1<<<max_batch, THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_CLIP_CUH
