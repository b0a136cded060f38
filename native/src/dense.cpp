// The fused refocus step for dense networks on the CPU (refocus/dense.h).
//
// One call predicts a batch: the plain forward pass of every sample, the focus head of each, and for the
// uncertain ones T steps of loss gradient, backward pass, clipping and SGD, then the forward pass with
// the adapted parameters theta'. The plain-Java oracle is dev.refocus.reference.ReferencePredictor; this
// file computes the same thing in float, reading the weights as few times as it can:
//   - the backward pass stops at the first adapted layer (no input gradient there), and W^T delta reads
//     only the rows whose delta is non-zero (dense_kernels.h);
//   - layers below the first adapted one never change, so their activations are never recomputed;
//   - IMPLICIT mode writes no weight. The gradient of a layer is rank one, dW = delta a^T, so after the
//     steps tau < k the layer computes W^(k) x + b^(k) = W x + b - eta sum_tau u_tau (a_tau . x + 1), with
//     u_tau = s_tau delta_tau, and W^(k)^T d = W^T d - eta sum_tau a_tau (u_tau . d). Those terms cost
//     O(in + out) per sample and step. The first adapted layer's input never changes, so its output is
//     updated in place from the cached one and its weights are not read again at all.
//   - SHADOW mode writes theta' out of place into the context's shadow buffer, one uncertain sample at a
//     time, and each pass reads the shadow for the tensors written so far.
// Both modes run the same passes (forward_adapted, backward, clip, step) over a group of "slots": all
// uncertain samples at once in implicit mode, one at a time in shadow mode.
//
// A slot whose logits at theta^(k) are not all finite on the candidates falls back to the plain prediction
// (dense.h). It stays in its group with dL/dz = 0 for the remaining steps: its rows are computed like the
// others' and ignored, so that the other samples' passes are exactly those of a batch without it.
//
// Memory is planned once (lay_out): every region's size comes from the configuration, the regions are
// carved 64-byte aligned from the caller's workspace at init, and nothing is allocated afterwards.
#include "refocus/dense.h"

#include "dense_kernels.h"
#include "refocus/focus_head.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace {

// A weight matrix in either storage (dense.h): the shared block's may be bf16, a shadow's is always float32,
// so the kernels are chosen per matrix, at each call.
struct Weights {
    const void* data;
    bool bf16;
};

struct Layer {
    int32_t in, out, activation;
    bool adapts_weight;         // the bias adapts in every layer from the first adapted one on
    Weights weight;             // in the shared parameter block
    const float* bias;
    float* shadow_weight;       // SHADOW mode: theta' of the layer (NULL when the tensor does not adapt)
    float* shadow_bias;
    Weights weight_now;         // what the next pass reads: the shared tensor or its shadow
    const float* bias_now;
};

// the kernels of dense_kernels.h for a matrix in either storage; `scratch` (NULL, or bf16_scratch_floats(in)
// floats) lets a batch widen bf16 weights once for all its samples
void matmul_forward(float* y, const float* x, Weights w, const float* b, int32_t n, int32_t in, int32_t out,
                    float* scratch) {
    if (w.bf16) {
        refocus::matmul_forward(y, x, static_cast<const uint16_t*>(w.data), b, n, in, out, scratch);
    } else {
        refocus::matmul_forward(y, x, static_cast<const float*>(w.data), b, n, in, out);
    }
}

void matmul_backward(float* g, const float* d, Weights w, int32_t n, int32_t in, int32_t out, float* scratch) {
    if (w.bf16) {
        refocus::matmul_backward(g, d, static_cast<const uint16_t*>(w.data), n, in, out, scratch);
    } else {
        refocus::matmul_backward(g, d, static_cast<const float*>(w.data), n, in, out);
    }
}

void sgd_rank1(float* dst, Weights src, const float* u, float eta, const float* a, int32_t out, int32_t in) {
    if (src.bf16) {
        refocus::sgd_rank1(dst, static_cast<const uint16_t*>(src.data), u, eta, a, out, in);
    } else {
        refocus::sgd_rank1(dst, static_cast<const float*>(src.data), u, eta, a, out, in);
    }
}

}  // namespace

struct refocus_dense_s {
    int32_t n_layers, first, steps, method, n_focus, n_classes, n_candidates, mode, max_batch;
    float clip_norm;
    const int32_t* candidates;  // NULL: every class
    Layer* layers;
    // The plain pass, one row per sample of the call. plain[l] is the input of layer l: plain[0] the
    // inputs, plain[L] the logits (the results), and for first < l < L the rows of act[0], which the
    // uncertain samples then share as slots.
    float** plain;
    int32_t* answers;
    float* margins;
    // the adaptation, one slot (row) per uncertain sample of the call
    int32_t* sample;      // the sample of each slot
    int32_t* focus;       // n_focus classes per slot, fixed across the steps
    float* dlogits;       // dL/dz of the current step
    double* first_in_sq;  // squared norm of the first adapted layer's input, the same at every step
    float* first_pre;     // pre-activation of the first adapted layer (IMPLICIT: at the current parameters)
    float* sweep_pre;     // refocus_dense_sweep(): slot 0's first_pre of the plain pass, restored for each rate
    float* bf16_scratch;  // bf16 weights and max_batch >= 2: where a batch's kernels widen a group of rows (else NULL)
    float** act;          // act[k * (L + 1) + l], l > first: input of layer l in the forward pass at theta^(k)
    float** pre;          // pre[k * (L + 1) + l], laid out as act: the pre-activation of those rows, kept only where
                          // act_{l-1}' needs it (needs_pre); NULL elsewhere
    float** grad;         // grad[k * L + l], l >= first: u = s delta_l of step k + 1 (delta until clipped)
};

namespace {

// ---------------------------------------------------------------------------------------------------
// small vector helpers

// The activations and their derivatives, a whole vector per call so that the loops vectorise, each as PyTorch
// computes it in float (aten's CPU kernels). Every one keeps a NaN, as PyTorch's do: ReLU turning it into 0 would
// hide an overflow from the fallback rule and the NaN check.
constexpr float SQRT_HALF = 0.70710678118654752f;       // GELU: Phi(h) = (1 + erf(h sqrt(1/2))) / 2
constexpr float INV_SQRT_2PI = 0.39894228040143268f;    // GELU: phi(h) = exp(-h^2 / 2) / sqrt(2 pi)
constexpr float SQRT_2_OVER_PI = 0.79788456080286536f;  // GELU_TANH: tanh(sqrt(2 / pi) (h + 0.044715 h^3))
constexpr float GELU_TANH_KAPPA = 0.044715f;

// Whether act'(h) needs h itself: GELU and SiLU are not monotonic, so their output does not tell their input.
// The others' derivatives come from the output alone, as PyTorch takes them.
bool needs_pre(int32_t activation) {
    return activation == REFOCUS_ACT_GELU || activation == REFOCUS_ACT_GELU_TANH || activation == REFOCUS_ACT_SILU;
}

float gelu_tanh_inner(float h) { return SQRT_2_OVER_PI * (h + GELU_TANH_KAPPA * h * h * h); }

void activate_all(float* dst, const float* src, size_t count, int32_t activation) {
    switch (activation) {
        case REFOCUS_ACT_RELU:
            for (size_t i = 0; i < count; i++) dst[i] = src[i] < 0.0f ? 0.0f : src[i];
            break;
        case REFOCUS_ACT_TANH:
            for (size_t i = 0; i < count; i++) dst[i] = std::tanh(src[i]);
            break;
        case REFOCUS_ACT_GELU:
            for (size_t i = 0; i < count; i++) dst[i] = src[i] * 0.5f * (1.0f + std::erf(src[i] * SQRT_HALF));
            break;
        case REFOCUS_ACT_GELU_TANH:
            for (size_t i = 0; i < count; i++) dst[i] = 0.5f * src[i] * (1.0f + std::tanh(gelu_tanh_inner(src[i])));
            break;
        case REFOCUS_ACT_SILU:
            for (size_t i = 0; i < count; i++) dst[i] = src[i] / (1.0f + std::exp(-src[i]));
            break;
        case REFOCUS_ACT_SIGMOID:
            for (size_t i = 0; i < count; i++) dst[i] = 1.0f / (1.0f + std::exp(-src[i]));
            break;
        case REFOCUS_ACT_LEAKY_RELU:
            for (size_t i = 0; i < count; i++) dst[i] = src[i] > 0.0f ? src[i] : src[i] * REFOCUS_LEAKY_RELU_SLOPE;
            break;
        default:
            if (dst != src) std::memcpy(dst, src, sizeof(float) * count);
    }
}

// g *= act'(h), from the output a = act(h), and from h where needs_pre (h is NULL otherwise). ReLU's derivative
// is 0 at h = 0 and leaky ReLU's the slope, as PyTorch's.
void scale_by_derivative(float* __restrict g, const float* __restrict a, const float* __restrict h, int32_t count,
                         int32_t activation) {
    switch (activation) {
        case REFOCUS_ACT_RELU:
            for (int32_t i = 0; i < count; i++) {
                const float slope = a[i] > 0.0f ? 1.0f : 0.0f;  // a named factor: GCC vectorises this form
                g[i] = g[i] * slope;
            }
            break;
        case REFOCUS_ACT_TANH:
            for (int32_t i = 0; i < count; i++) g[i] *= 1.0f - a[i] * a[i];
            break;
        case REFOCUS_ACT_GELU:
            for (int32_t i = 0; i < count; i++) {
                const float cdf = 0.5f * (1.0f + std::erf(h[i] * SQRT_HALF));
                const float pdf = INV_SQRT_2PI * std::exp(-0.5f * h[i] * h[i]);
                g[i] *= cdf + h[i] * pdf;
            }
            break;
        case REFOCUS_ACT_GELU_TANH:
            for (int32_t i = 0; i < count; i++) {
                const float t = std::tanh(gelu_tanh_inner(h[i]));
                const float inner_derivative = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_TANH_KAPPA * h[i] * h[i]);
                g[i] *= 0.5f * (1.0f + t) + 0.5f * h[i] * (1.0f - t * t) * inner_derivative;
            }
            break;
        case REFOCUS_ACT_SILU:
            for (int32_t i = 0; i < count; i++) {
                const float s = 1.0f / (1.0f + std::exp(-h[i]));
                g[i] *= s * (1.0f + h[i] * (1.0f - s));
            }
            break;
        case REFOCUS_ACT_SIGMOID:
            for (int32_t i = 0; i < count; i++) g[i] *= a[i] * (1.0f - a[i]);
            break;
        case REFOCUS_ACT_LEAKY_RELU:
            for (int32_t i = 0; i < count; i++) {
                const float slope = a[i] > 0.0f ? 1.0f : REFOCUS_LEAKY_RELU_SLOPE;
                g[i] = g[i] * slope;
            }
            break;
    }
}

// a . b in eight lanes, so that it vectorises without reassociation
float dot(const float* a, const float* b, int32_t n) {
    float acc[8] = {};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int32_t k = 0; k < 8; k++) acc[k] += a[i + k] * b[i + k];
    }
    for (int32_t k = 0; i + k < n; k++) acc[k] += a[i + k] * b[i + k];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// |a|^2 for the clipping factor, where float's precision is plenty; in double where float overflows
double sum_squares(const float* a, int32_t n) {
    const float fast = dot(a, a, n);
    if (!std::isinf(fast)) return fast;
    double s = 0.0;
    for (int32_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return s;
}

// y -= c x
void axpy_minus(float* y, float c, const float* x, int32_t n) {
    for (int32_t i = 0; i < n; i++) y[i] -= c * x[i];
}

// Larger logit first, then lower index (focus_head.h); a NaN never ranks first.
bool ranks_before(const float* z, int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); }

int32_t candidate(const refocus_dense* ctx, int32_t i) { return ctx->candidates ? ctx->candidates[i] : i; }
int32_t n_candidates(const refocus_dense* ctx) { return ctx->candidates ? ctx->n_candidates : ctx->n_classes; }

int32_t best_candidate(const refocus_dense* ctx, const float* z) {
    int32_t best = candidate(ctx, 0);
    for (int32_t i = 1; i < n_candidates(ctx); i++) {
        if (ranks_before(z, candidate(ctx, i), best)) best = candidate(ctx, i);
    }
    return best;
}

bool has_nan_candidate(const refocus_dense* ctx, const float* z) {
    for (int32_t i = 0; i < n_candidates(ctx); i++) {
        if (std::isnan(z[candidate(ctx, i)])) return true;
    }
    return false;
}

bool finite_candidates(const refocus_dense* ctx, const float* z) {
    for (int32_t i = 0; i < n_candidates(ctx); i++) {
        if (!std::isfinite(z[candidate(ctx, i)])) return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------
// where things are

float* act_rows(const refocus_dense* ctx, int32_t k, int32_t l, int32_t slot) {
    return ctx->act[(size_t)k * ((size_t)ctx->n_layers + 1) + l] + (size_t)slot * ctx->layers[l - 1].out;
}

// the pre-activation rows of act_rows(ctx, k, l, slot), or NULL where they are not kept
float* pre_rows(const refocus_dense* ctx, int32_t k, int32_t l, int32_t slot) {
    float* rows = ctx->pre[(size_t)k * ((size_t)ctx->n_layers + 1) + l];
    return rows != nullptr ? rows + (size_t)slot * ctx->layers[l - 1].out : nullptr;
}

float* grad_rows(const refocus_dense* ctx, int32_t k, int32_t l, int32_t slot) {
    return ctx->grad[(size_t)k * (size_t)ctx->n_layers + l] + (size_t)slot * ctx->layers[l].out;
}

// the input of adapted layer l in the forward pass at theta^(k); the first one's is the plain pass's
const float* layer_input(const refocus_dense* ctx, int32_t k, int32_t l, int32_t slot) {
    if (l > ctx->first) return act_rows(ctx, k, l, slot);
    return ctx->plain[l] + (size_t)ctx->sample[slot] * ctx->layers[l].in;
}

float* dlogits(const refocus_dense* ctx, int32_t slot) { return ctx->dlogits + (size_t)slot * ctx->n_classes; }
int32_t* outcome(const refocus_dense* ctx, int32_t slot) { return ctx->answers + (size_t)3 * ctx->sample[slot] + 2; }
int32_t* focus(const refocus_dense* ctx, int32_t slot) { return ctx->focus + (size_t)slot * ctx->n_focus; }

bool implicit(const refocus_dense* ctx) { return ctx->mode == REFOCUS_MODE_IMPLICIT; }

// ---------------------------------------------------------------------------------------------------
// the passes

// The plain forward pass of n samples with the shared parameters, keeping every layer's input (and the
// pre-activations that the backward pass needs, rows of sample i at slot i of step 0).
void plain_forward(refocus_dense* ctx, int32_t n) {
    for (int32_t l = 0; l < ctx->n_layers; l++) {
        const Layer& layer = ctx->layers[l];
        float* pre = l >= ctx->first ? pre_rows(ctx, 0, l + 1, 0) : nullptr;
        float* h = l == ctx->first ? ctx->first_pre : pre != nullptr ? pre : ctx->plain[l + 1];
        matmul_forward(h, ctx->plain[l], layer.weight, layer.bias, n, layer.in, layer.out, ctx->bf16_scratch);
        if (l == ctx->first && pre != nullptr) std::memcpy(pre, h, sizeof(float) * n * layer.out);
        activate_all(ctx->plain[l + 1], h, (size_t)n * layer.out, layer.activation);
    }
}

// Makes uncertain sample i the slot j <= i. Its plain pass already is row i of slot 0; rows move down
// only when certain samples came before it (their rows are not needed any more). The logits stay.
void start_slot(refocus_dense* ctx, int32_t i, int32_t j) {
    const int32_t f = ctx->first, layers = ctx->n_layers;
    const Layer& first = ctx->layers[f];
    ctx->sample[j] = i;
    ctx->first_in_sq[j] = sum_squares(layer_input(ctx, 0, f, j), first.in);
    std::memcpy(act_rows(ctx, 0, layers, j), ctx->plain[layers] + (size_t)i * ctx->n_classes,
                sizeof(float) * ctx->n_classes);
    if (i == j) return;
    std::memcpy(ctx->first_pre + (size_t)j * first.out, ctx->first_pre + (size_t)i * first.out,
                sizeof(float) * first.out);
    for (int32_t l = f + 1; l <= layers; l++) {
        const size_t bytes = sizeof(float) * ctx->layers[l - 1].out;
        if (l < layers) std::memcpy(act_rows(ctx, 0, l, j), act_rows(ctx, 0, l, i), bytes);
        if (pre_rows(ctx, 0, l, j) != nullptr) std::memcpy(pre_rows(ctx, 0, l, j), pre_rows(ctx, 0, l, i), bytes);
    }
}

// h -= eta sum_{tau < k} u_tau (a_tau . x + 1): the implicit update of layer l's output for input x.
void forward_terms(const refocus_dense* ctx, int32_t l, int32_t k, int32_t slot, float eta, const float* x,
                   float* h) {
    const Layer& layer = ctx->layers[l];
    for (int32_t tau = 0; tau < k; tau++) {
        const float ax = layer.adapts_weight ? dot(act_rows(ctx, tau, l, slot), x, layer.in) : 0.0f;
        axpy_minus(h, eta * (ax + 1.0f), grad_rows(ctx, tau, l, slot), layer.out);
    }
}

// g -= eta sum_{tau < k} a_tau (u_tau . d): the implicit update of W^T d (only when W adapts).
void backward_terms(const refocus_dense* ctx, int32_t l, int32_t k, int32_t slot, float eta, const float* d,
                    float* g) {
    const Layer& layer = ctx->layers[l];
    for (int32_t tau = 0; tau < k; tau++) {
        const float ud = dot(grad_rows(ctx, tau, l, slot), d, layer.out);
        axpy_minus(g, eta * ud, act_rows(ctx, tau, l, slot), layer.in);
    }
}

// The forward pass at theta^(k), k >= 1, of slots j0 .. j0 + m - 1, from the first adapted layer up.
void forward_adapted(refocus_dense* ctx, int32_t k, int32_t j0, int32_t m, float eta) {
    const int32_t f = ctx->first;
    for (int32_t l = f; l < ctx->n_layers; l++) {
        const Layer& layer = ctx->layers[l];
        const size_t count = (size_t)m * layer.out;
        float* y = act_rows(ctx, k, l + 1, j0);
        float* pre = pre_rows(ctx, k, l + 1, j0);
        if (l == f && implicit(ctx)) {
            // its input is constant: step() kept its output up to date, no weight is read
            const float* h = ctx->first_pre + (size_t)j0 * layer.out;
            if (pre != nullptr) std::memcpy(pre, h, sizeof(float) * count);
            activate_all(y, h, count, layer.activation);
            continue;
        }
        float* h = pre != nullptr ? pre : y;
        matmul_forward(h, layer_input(ctx, k, l, j0), layer.weight_now, layer.bias_now, m, layer.in, layer.out,
                       ctx->bf16_scratch);
        for (int32_t j = j0; implicit(ctx) && j < j0 + m; j++) {
            forward_terms(ctx, l, k, j, eta, act_rows(ctx, k, l, j), h + (size_t)(j - j0) * layer.out);
        }
        activate_all(y, h, count, layer.activation);
    }
}

// dL/dz at theta^(k), k >= 1, with each slot's fixed focus classes; a slot whose logits are not finite
// falls back and gets dL/dz = 0 from then on.
int32_t logit_grads(refocus_dense* ctx, int32_t k, int32_t j0, int32_t m) {
    for (int32_t j = j0; j < j0 + m; j++) {
        const float* z = act_rows(ctx, k, ctx->n_layers, j);
        if (*outcome(ctx, j) == REFOCUS_SAMPLE_FELL_BACK || !finite_candidates(ctx, z)) {
            *outcome(ctx, j) = REFOCUS_SAMPLE_FELL_BACK;
            std::memset(dlogits(ctx, j), 0, sizeof(float) * ctx->n_classes);
            continue;
        }
        const int32_t rc = refocus_logit_grad(z, ctx->n_classes, ctx->candidates, ctx->n_candidates, focus(ctx, j),
                                              ctx->n_focus, ctx->method, dlogits(ctx, j));
        if (refocus_is_error(rc)) return rc;
    }
    return 0;
}

// The deltas of step k + 1 into grad[k]: from dL/dz down to the first adapted layer, at theta^(k).
void backward(refocus_dense* ctx, int32_t k, int32_t j0, int32_t m, float eta) {
    const int32_t top = ctx->n_layers - 1;
    for (int32_t j = j0; j < j0 + m; j++) {
        float* d = grad_rows(ctx, k, top, j);
        std::memcpy(d, dlogits(ctx, j), sizeof(float) * ctx->n_classes);
        scale_by_derivative(d, act_rows(ctx, k, top + 1, j), pre_rows(ctx, k, top + 1, j), ctx->n_classes,
                            ctx->layers[top].activation);
    }
    for (int32_t l = top; l > ctx->first; l--) {
        const Layer& layer = ctx->layers[l];
        matmul_backward(grad_rows(ctx, k, l - 1, j0), grad_rows(ctx, k, l, j0), layer.weight_now, m, layer.in,
                        layer.out, ctx->bf16_scratch);
        for (int32_t j = j0; j < j0 + m; j++) {
            float* g = grad_rows(ctx, k, l - 1, j);
            if (implicit(ctx) && layer.adapts_weight) backward_terms(ctx, l, k, j, eta, grad_rows(ctx, k, l, j), g);
            scale_by_derivative(g, act_rows(ctx, k, l, j), pre_rows(ctx, k, l, j), layer.in,
                                ctx->layers[l - 1].activation);
        }
    }
}

// clip_grad_norm_: the whole gradient of each slot scaled by min(1, c / (norm + 1e-6)). The norm comes
// from the rank-one factors: |dW|^2 + |db|^2 = |delta|^2 (|a|^2 + 1).
void clip(refocus_dense* ctx, int32_t k, int32_t j0, int32_t m) {
    if (ctx->clip_norm == 0.0f) return;
    for (int32_t j = j0; j < j0 + m; j++) {
        double squares = 0.0;
        for (int32_t l = ctx->first; l < ctx->n_layers; l++) {
            const Layer& layer = ctx->layers[l];
            double a_sq = 0.0;
            if (layer.adapts_weight) {
                a_sq = l == ctx->first ? ctx->first_in_sq[j] : sum_squares(act_rows(ctx, k, l, j), layer.in);
            }
            squares += sum_squares(grad_rows(ctx, k, l, j), layer.out) * (a_sq + 1.0);
        }
        const double q = ctx->clip_norm / (std::sqrt(squares) + 1e-6);
        const float s = q >= 1.0 ? 1.0f : (float)q;  // NaN stays NaN, as Java's Math.min
        if (s == 1.0f) continue;
        for (int32_t l = ctx->first; l < ctx->n_layers; l++) {
            float* u = grad_rows(ctx, k, l, j);
            for (int32_t o = 0; o < ctx->layers[l].out; o++) u[o] *= s;
        }
    }
}

// SHADOW: theta^(k+1) = theta^(k) - eta u a^T, written into the shadow for tensors with a non-zero gradient.
void sgd_to_shadow(refocus_dense* ctx, int32_t k, int32_t j, float eta) {
    for (int32_t l = ctx->first; l < ctx->n_layers; l++) {
        Layer& layer = ctx->layers[l];
        const float* u = grad_rows(ctx, k, l, j);
        bool nonzero = false;
        for (int32_t o = 0; o < layer.out; o++) nonzero |= u[o] != 0.0f;
        if (!nonzero) continue;
        for (int32_t o = 0; o < layer.out; o++) layer.shadow_bias[o] = layer.bias_now[o] - eta * u[o];
        layer.bias_now = layer.shadow_bias;
        if (layer.adapts_weight) {
            sgd_rank1(layer.shadow_weight, layer.weight_now, u, eta, layer_input(ctx, k, l, j), layer.out, layer.in);
            layer.weight_now = Weights{layer.shadow_weight, false};
        }
    }
}

// The SGD step of step k + 1. IMPLICIT: grad[k] already is the update; only the first adapted layer's
// cached output moves, by -eta u (|a|^2 + 1).
void step(refocus_dense* ctx, int32_t k, int32_t j0, int32_t m, float eta) {
    if (!implicit(ctx)) {
        sgd_to_shadow(ctx, k, j0, eta);
        return;
    }
    const Layer& layer = ctx->layers[ctx->first];
    for (int32_t j = j0; j < j0 + m; j++) {
        const double a_sq = layer.adapts_weight ? ctx->first_in_sq[j] : 0.0;
        axpy_minus(ctx->first_pre + (size_t)j * layer.out, (float)(eta * (a_sq + 1.0)),
                   grad_rows(ctx, k, ctx->first, j), layer.out);
    }
}

// T steps for slots j0 .. j0 + m - 1 (their plain pass is slot 0 of act), then the forward pass at theta^(T).
int32_t adapt(refocus_dense* ctx, int32_t j0, int32_t m, float eta) {
    for (int32_t k = 0; k < ctx->steps; k++) {
        if (k > 0) {
            forward_adapted(ctx, k, j0, m, eta);
            const int32_t rc = logit_grads(ctx, k, j0, m);
            if (refocus_is_error(rc)) return rc;
        }
        backward(ctx, k, j0, m, eta);
        clip(ctx, k, j0, m);
        step(ctx, k, j0, m, eta);
    }
    forward_adapted(ctx, ctx->steps, j0, m, eta);
    return 0;
}

// SHADOW: the next sample starts again from the shared parameters.
void forget_shadow(refocus_dense* ctx) {
    for (int32_t l = 0; l < ctx->n_layers; l++) {
        ctx->layers[l].weight_now = ctx->layers[l].weight;
        ctx->layers[l].bias_now = ctx->layers[l].bias;
    }
}

// ---------------------------------------------------------------------------------------------------
// configuration and memory plan

bool valid_config(const refocus_dense_config* cfg) {
    if (cfg == nullptr || cfg->n_layers < 1 || cfg->sizes == nullptr || cfg->activations == nullptr
        || cfg->params == nullptr) {
        return false;
    }
    const int32_t layers = cfg->n_layers;
    for (int32_t l = 0; l <= layers; l++) {
        if (cfg->sizes[l] < 1) return false;
    }
    for (int32_t l = 0; l < layers; l++) {
        if (cfg->activations[l] < 0 || cfg->activations[l] >= REFOCUS_ACT_COUNT) return false;
    }
    const int32_t classes = cfg->sizes[layers];
    int32_t k = classes;
    if (cfg->candidates != nullptr) {
        if (cfg->n_candidates < 1 || cfg->n_candidates > classes) return false;
        for (int32_t i = 0; i < cfg->n_candidates; i++) {
            if (cfg->candidates[i] < 0 || cfg->candidates[i] >= classes) return false;
        }
        k = cfg->n_candidates;
    }
    return cfg->method >= 0 && cfg->method < REFOCUS_METHOD_COUNT && cfg->n_focus >= 2
           && cfg->n_focus < k && cfg->steps >= 1 && std::isfinite(cfg->clip_norm) && cfg->clip_norm >= 0.0f
           && cfg->first_adapted_layer >= 0 && cfg->first_adapted_layer < layers
           && (cfg->biases_only == 0 || cfg->biases_only == 1)
           && (cfg->mode == REFOCUS_MODE_SHADOW
               || (cfg->mode == REFOCUS_MODE_IMPLICIT && cfg->steps <= REFOCUS_MAX_IMPLICIT_STEPS))
           && cfg->max_batch >= 1
           && (cfg->weight_format == REFOCUS_WEIGHTS_F32 || cfg->weight_format == REFOCUS_WEIGHTS_BF16);
}

// the bytes of a weight matrix of `count` values in the block, padded to the 4-byte boundary its bias starts on
// (dense.h); the caller checked that the arithmetic does not overflow
size_t weight_bytes(size_t count, bool bf16) {
    return bf16 ? (count * sizeof(uint16_t) + 3) & ~(size_t)3 : count * sizeof(float);
}

// A bump allocator over the workspace, with checked size arithmetic. Without a base it only measures,
// so that refocus_dense_workspace_size() and refocus_dense_init_static() share one plan.
struct Arena {
    char* base;
    size_t used;
    bool overflow;

    size_t add(size_t a, size_t b) {
        size_t r;
        overflow |= __builtin_add_overflow(a, b, &r);
        return r;
    }
    size_t mul(size_t a, size_t b) {
        size_t r;
        overflow |= __builtin_mul_overflow(a, b, &r);
        return r;
    }
    template <class T>
    T* take(size_t count) {
        const size_t start = add(used, 63) & ~(size_t)63;
        used = add(start, mul(count, sizeof(T)));
        return base != nullptr && !overflow ? reinterpret_cast<T*>(base + start) : nullptr;
    }
};

// Carves every region of the context; returns the context, or NULL when only measuring or on overflow.
refocus_dense* lay_out(const refocus_dense_config* cfg, Arena& a) {
    const int32_t layers = cfg->n_layers, f = cfg->first_adapted_layer, steps = cfg->steps;
    const int32_t* sizes = cfg->sizes;
    const size_t batch = (size_t)cfg->max_batch;
    const bool shadow = cfg->mode == REFOCUS_MODE_SHADOW;
    const bool bf16 = cfg->weight_format == REFOCUS_WEIGHTS_BF16;

    // per sample: the plain pass's inputs of layers 0 .. f and its logits; one step's slot, layers f+1 .. L
    size_t plain_floats = sizes[layers], slot_floats = 0, pre_floats = 0, shadow_floats = 0, param_bytes = 0;
    for (int32_t l = 0; l <= layers; l++) {
        if (l <= f) plain_floats = a.add(plain_floats, (size_t)sizes[l]);
        if (l > f) slot_floats = a.add(slot_floats, (size_t)sizes[l]);
        if (l > f && needs_pre(cfg->activations[l - 1])) pre_floats = a.add(pre_floats, (size_t)sizes[l]);
    }
    for (int32_t l = 0; l < layers; l++) {
        const size_t w = a.mul((size_t)sizes[l], (size_t)sizes[l + 1]);
        // the block must be addressable
        const size_t w_bytes = a.add(a.mul(w, bf16 ? sizeof(uint16_t) : sizeof(float)), 3);
        param_bytes = a.add(param_bytes, a.add(w_bytes, a.mul((size_t)sizes[l + 1], sizeof(float))));
        if (shadow && l >= f) {
            shadow_floats = a.add(shadow_floats, a.add(cfg->biases_only ? 0 : w, (size_t)sizes[l + 1]));
        }
    }
    const size_t classes = (size_t)sizes[layers];
    size_t scratch_floats = 0;  // bf16: the largest scratch a layer's kernels take
    for (int32_t l = 0; l < layers; l++) {
        scratch_floats = std::max(scratch_floats, refocus::bf16_scratch_floats(sizes[l]));
    }

    refocus_dense* ctx = a.take<refocus_dense>(1);
    Layer* layer_table = a.take<Layer>((size_t)layers);
    int32_t* candidates = a.take<int32_t>(cfg->candidates ? (size_t)cfg->n_candidates : 0);
    float** plain = a.take<float*>((size_t)layers + 1);
    float** act = a.take<float*>(a.mul((size_t)steps + 1, (size_t)layers + 1));
    float** pre = a.take<float*>(a.mul((size_t)steps + 1, (size_t)layers + 1));
    float** grad = a.take<float*>(a.mul((size_t)steps, (size_t)layers));
    float* plain_data = a.take<float>(a.mul(batch, plain_floats));
    int32_t* answers = a.take<int32_t>(a.mul(batch, 3));
    float* margins = a.take<float>(batch);
    int32_t* sample = a.take<int32_t>(batch);
    int32_t* focus_classes = a.take<int32_t>(a.mul(batch, (size_t)cfg->n_focus));
    float* dz = a.take<float>(a.mul(batch, classes));
    double* first_in_sq = a.take<double>(batch);
    float* first_pre = a.take<float>(a.mul(batch, (size_t)sizes[f + 1]));
    float* sweep_pre = a.take<float>((size_t)sizes[f + 1]);
    float* bf16_scratch = a.take<float>(bf16 && batch >= 2 ? scratch_floats : 0);
    float* act_data = a.take<float>(a.mul((size_t)steps + 1, a.mul(batch, slot_floats)));
    float* grad_data = a.take<float>(a.mul((size_t)steps, a.mul(batch, slot_floats)));
    float* pre_data = a.take<float>(a.mul((size_t)steps + 1, a.mul(batch, pre_floats)));
    float* shadow_data = a.take<float>(shadow_floats);
    if (ctx == nullptr || a.overflow) return nullptr;

    *ctx = refocus_dense{};
    ctx->n_layers = layers;
    ctx->first = f;
    ctx->steps = steps;
    ctx->method = cfg->method;
    ctx->n_focus = cfg->n_focus;
    ctx->n_classes = (int32_t)classes;
    ctx->n_candidates = cfg->candidates ? cfg->n_candidates : 0;
    ctx->mode = cfg->mode;
    ctx->max_batch = cfg->max_batch;
    ctx->clip_norm = cfg->clip_norm;
    if (cfg->candidates) {
        std::memcpy(candidates, cfg->candidates, sizeof(int32_t) * cfg->n_candidates);
        ctx->candidates = candidates;
    }
    ctx->layers = layer_table;
    const char* p = static_cast<const char*>(cfg->params);
    for (int32_t l = 0; l < layers; l++) {
        Layer& layer = layer_table[l];
        layer = Layer{};
        layer.in = sizes[l];
        layer.out = sizes[l + 1];
        layer.activation = cfg->activations[l];
        layer.adapts_weight = l >= f && !cfg->biases_only;
        layer.weight = layer.weight_now = Weights{p, bf16};
        p += weight_bytes((size_t)layer.in * layer.out, bf16);
        layer.bias = layer.bias_now = reinterpret_cast<const float*>(p);
        p += sizeof(float) * layer.out;
        if (shadow && l >= f) {
            if (layer.adapts_weight) {
                layer.shadow_weight = shadow_data;
                shadow_data += (size_t)layer.in * layer.out;
            }
            layer.shadow_bias = shadow_data;
            shadow_data += layer.out;
        }
    }
    ctx->plain = plain;
    ctx->answers = answers;
    ctx->margins = margins;
    ctx->sample = sample;
    ctx->focus = focus_classes;
    ctx->dlogits = dz;
    ctx->first_in_sq = first_in_sq;
    ctx->first_pre = first_pre;
    ctx->sweep_pre = sweep_pre;
    ctx->bf16_scratch = bf16 && batch >= 2 ? bf16_scratch : nullptr;
    ctx->act = act;
    ctx->pre = pre;
    ctx->grad = grad;
    for (int32_t k = 0; k <= steps; k++) {
        for (int32_t l = 0; l <= layers; l++) {
            act[(size_t)k * ((size_t)layers + 1) + l] = l > f ? act_data : nullptr;
            if (l > f) act_data += batch * sizes[l];
            const bool keeps_pre = l > f && needs_pre(cfg->activations[l - 1]);
            pre[(size_t)k * ((size_t)layers + 1) + l] = keeps_pre ? pre_data : nullptr;
            if (keeps_pre) pre_data += batch * sizes[l];
            if (k < steps && l < layers) {
                grad[(size_t)k * layers + l] = l >= f ? grad_data : nullptr;
                if (l >= f) grad_data += batch * sizes[l + 1];
            }
        }
    }
    for (int32_t l = 0; l <= layers; l++) {
        plain[l] = l > f && l < layers ? act[l] : plain_data;
        if (l <= f || l == layers) plain_data += batch * sizes[l];
    }
    return ctx;
}

// Candidates must be distinct; the logits rows (at least C floats) serve as marks.
bool distinct_candidates(refocus_dense* ctx) {
    float* seen = ctx->plain[ctx->n_layers];
    std::memset(seen, 0, sizeof(float) * ctx->n_classes);
    for (int32_t i = 0; i < ctx->n_candidates; i++) {
        if (seen[ctx->candidates[i]] != 0.0f) return false;
        seen[ctx->candidates[i]] = 1.0f;
    }
    return true;
}

}  // namespace

extern "C" {

size_t refocus_dense_workspace_size(const refocus_dense_config* cfg) {
    if (!valid_config(cfg)) return 0;
    Arena a{nullptr, 0, false};
    lay_out(cfg, a);
    const size_t bytes = a.add(a.used, 63);  // slack to align any workspace to 64 bytes
    return a.overflow ? 0 : bytes;
}

refocus_dense* refocus_dense_init_static(void* workspace, size_t size, const refocus_dense_config* cfg) {
    const size_t needed = refocus_dense_workspace_size(cfg);
    if (workspace == nullptr || needed == 0 || size < needed) return nullptr;
    const uintptr_t start = ((uintptr_t)workspace + 63) & ~(uintptr_t)63;
    Arena a{(char*)workspace + (start - (uintptr_t)workspace), 0, false};
    refocus_dense* ctx = lay_out(cfg, a);
    return ctx != nullptr && distinct_candidates(ctx) ? ctx : nullptr;
}

float* refocus_dense_inputs(refocus_dense* ctx) { return ctx->plain[0]; }
float* refocus_dense_logits(refocus_dense* ctx) { return ctx->plain[ctx->n_layers]; }
int32_t* refocus_dense_answers(refocus_dense* ctx) { return ctx->answers; }
float* refocus_dense_margins(refocus_dense* ctx) { return ctx->margins; }

int32_t refocus_dense_predict(refocus_dense* ctx, int32_t n, float learning_rate, float threshold) {
    if (ctx == nullptr || n < 1 || n > ctx->max_batch || !std::isfinite(learning_rate) || learning_rate < 0.0f
        || !(threshold >= 0.0f && threshold <= 1.0f)) {
        return REFOCUS_ERROR_ARGUMENT;
    }
    plain_forward(ctx, n);
    const float* logits = ctx->plain[ctx->n_layers];
    int32_t m = 0;  // uncertain samples so far: the next free slot
    for (int32_t i = 0; i < n; i++) {
        const int32_t rc = refocus_focus_head(logits + (size_t)i * ctx->n_classes, ctx->n_classes, ctx->candidates,
                                              ctx->n_candidates, ctx->n_focus, threshold, ctx->method,
                                              focus(ctx, m), &ctx->margins[i], dlogits(ctx, m));
        if (refocus_is_error(rc)) return rc;
        int32_t* answer = ctx->answers + (size_t)3 * i;
        answer[0] = answer[1] = focus(ctx, m)[0];
        answer[2] = rc == 1 ? REFOCUS_SAMPLE_ADAPTED : REFOCUS_SAMPLE_CERTAIN;
        if (rc == 1) start_slot(ctx, i, m++);
    }
    if (m == 0) return 0;

    if (implicit(ctx)) {
        const int32_t rc = adapt(ctx, 0, m, learning_rate);
        if (refocus_is_error(rc)) return rc;
    } else {
        for (int32_t j = 0; j < m; j++) {
            forget_shadow(ctx);
            const int32_t rc = adapt(ctx, j, 1, learning_rate);
            if (refocus_is_error(rc)) return rc;
        }
    }

    // the adapted logits replace the plain ones, unless the sample falls back: then row i keeps the plain pass's
    for (int32_t j = 0; j < m; j++) {
        const float* adapted = act_rows(ctx, ctx->steps, ctx->n_layers, j);
        if (*outcome(ctx, j) == REFOCUS_SAMPLE_FELL_BACK || !finite_candidates(ctx, adapted)) {
            *outcome(ctx, j) = REFOCUS_SAMPLE_FELL_BACK;
            continue;
        }
        const int32_t i = ctx->sample[j];
        float* z = ctx->plain[ctx->n_layers] + (size_t)i * ctx->n_classes;
        std::memcpy(z, adapted, sizeof(float) * ctx->n_classes);
        ctx->answers[(size_t)3 * i + 1] = best_candidate(ctx, z);
    }
    return m;
}

int32_t refocus_dense_sweep(refocus_dense* ctx, const float* etas, int32_t n_etas, float threshold,
                            int32_t* finals) {
    if (ctx == nullptr || !implicit(ctx) || ctx->steps != 1 || etas == nullptr || finals == nullptr || n_etas < 1
        || !(threshold >= 0.0f && threshold <= 1.0f)) {
        return REFOCUS_ERROR_ARGUMENT;
    }
    for (int32_t k = 0; k < n_etas; k++) {
        if (!std::isfinite(etas[k]) || etas[k] < 0.0f) return REFOCUS_ERROR_ARGUMENT;
    }
    plain_forward(ctx, 1);
    float* logits = ctx->plain[ctx->n_layers];
    const int32_t rc = refocus_focus_head(logits, ctx->n_classes, ctx->candidates, ctx->n_candidates, ctx->n_focus,
                                          threshold, ctx->method, focus(ctx, 0), &ctx->margins[0], dlogits(ctx, 0));
    if (refocus_is_error(rc)) return rc;
    const int32_t initial = focus(ctx, 0)[0];
    ctx->answers[0] = ctx->answers[1] = initial;
    ctx->answers[2] = rc == 1 ? REFOCUS_SAMPLE_ADAPTED : REFOCUS_SAMPLE_CERTAIN;
    if (rc == 0) {
        for (int32_t k = 0; k < n_etas; k++) finals[k] = initial;
        return 0;
    }
    // the direction of the one step does not depend on eta: one backward pass, then per rate the same
    // step() and forward_adapted() as refocus_dense_predict(), from the plain pass's first_pre each time
    start_slot(ctx, 0, 0);
    backward(ctx, 0, 0, 1, 0.0f);
    clip(ctx, 0, 0, 1);
    const size_t first_out = (size_t)ctx->layers[ctx->first].out;
    std::memcpy(ctx->sweep_pre, ctx->first_pre, sizeof(float) * first_out);
    const float* z = act_rows(ctx, 1, ctx->n_layers, 0);
    for (int32_t k = 0; k < n_etas; k++) {
        std::memcpy(ctx->first_pre, ctx->sweep_pre, sizeof(float) * first_out);
        step(ctx, 0, 0, 1, etas[k]);
        forward_adapted(ctx, 1, 0, 1, etas[k]);
        finals[k] = finite_candidates(ctx, z) ? best_candidate(ctx, z) : initial;  // a fallback at this rate
    }
    if (finite_candidates(ctx, z)) {
        std::memcpy(logits, z, sizeof(float) * ctx->n_classes);
        ctx->answers[1] = finals[n_etas - 1];
    } else {
        ctx->answers[2] = REFOCUS_SAMPLE_FELL_BACK;  // the plain logits stay
    }
    return 1;
}

int32_t refocus_dense_forward(refocus_dense* ctx, int32_t n) {
    if (ctx == nullptr || n < 1 || n > ctx->max_batch) return REFOCUS_ERROR_ARGUMENT;
    plain_forward(ctx, n);
    for (int32_t i = 0; i < n; i++) {
        const float* z = ctx->plain[ctx->n_layers] + (size_t)i * ctx->n_classes;
        if (has_nan_candidate(ctx, z)) return REFOCUS_ERROR_NAN;  // as predict: no answer from a NaN
        int32_t* answer = ctx->answers + (size_t)3 * i;
        answer[0] = answer[1] = best_candidate(ctx, z);
        answer[2] = REFOCUS_SAMPLE_CERTAIN;
    }
    return 0;
}

}  // extern "C"
