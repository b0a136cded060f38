// What every kernel file shares: error checking that returns instead of exiting, the launch shapes, warp and
// block reductions with a fixed summation order, and the device-side view of a layer and of a call.
//
// Why return codes: the library lives inside a JVM, so a failed CUDA call must become REFOCUS_ERROR_CUDA with a
// readable reason (refocus_cuda_last_error()), never exit() or a print. cudaCheck() records the reason in a
// thread-local buffer and returns the code from the enclosing function; every launcher ends with
// cudaCheck(cudaGetLastError()).
//
// Why fixed orders: a sample must get the same bits alone or in a batch (dense.h's promise, kept on the GPU too), so
// no float is ever summed with atomics; every reduction is a butterfly over a warp, then warps in index order.
#ifndef REFOCUS_CUDA_COMMON_CUH
#define REFOCUS_CUDA_COMMON_CUH

#include "refocus/common.h"

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace refocus_gpu {

// ---------------------------------------------------------------------------------------------------
// errors

inline thread_local char last_error[384] = "no error";

// Records why a CUDA call failed (the runtime's message, then the call's place) and clears the runtime's
// non-sticky error state; returns REFOCUS_ERROR_CUDA.
inline int32_t fail(cudaError_t err, const char* file, int line) {
    const char* base = std::strrchr(file, '/');
    std::snprintf(last_error, sizeof last_error, "%s (%s, %s:%d)", cudaGetErrorString(err), cudaGetErrorName(err),
                  base != nullptr ? base + 1 : file, line);
    (void)cudaGetLastError();
    return REFOCUS_ERROR_CUDA;
}

}  // namespace refocus_gpu

#define cudaCheck(err)                                                                 \
    do {                                                                               \
        const cudaError_t err_ = (err);                                                \
        if (err_ != cudaSuccess) return ::refocus_gpu::fail(err_, __FILE__, __LINE__); \
    } while (0)

namespace refocus_gpu {

// ---------------------------------------------------------------------------------------------------
// launch shapes

constexpr int32_t WARP = 32;
constexpr int32_t WARPS = 8;                 // warps of an ordinary block
constexpr int32_t THREADS = WARP * WARPS;    // threads of an ordinary block
constexpr int32_t HEAD_THREADS = 1024;       // the one-block kernels: a warp per sample, 32 samples at a time
constexpr int32_t TILE = 4;                  // samples a warp carries in registers through one pass over a row
constexpr int32_t VEC = 4;                   // floats per 16-byte load: every row is padded to a multiple of it
constexpr unsigned FULL_MASK = 0xffffffffu;
static_assert(THREADS == 256 && THREADS % WARP == 0, "blocks are whole warps");
static_assert(HEAD_THREADS % WARP == 0 && HEAD_THREADS <= 1024, "a one-block kernel is whole warps");
static_assert(VEC * sizeof(float) == sizeof(float4), "a row chunk is one float4");

inline int32_t ceil_div(int64_t a, int64_t b) { return (int32_t)((a + b - 1) / b); }

// The stride of a row of `n` floats: padded to whole float4s, the padding zero forever (the workspace is cleared
// once and no kernel writes past n), so that float4 loads never need a tail.
__host__ __device__ inline int32_t padded(int32_t n) { return (n + VEC - 1) / VEC * VEC; }

// ---------------------------------------------------------------------------------------------------
// the call, as the device sees it

// Written by the host into pinned memory before each launch, copied to the device by stage_forward_kernel1.
struct Call {
    int32_t n;        // samples of this call
    float eta;        // learning rate
    float threshold;  // margin threshold d
    int32_t unused;
};

// Device state of one call, reset by stage_forward_kernel1.
struct Status {
    int32_t n_uncertain;  // uncertain samples: the first n_uncertain entries of the slot list
    int32_t nan;          // 1 if a candidate logit of the plain pass is NaN (the call fails)
};

// The context's pinned, mapped host block starts with this: the call in, the outcome out.
struct HostIo {
    Call call;
    const float* source;  // the samples in device memory (refocus_cuda_predict_device), or NULL: the pinned inputs
    int32_t n_adapted;    // samples that took the step (answers[2] != 0)
    int32_t nan;          // Status::nan of the call
    int64_t non_finite;   // a device source's first non-finite value (its index), or -1: the call is refused
    float non_finite_value;
    int32_t unused;
};
static_assert(sizeof(HostIo) % 16 == 0, "the inputs after HostIo stay 16-byte aligned");

// The per-sample decision, answers[2] of dense.h plus the fallback this file adds:
constexpr int32_t CERTAIN = 0;
constexpr int32_t ADAPTED = 1;
constexpr int32_t FELL_BACK = 2;  // adapted, but its adapted candidate logits were not all finite: plain answer

// One layer, by value in the kernels' arguments. W is [out][ld_in] (rows padded, PyTorch's [out, in] otherwise).
struct Layer {
    const float* w;          // shared, read-only
    const float* b;
    float* shadow_w;         // SHADOW: sample s's W' at shadow_w + s * shadow_w_stride; NULL if W does not adapt
    float* shadow_b;         // SHADOW: sample s's b' likewise; NULL if the layer does not adapt
    size_t shadow_w_stride;
    size_t shadow_b_stride;
    int32_t in, out, ld_in, ld_out;
    int32_t activation;      // REFOCUS_ACT_*
    int32_t index;           // l
    int32_t adapts_weight;   // 1 if W adapts (l >= first adapted layer and not biases only)
};

// The weights a sample reads: its shadow once a step of this call wrote it (written[s * n_layers + l]), else W.
__device__ inline const float* weight_of(const Layer& layer, const int32_t* written, int32_t n_layers, int32_t s) {
    if (written != nullptr && layer.shadow_w != nullptr && written[(size_t)s * n_layers + layer.index] != 0) {
        return layer.shadow_w + (size_t)s * layer.shadow_w_stride;
    }
    return layer.w;
}

__device__ inline const float* bias_of(const Layer& layer, const int32_t* written, int32_t n_layers, int32_t s) {
    if (written != nullptr && layer.shadow_b != nullptr && written[(size_t)s * n_layers + layer.index] != 0) {
        return layer.shadow_b + (size_t)s * layer.shadow_b_stride;
    }
    return layer.b;
}

// ---------------------------------------------------------------------------------------------------
// element-wise helpers (dense.cpp's activate_all and scale_by_derivative, one value at a time, the same formulas)

constexpr float SQRT_HALF = 0.70710678118654752f;       // GELU: Phi(h) = (1 + erf(h sqrt(1/2))) / 2
constexpr float INV_SQRT_2PI = 0.39894228040143268f;    // GELU: phi(h) = exp(-h^2 / 2) / sqrt(2 pi)
constexpr float SQRT_2_OVER_PI = 0.79788456080286536f;  // GELU_TANH: tanh(sqrt(2 / pi) (h + 0.044715 h^3))
constexpr float GELU_TANH_KAPPA = 0.044715f;

// Whether act'(h) needs h itself (GELU and SiLU are not monotonic): those layers keep their pre-activation rows.
__host__ __device__ inline bool needs_pre(int32_t activation) {
    return activation == REFOCUS_ACT_GELU || activation == REFOCUS_ACT_GELU_TANH || activation == REFOCUS_ACT_SILU;
}

__device__ inline float gelu_tanh_inner(float h) { return SQRT_2_OVER_PI * (h + GELU_TANH_KAPPA * h * h * h); }

__device__ inline float activate(float h, int32_t activation) {
    switch (activation) {
        case REFOCUS_ACT_RELU: return h < 0.0f ? 0.0f : h;  // NaN stays NaN, as dense.cpp and PyTorch
        case REFOCUS_ACT_TANH: return tanhf(h);
        case REFOCUS_ACT_GELU: return h * 0.5f * (1.0f + erff(h * SQRT_HALF));
        case REFOCUS_ACT_GELU_TANH: return 0.5f * h * (1.0f + tanhf(gelu_tanh_inner(h)));
        case REFOCUS_ACT_SILU: return h / (1.0f + expf(-h));
        case REFOCUS_ACT_SIGMOID: return 1.0f / (1.0f + expf(-h));
        case REFOCUS_ACT_LEAKY_RELU: return h > 0.0f ? h : h * REFOCUS_LEAKY_RELU_SLOPE;
        default: return h;
    }
}

// g * act'(h), from the output a = act(h), and from h where needs_pre (any value otherwise); ReLU's derivative is
// 0 at h = 0 and leaky ReLU's the slope, as PyTorch's.
__device__ inline float times_derivative(float g, float a, float h, int32_t activation) {
    switch (activation) {
        case REFOCUS_ACT_RELU: return g * (a > 0.0f ? 1.0f : 0.0f);
        case REFOCUS_ACT_TANH: return g * (1.0f - a * a);
        case REFOCUS_ACT_GELU: {
            const float cdf = 0.5f * (1.0f + erff(h * SQRT_HALF));
            const float pdf = INV_SQRT_2PI * expf(-0.5f * h * h);
            return g * (cdf + h * pdf);
        }
        case REFOCUS_ACT_GELU_TANH: {
            const float t = tanhf(gelu_tanh_inner(h));
            const float inner_derivative = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_TANH_KAPPA * h * h);
            return g * (0.5f * (1.0f + t) + 0.5f * h * (1.0f - t * t) * inner_derivative);
        }
        case REFOCUS_ACT_SILU: {
            const float s = 1.0f / (1.0f + expf(-h));
            return g * (s * (1.0f + h * (1.0f - s)));
        }
        case REFOCUS_ACT_SIGMOID: return g * (a * (1.0f - a));
        case REFOCUS_ACT_LEAKY_RELU: return g * (a > 0.0f ? 1.0f : REFOCUS_LEAKY_RELU_SLOPE);
        default: return g;
    }
}

// acc + w . x over one chunk, in a fixed order
__device__ inline float dot4(const float4 w, const float4 x, float acc) {
    acc = fmaf(w.x, x.x, acc);
    acc = fmaf(w.y, x.y, acc);
    acc = fmaf(w.z, x.z, acc);
    return fmaf(w.w, x.w, acc);
}

__device__ inline bool is_nan(float v) { return v != v; }
__device__ inline bool is_finite(float v) { return v - v == 0.0f; }  // false for NaN and both infinities

// ---------------------------------------------------------------------------------------------------
// reductions (the whole warp, or the whole block, must call them)

// The butterfly leaves the same sum on every lane: each step adds the same two values on both lanes.
template <class T>
__device__ inline T warp_sum(T v) {
    for (int32_t m = WARP / 2; m > 0; m /= 2) v += __shfl_xor_sync(FULL_MASK, v, m);
    return v;
}

__device__ inline double warp_max(double v) {
    for (int32_t m = WARP / 2; m > 0; m /= 2) v = fmax(v, __shfl_xor_sync(FULL_MASK, v, m));
    return v;
}

// The block's sum, in double, returned to every thread: warps' sums added in warp order. `scratch` holds one
// double per warp of the block.
__device__ inline double block_sum(double v, double* scratch) {
    v = warp_sum(v);
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP, warps = blockDim.x / WARP;
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    double sum = 0.0;
    for (int32_t w = 0; w < warps; w++) sum += scratch[w];
    return sum;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_COMMON_CUH
