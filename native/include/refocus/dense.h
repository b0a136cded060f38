/*
 * The fused refocus step for dense networks on the CPU.
 *
 * A dense network is a chain of layers h_l = W_l a_l + b_l, a_{l+1} = act_l(h_l), with a_0 the input and
 * a_L the logits. Its parameters live in one contiguous, read-only block that any number of contexts share,
 * in one of two formats (refocus_dense_config.weight_format):
 *   - REFOCUS_WEIGHTS_F32 (the default): floats W_0 ([sizes[1] x sizes[0]] row-major, PyTorch's [out, in]),
 *     b_0 ([sizes[1]]), W_1, b_1, ...
 *   - REFOCUS_WEIGHTS_BF16: per layer, W_l as sizes[l+1] * sizes[l] bfloat16 values (uint16_t, the top half of
 *     a float32: sign, 8 exponent bits, 7 mantissa bits), same order; then, when that count is odd, one uint16_t
 *     of padding, so that b_l starts on a 4-byte boundary; then b_l as sizes[l+1] floats; then layer l+1. The
 *     block starts 4-byte aligned. The network it describes is the one whose weights are the widened bf16
 *     values: every computation is float32, and the step gives what it gives on a float32 block of those
 *     values. It halves the weight bytes each pass reads (memory-bound models run faster). In
 *     REFOCUS_MODE_SHADOW, theta' is written as float32, so a pass reads float32 shadow weights for the layers
 *     that adapted and bf16 for the others. With max_batch >= 2 the workspace also holds a scratch (16 KiB, or
 *     16 rows of up to 2048 weights, or 4 rows of the widest layer: the largest of these) into which a batch's
 *     kernels widen a group of weight rows once for all its samples: the same bits, without paying the widening
 *     once per sample.
 *
 * refocus_dense_predict() runs, for every sample of a batch: the plain forward pass (keeping the activations
 * it needs), the focus head (refocus/focus_head.h), and for an uncertain sample T steps of loss gradient,
 * backward pass, gradient clipping and SGD on the adapted parameters theta', then the forward pass with
 * theta'. theta' is never the shared block and is forgotten after the sample. Two ways to hold it:
 *   - REFOCUS_MODE_IMPLICIT (the default): no weight is written. At batch size 1 the gradient of a layer is
 *     rank one, dW = delta a^T, so W' a' + b' = W a' + b - eta * sum_t s_t delta_t (a_t^T a' + 1), where s_t
 *     is the clipping factor of step t; the backward pass applies the same terms to W'^T delta. The first
 *     adapted layer's input never changes, so its second forward pass comes from the cached one.
 *   - REFOCUS_MODE_SHADOW: theta' is written out of place into the context's shadow buffer, only for tensors
 *     whose gradient is non-zero, and the second forward pass reads it.
 * Both give the predictions of the literal clone-based Algorithm 1 (dev.refocus.reference.ReferencePredictor,
 * the oracle of the tests), up to float rounding.
 *
 * Non-finite logits: a NaN candidate logit of the plain pass is an error (REFOCUS_ERROR_NAN). A step that
 * overflows (a huge eta without clipping, huge weights) is not: when the logits of a forward pass with theta'
 * (after any of the T steps) are not all finite on the candidates, the sample falls back to its plain
 * prediction (REFOCUS_SAMPLE_FELL_BACK): final class = initial class, logits = the plain pass's. Every backend
 * follows the same rule, so that none answers from infinite or NaN logits.
 *
 * Memory: the caller provides all of it. refocus_dense_workspace_size() says how much a configuration needs;
 * refocus_dense_init_static() lays the context out in it, and nothing is allocated afterwards. The caller
 * writes samples into refocus_dense_inputs() and reads results from refocus_dense_logits(),
 * refocus_dense_answers() and refocus_dense_margins(), all inside the workspace.
 *
 * Thread-safety: a context is used by one thread at a time; the parameter block is only read, so any number
 * of contexts on any threads may share it.
 */
#ifndef REFOCUS_DENSE_H
#define REFOCUS_DENSE_H

#include "refocus/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations, applied element-wise to a layer's output; codes dense from 0 to REFOCUS_ACT_COUNT - 1. Each is
 * PyTorch's function of the same name, NaN in giving NaN out. */
#define REFOCUS_ACT_IDENTITY   0
#define REFOCUS_ACT_RELU       1  /* max(0, h); the derivative is 0 at h = 0, as PyTorch */
#define REFOCUS_ACT_TANH       2
#define REFOCUS_ACT_GELU       3  /* h Phi(h) = h (1 + erf(h / sqrt 2)) / 2: nn.GELU() */
#define REFOCUS_ACT_GELU_TANH  4  /* h (1 + tanh(sqrt(2 / pi) (h + 0.044715 h^3))) / 2: nn.GELU(approximate='tanh') */
#define REFOCUS_ACT_SILU       5  /* h sigmoid(h): nn.SiLU() */
#define REFOCUS_ACT_SIGMOID    6  /* 1 / (1 + exp(-h)) */
#define REFOCUS_ACT_LEAKY_RELU 7  /* h > 0 ? h : REFOCUS_LEAKY_RELU_SLOPE h; the slope is 1 at h > 0 only */
#define REFOCUS_ACT_COUNT      8  /* one more than the largest activation code */

/* The negative slope of REFOCUS_ACT_LEAKY_RELU: PyTorch's default, nn.LeakyReLU()'s negative_slope. One fixed
 * slope keeps an activation one code in every backend and file; an importer refuses any other slope. */
#define REFOCUS_LEAKY_RELU_SLOPE 0.01f

/* How theta' is held. */
#define REFOCUS_MODE_IMPLICIT 0
#define REFOCUS_MODE_SHADOW   1

/* The most steps T that REFOCUS_MODE_IMPLICIT takes. Its cost grows with T^2: step k applies the k rank-one terms of
 * the steps before it to every adapted layer, while REFOCUS_MODE_SHADOW pays the same weight traffic at every step.
 * On the benchmark models of docs/DESIGN.md section 5 (one thread, one uncertain sample), shadow mode is as fast as
 * implicit mode from T = 24 on model S and from T = 256 on model M; at 64 implicit mode is within about 2x of
 * shadow mode on both, either way. A configuration with more steps in implicit mode is invalid: use shadow mode. */
#define REFOCUS_MAX_IMPLICIT_STEPS 64

/* The format of the parameter block (see the top of this file). */
#define REFOCUS_WEIGHTS_F32  0
#define REFOCUS_WEIGHTS_BF16 1

/* What happened to a sample: the third int of its row of refocus_dense_answers(). */
#define REFOCUS_SAMPLE_CERTAIN   0  /* margin >= threshold: the plain pass's answer and logits */
#define REFOCUS_SAMPLE_ADAPTED   1  /* uncertain: the answer and logits after the T steps */
#define REFOCUS_SAMPLE_FELL_BACK 2  /* uncertain and the steps ran, but the logits of a pass with theta' were
                                       not all finite on the candidates: the plain pass's answer and logits */

typedef struct refocus_dense_config_s {
    int32_t n_layers;             /* L >= 1 */
    const int32_t* sizes;         /* L + 1 sizes, each >= 1: the input size, then each layer's output size */
    const int32_t* activations;   /* L REFOCUS_ACT_* codes */
    const void* params;           /* the shared parameter block, in weight_format; must outlive every context built
                                     on it */
    int32_t method;               /* a loss method, 0 <= method < REFOCUS_METHOD_COUNT (common.h) */
    int32_t n_focus;              /* 2 <= n_focus < number of candidates (classes when there are none) */
    int32_t steps;                /* T >= 1; at most REFOCUS_MAX_IMPLICIT_STEPS in REFOCUS_MODE_IMPLICIT */
    float clip_norm;              /* clip the gradient to this global L2 norm before each step; 0 = off */
    int32_t first_adapted_layer;  /* 0 <= first < L: layers below it keep their parameters */
    int32_t biases_only;          /* 1: only the biases adapt (of the layers from first_adapted_layer on) */
    const int32_t* candidates;    /* NULL for all classes, or n_candidates distinct classes */
    int32_t n_candidates;
    int32_t mode;                 /* REFOCUS_MODE_IMPLICIT or REFOCUS_MODE_SHADOW */
    int32_t max_batch;            /* the most samples one call predicts, >= 1 */
    int32_t weight_format;        /* REFOCUS_WEIGHTS_F32 (0: a zeroed config's) or REFOCUS_WEIGHTS_BF16 */
} refocus_dense_config;

typedef struct refocus_dense_s refocus_dense;  /* opaque; lives in the caller's workspace */

/*! refocus_dense_workspace_size() :
 *  @return : the bytes refocus_dense_init_static() needs for this configuration (any alignment will do),
 *            or 0 if the configuration is invalid (repeated candidates are only caught by the init). */
REFOCUS_API size_t refocus_dense_workspace_size(const refocus_dense_config* cfg);

/*! refocus_dense_init_static() :
 *  Lays a context out in `workspace`, copying the configuration (and the candidates) into it; only `params`
 *  is kept by reference. Nothing is allocated, now or later.
 *  @return : the context, inside `workspace`, or NULL if the configuration is invalid or `size` is smaller
 *            than refocus_dense_workspace_size(cfg). */
REFOCUS_API refocus_dense* refocus_dense_init_static(void* workspace, size_t size, const refocus_dense_config* cfg);

/*! refocus_dense_inputs() :
 *  @return : where the caller writes the samples: max_batch rows of sizes[0] floats, row-major. */
REFOCUS_API float* refocus_dense_inputs(refocus_dense* ctx);

/*! refocus_dense_logits() :
 *  @return : max_batch rows of C logits (C = sizes[L]): for each sample of the last call, its logits after
 *            the step when it adapted (REFOCUS_SAMPLE_ADAPTED), its plain logits otherwise. */
REFOCUS_API float* refocus_dense_logits(refocus_dense* ctx);

/*! refocus_dense_answers() :
 *  @return : max_batch rows of 3 ints: {initial class, final class, REFOCUS_SAMPLE_*} of each sample of the
 *            last call; classes are taken among the candidates. The third is non-zero exactly when the sample
 *            was uncertain and the steps ran. */
REFOCUS_API int32_t* refocus_dense_answers(refocus_dense* ctx);

/*! refocus_dense_margins() :
 *  @return : max_batch floats: the plain forward pass's margin p_(1) - p_(2) of each sample of the last call. */
REFOCUS_API float* refocus_dense_margins(refocus_dense* ctx);

/*! refocus_dense_predict() :
 *  Predicts the first n samples of refocus_dense_inputs() with refocus: each sample adapts when its margin is
 *  below `threshold`, with its own focus classes and its own theta', independent of the other samples.
 *  Weights are read once per pass for the whole batch. A sample whose passes with theta' give a non-finite
 *  candidate logit falls back to its plain prediction (REFOCUS_SAMPLE_FELL_BACK); its later steps, if any,
 *  count for nothing.
 *  @return : the number of samples that adapted, fallen back or not (>= 0), or an error code:
 *            REFOCUS_ERROR_ARGUMENT for n outside [1, max_batch], a learning rate that is negative or not
 *            finite, or a threshold outside [0, 1]; REFOCUS_ERROR_NAN if a candidate logit of the plain pass is
 *            NaN (results are then undefined). */
REFOCUS_API int32_t refocus_dense_predict(refocus_dense* ctx, int32_t n, float learning_rate, float threshold);

/*! refocus_dense_sweep() :
 *  The tuning sweep of the paper's code for the first sample of refocus_dense_inputs(): one gradient, then the
 *  prediction at every learning rate of `etas` with forward passes only (the direction of a single step does not
 *  depend on eta). finals[k] is the answer at etas[k], exactly what refocus_dense_predict() answers at that rate
 *  (the initial class where that rate falls back); the sample's row of answers, margins and logits is that of the
 *  last rate. Needs REFOCUS_MODE_IMPLICIT and steps = 1.
 *  @return : 1 if the sample is uncertain, 0 if it is certain (every finals[k] is then the initial class), or an
 *            error code: REFOCUS_ERROR_ARGUMENT for another mode or T, no rate, a negative or non-finite rate or a
 *            threshold outside [0, 1]; REFOCUS_ERROR_NAN for a NaN candidate logit. */
REFOCUS_API int32_t refocus_dense_sweep(refocus_dense* ctx, const float* etas, int32_t n_etas, float threshold,
                                        int32_t* finals);

/*! refocus_dense_forward() :
 *  The plain forward pass of the first n samples, nothing else: writes their logits, and answers with
 *  initial = final = the most likely candidate and REFOCUS_SAMPLE_CERTAIN. Margins are not computed.
 *  @return : 0, or an error code: REFOCUS_ERROR_ARGUMENT for n outside [1, max_batch]; REFOCUS_ERROR_NAN if
 *            a candidate logit is NaN, as refocus_dense_predict() (results are then undefined). */
REFOCUS_API int32_t refocus_dense_forward(refocus_dense* ctx, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* REFOCUS_DENSE_H */
