// focus_head: the decision and the loss gradient on the device, so that a call never comes back to the host in
// the middle: margin, focus classes, certain or uncertain, dL/dz (refocus/focus_head.h), for every sample.
//
// A device port of src/focus_head.cpp's math, duplicated on purpose (that file is the CPU step's and stays
// untouched): the same ranking (larger logit first, equal logits by lower index), the same softmax over the
// candidates with the same limits for infinite logits, every method's dL/dz, all in double precision as there.
// Only the summation order differs (a warp's butterfly instead of a loop), far below float rounding.
//
// Layout of the work: a warp per sample. focus_head_forward_kernel1 (one block, the plain logits) also compacts
// the uncertain samples into the slot list that every later kernel of the call walks, in sample order, and
// computes |a|^2 of the first adapted layer's input, constant over the steps (the clipping norm and the implicit
// step need it). focus_head_backward_kernel1 is dL/dz at the steps k >= 1 with each sample's fixed focus classes:
// the first kernel of each later backward pass.
#ifndef REFOCUS_CUDA_FOCUS_HEAD_CUH
#define REFOCUS_CUDA_FOCUS_HEAD_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

// What the focus head knows about the configuration.
struct HeadConfig {
    int32_t n_classes, ld_c;      // C and the row stride of logits and deltas
    int32_t activation;           // of the last layer: dL/dh = dL/dz * act'
    int32_t method, n_focus;
    const int32_t* candidates;    // device copy, or NULL for every class
    int32_t n_candidates;         // |K|
};

struct HeadArgs {
    HeadConfig head;
    const float* logits;          // X(k, L) rows, [max_batch][ld_c]
    const float* pre_logits;      // P(k, L): their pre-activation where act' needs it (needs_pre), else NULL
    float* delta;                 // D(k, L-1) rows: dL/dz * act'
    int32_t* focus;               // [max_batch][n_focus]
    int32_t* flags;               // [max_batch]: CERTAIN, ADAPTED or FELL_BACK
    int32_t* initial;             // [max_batch]: the plain answer
    int32_t* slots;               // the uncertain samples, in order
    int32_t* written;             // SHADOW: [max_batch][n_layers], cleared for each uncertain sample; else NULL
    int32_t n_layers;
    const float* first_in;        // the first adapted layer's input rows, and its width and stride
    int32_t first_in_len, first_in_ld;
    double* first_in_sq;          // |first_in|^2 per sample (0 when its weight does not adapt)
    int32_t first_adapts_weight;
    float* margins;               // mapped host memory: the margin of each sample
    const Call* call;
    Status* status;
};

// ---------------------------------------------------------------------------------------------------
// device functions: focus_head.cpp, a warp at a time

__device__ inline int32_t class_at(const HeadConfig& h, int32_t i) { return h.candidates ? h.candidates[i] : i; }

// Larger logit first, then lower index: the one ranking used everywhere.
__device__ inline bool ranks_before(const float* z, int32_t a, int32_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
}

// The best-ranked candidate that ranks after `prev` (any candidate when prev < 0), on every lane. The ranking is a
// strict total order when no candidate is NaN, so its minimum is one class and the butterfly finds it everywhere.
__device__ inline int32_t warp_next_ranked(const float* z, const HeadConfig& h, int32_t prev) {
    const int32_t lane = threadIdx.x % WARP;
    int32_t best = -1;
    for (int32_t i = lane; i < h.n_candidates; i += WARP) {
        const int32_t c = class_at(h, i);
        if ((prev < 0 || ranks_before(z, prev, c)) && (best < 0 || ranks_before(z, c, best))) best = c;
    }
    for (int32_t m = WARP / 2; m > 0; m /= 2) {
        const int32_t other = __shfl_xor_sync(FULL_MASK, best, m);
        if (other >= 0 && (best < 0 || ranks_before(z, other, best))) best = other;
    }
    return best;
}

__device__ inline bool warp_any_nan(const float* z, const HeadConfig& h) {
    bool nan = false;
    for (int32_t i = threadIdx.x % WARP; i < h.n_candidates; i += WARP) nan |= is_nan(z[class_at(h, i)]);
    return __any_sync(FULL_MASK, nan);
}

__device__ inline bool warp_all_finite(const float* z, const HeadConfig& h) {
    bool finite = true;
    for (int32_t i = threadIdx.x % WARP; i < h.n_candidates; i += WARP) finite &= is_finite(z[class_at(h, i)]);
    return __all_sync(FULL_MASK, finite);
}

// softmax over K kept as its normaliser, with the limits of infinite logits (focus_head.h)
struct Softmax {
    enum Mode { FINITE, POSITIVE_INFINITY, ALL_NEGATIVE_INFINITY };
    int32_t mode;
    double max;  // largest logit of K
    double sum;  // FINITE: sum exp(z - max); otherwise the number of classes sharing the mass

    __device__ bool shares_mass(float zc) const { return mode == ALL_NEGATIVE_INFINITY || (double)zc == max; }
    __device__ double prob(float zc) const {
        if (mode != FINITE) return shares_mass(zc) ? 1.0 / sum : 0.0;
        return exp((double)zc - max) / sum;
    }
    // log p, or -inf where p is 0; log_sum = log(sum)
    __device__ double log_prob(float zc, double log_sum) const {
        if (mode != FINITE) return shares_mass(zc) ? -log_sum : -(double)INFINITY;
        return ((double)zc - max) - log_sum;
    }
};

__device__ inline Softmax warp_softmax(const float* z, const HeadConfig& h) {
    const int32_t lane = threadIdx.x % WARP;
    Softmax sm;
    double max = -(double)INFINITY;
    for (int32_t i = lane; i < h.n_candidates; i += WARP) max = fmax(max, (double)z[class_at(h, i)]);
    sm.max = warp_max(max);
    double sum = 0.0;
    if (sm.max == (double)INFINITY) {
        sm.mode = Softmax::POSITIVE_INFINITY;
        for (int32_t i = lane; i < h.n_candidates; i += WARP) sum += z[class_at(h, i)] == INFINITY ? 1.0 : 0.0;
    } else if (sm.max == -(double)INFINITY) {
        sm.mode = Softmax::ALL_NEGATIVE_INFINITY;
        sum = lane == 0 ? (double)h.n_candidates : 0.0;
    } else {
        sm.mode = Softmax::FINITE;
        for (int32_t i = lane; i < h.n_candidates; i += WARP) sum += exp((double)z[class_at(h, i)] - sm.max);
    }
    sm.sum = warp_sum(sum);
    return sm;
}

__device__ inline bool in_focus(const int32_t* focus, int32_t n_focus, int32_t c) {
    for (int32_t i = 0; i < n_focus; i++) {
        if (focus[i] == c) return true;
    }
    return false;
}

// delta = dL/dz * act'(z) for the sample's fixed focus classes (focus_head.cpp's write_grad): zero outside K,
// the method's gradient inside. The whole warp calls it; focus is the sample's row, already written.
__device__ inline void warp_write_grad(const float* z, const float* pre, const HeadConfig& h, const Softmax& sm,
                                       const int32_t* focus, float* delta) {
    const int32_t lane = threadIdx.x % WARP, n_focus = h.n_focus, k = h.n_candidates;
    for (int32_t c = lane; c < h.n_classes; c += WARP) delta[c] = 0.0f;
    __syncwarp();
    // entropy needs H = -sum p log p first
    double log_sum = 0.0, entropy = 0.0;
    if (h.method == REFOCUS_ENTROPY) {
        log_sum = log(sm.sum);
        double minus_h = 0.0;
        for (int32_t i = lane; i < k; i += WARP) {
            const float zc = z[class_at(h, i)];
            const double p = sm.prob(zc);
            if (p > 0.0) minus_h += p * sm.log_prob(zc, log_sum);
        }
        entropy = -warp_sum(minus_h);
    }
    // IFO and IFO_WEIGHTED touch the focus classes only; the other methods every candidate
    const bool over_focus = h.method == REFOCUS_IFO_WEIGHTED || h.method == REFOCUS_IFO;
    const int32_t n = over_focus ? n_focus : k;
    for (int32_t i = lane; i < n; i += WARP) {
        const int32_t c = over_focus ? focus[i] : class_at(h, i);
        float dz = 0.0f;
        switch (h.method) {
            case REFOCUS_IFO_WEIGHTED: dz = (float)-sm.prob(z[c]); break;
            case REFOCUS_IFO: dz = (float)(-1.0 / n_focus); break;
            case REFOCUS_DOFO:
                if (!in_focus(focus, n_focus, c)) dz = (float)(1.0 / (k - n_focus));
                break;
            case REFOCUS_CROSS_ENTROPY:
                dz = (float)(sm.prob(z[c]) - (in_focus(focus, n_focus, c) ? 1.0 / n_focus : 0.0));
                break;
            case REFOCUS_ENTROPY: {
                const double p = sm.prob(z[c]);
                dz = p > 0.0 ? (float)(-p * (sm.log_prob(z[c], log_sum) + entropy)) : 0.0f;
                break;
            }
        }
        delta[c] = times_derivative(dz, z[c], pre != nullptr ? pre[c] : 0.0f, h.activation);
    }
}

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// One block of HEAD_THREADS: a warp per sample, then the slot list. The plain logits of samples 0 .. n-1.
__global__ void __launch_bounds__(HEAD_THREADS) focus_head_forward_kernel1(const HeadArgs a) {
    __shared__ int32_t nan_seen;
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP, warps = blockDim.x / WARP;
    const int32_t n = a.call->n, n_focus = a.head.n_focus, ld_c = a.head.ld_c;
    if (threadIdx.x == 0) nan_seen = 0;
    __syncthreads();

    for (int32_t s = warp; s < n; s += warps) {
        const float* z = a.logits + (size_t)s * ld_c;
        int32_t* focus = a.focus + (size_t)s * n_focus;
        if (warp_any_nan(z, a.head)) {  // the call fails; this sample does nothing more
            if (lane == 0) {
                a.flags[s] = CERTAIN;
                nan_seen = 1;
            }
            continue;
        }
        int32_t prev = -1;
        for (int32_t r = 0; r < n_focus; r++) {
            prev = warp_next_ranked(z, a.head, prev);
            if (lane == 0) focus[r] = prev;
        }
        __syncwarp();
        const Softmax sm = warp_softmax(z, a.head);
        const double gap = sm.prob(z[focus[0]]) - sm.prob(z[focus[1]]);
        const bool uncertain = gap < (double)a.call->threshold;
        if (lane == 0) {
            a.margins[s] = (float)gap;
            a.flags[s] = uncertain ? ADAPTED : CERTAIN;
            a.initial[s] = focus[0];
        }
        if (!uncertain) continue;
        const float* pre = a.pre_logits != nullptr ? a.pre_logits + (size_t)s * ld_c : nullptr;
        warp_write_grad(z, pre, a.head, sm, focus, a.delta + (size_t)s * ld_c);
        double sq = 0.0;
        if (a.first_adapts_weight) {
            const float* x = a.first_in + (size_t)s * a.first_in_ld;
            for (int32_t i = lane; i < a.first_in_len; i += WARP) sq += (double)x[i] * x[i];
        }
        sq = warp_sum(sq);
        if (lane == 0) a.first_in_sq[s] = sq;
        if (a.written != nullptr) {
            for (int32_t l = lane; l < a.n_layers; l += WARP) a.written[(size_t)s * a.n_layers + l] = 0;
        }
    }
    __syncthreads();

    // the slot list: the uncertain samples in sample order, by warp 0
    if (warp != 0) return;
    int32_t m = 0;
    for (int32_t base = 0; base < n; base += WARP) {
        const int32_t s = base + lane;
        const bool uncertain = s < n && a.flags[s] == ADAPTED;
        const unsigned ballot = __ballot_sync(FULL_MASK, uncertain);
        if (uncertain) a.slots[m + __popc(ballot & ((1u << lane) - 1u))] = s;
        m += __popc(ballot);
    }
    if (lane == 0) {
        a.status->n_uncertain = nan_seen ? 0 : m;
        a.status->nan = nan_seen;
    }
}

// dL/dz at step k >= 1: a warp per uncertain sample, its focus fixed. A NaN candidate logit does not fail the
// call: the sample falls back to its plain answer (answers_forward_kernel1), and its delta is 0 from here on.
// grid: ceil(max_batch / WARPS) blocks of THREADS.
__global__ void __launch_bounds__(THREADS) focus_head_backward_kernel1(const HeadArgs a) {
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    const int32_t j = blockIdx.x * WARPS + warp;
    if (j >= a.status->n_uncertain) return;  // whole warps
    const int32_t s = a.slots[j], ld_c = a.head.ld_c;
    const float* z = a.logits + (size_t)s * ld_c;
    float* delta = a.delta + (size_t)s * ld_c;
    if (warp_any_nan(z, a.head)) {
        for (int32_t c = lane; c < a.head.n_classes; c += WARP) delta[c] = 0.0f;
        if (lane == 0) a.flags[s] = FELL_BACK;
        return;
    }
    const Softmax sm = warp_softmax(z, a.head);
    const float* pre = a.pre_logits != nullptr ? a.pre_logits + (size_t)s * ld_c : nullptr;
    warp_write_grad(z, pre, a.head, sm, a.focus + (size_t)s * a.head.n_focus, delta);
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t focus_head_forward(const HeadArgs& args, cudaStream_t stream) {
    focus_head_forward_kernel1<<<1, HEAD_THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

inline int32_t focus_head_backward(const HeadArgs& args, int32_t max_batch, cudaStream_t stream) {
    focus_head_backward_kernel1<<<ceil_div(max_batch, WARPS), THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_FOCUS_HEAD_CUH
