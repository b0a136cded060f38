// refocus/cuda.h: the fused refocus step for dense networks on an NVIDIA GPU, with dense.cpp's semantics.
//
// A call is one CUDA graph, captured when the context is created and replayed by refocus_cuda_predict(): the host
// writes the call and the samples into pinned, mapped memory, launches the graph and synchronises its stream; the
// kernels read the samples and write the results through the bus themselves (stage.cuh, answers.cuh). The decision
// is taken on the device (focus_head.cuh), so a certain sample costs no extra round trip: the adapted path's
// kernels find no uncertain sample and return at once.
//
// The graph, for L layers, the first adapted layer f and T steps:
//   stage_forward                                       the call and the samples in
//   matmul_forward x L                                  the plain pass (and layer f's pre-activation)
//   focus_head_forward                                  margins, focus classes, decisions, dL/dz, slot list
//   for k = 0 .. T-1:
//     [k > 0: the adapted forward pass at theta^(k), then focus_head_backward for dL/dz]
//     [rank1_dots +] matmul_backward for l = L-1 .. f+1  delta down to layer f (no input gradient there)
//     fused_clip_step                                   norm, clipping, u; IMPLICIT: layer f's step and output
//     [SHADOW: sgd_shadow for l = f .. L-1]
//   the adapted forward pass at theta^(T)               IMPLICIT: [rank1_dots +] matmul_forward, l = f+1 .. L-1
//                                                       SHADOW: matmul_forward, l = f .. L-1
//   answers_forward                                     logits, answers, fallback, the outcome out
//
// Memory is planned once per context (plan()): one cudaMalloc carved into 256-byte aligned regions, one
// cudaHostAlloc for the caller's buffers, a stream; predicting allocates nothing. Rows are padded to whole float4s
// with zeros (cuda_common.cuh, padded()). Per-sample state lives at the sample's row: X(k, l) is the input of
// layer l at theta^(k) (for l <= f the plain pass's, the same at every k), U(k, l) the delta of layer l's output
// at step k, clipped in place into u = s * delta.
#include "refocus/cuda.h"

#include "answers.cuh"
#include "clip.cuh"
#include "cuda_common.cuh"
#include "focus_head.cuh"
#include "matmul_backward.cuh"
#include "matmul_forward.cuh"
#include "rank1.cuh"
#include "sgd.cuh"
#include "stage.cuh"

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <new>
#include <vector>

using namespace refocus_gpu;

struct refocus_cuda_weights_s {
    int32_t device = 0;
    int32_t n_layers = 0;
    std::vector<int32_t> sizes;
    char* block = nullptr;  // one cudaMalloc: W_0 [out][ld_in], b_0, W_1, b_1, ...
    std::vector<const float*> w, b;
};

struct refocus_cuda_s {
    const refocus_cuda_weights* weights = nullptr;
    int32_t device = 0;
    int32_t n_layers = 0, first = 0, steps = 0, max_batch = 0, implicit = 1;
    std::vector<Layer> layers;  // the host copy of the device table
    HeadConfig head{};
    float clip_norm = 0.0f;

    cudaStream_t stream = nullptr;
    cudaEvent_t source_ready = nullptr;  // refocus_cuda_predict_device(): the caller's stream has written the samples
    char* device_block = nullptr;
    char* host_block = nullptr;
    cudaGraph_t graphs[2] = {nullptr, nullptr};
    cudaGraphExec_t execs[2] = {nullptr, nullptr};  // predict, forward

    // pinned host memory: what the caller sees, and its device-side addresses
    HostIo* io = nullptr;
    float* inputs = nullptr;
    float* logits = nullptr;
    int32_t* answers = nullptr;
    float* margins = nullptr;
    HostIo* io_dev = nullptr;
    float* inputs_dev = nullptr;
    float* logits_dev = nullptr;
    int32_t* answers_dev = nullptr;
    float* margins_dev = nullptr;

    // device regions
    Call* call = nullptr;
    Status* status = nullptr;
    Layer* layer_table = nullptr;
    float** x_table = nullptr;  // [(T + 1) * (L + 1)]
    float** u_table = nullptr;  // [T * L]
    std::vector<float*> x_rows, u_rows, p_rows, ax, ud;
    float* h_first = nullptr;
    int32_t *focus = nullptr, *flags = nullptr, *initial = nullptr, *slots = nullptr, *candidates = nullptr;
    int32_t *written = nullptr, *src_written = nullptr, *step_nonzero = nullptr;
    double* first_in_sq = nullptr;

    float* x(int32_t k, int32_t l) const { return x_rows[(size_t)k * (n_layers + 1) + l]; }
    float* u(int32_t k, int32_t l) const { return u_rows[(size_t)k * n_layers + l]; }
    // P(k, l): the pre-activation of X(k, l)'s rows, for l > f where act_{l-1}' needs it (needs_pre), else NULL
    float* p(int32_t k, int32_t l) const { return p_rows[(size_t)k * (n_layers + 1) + l]; }
    // the distance between the rows of two consecutive steps (only for l > f, whose rows depend on the step)
    size_t x_step(int32_t l) const { return steps > 0 ? (size_t)(x(1, l) - x(0, l)) : 0; }
    size_t u_step(int32_t l) const { return steps > 1 ? (size_t)(u(1, l) - u(0, l)) : 0; }
};

namespace {

// ---------------------------------------------------------------------------------------------------
// memory plans

// A bump allocator over offsets, with checked arithmetic: measure first, then carve from one allocation.
struct Arena {
    size_t used = 0;
    bool overflow = false;
    size_t align;

    explicit Arena(size_t alignment) : align(alignment) {}
    size_t mul(size_t a, size_t b) {
        size_t r;
        overflow |= __builtin_mul_overflow(a, b, &r);
        return r;
    }
    size_t take(size_t bytes) {
        size_t start;
        overflow |= __builtin_add_overflow(used, align - 1, &start);
        start &= ~(align - 1);
        overflow |= __builtin_add_overflow(start, bytes, &used);
        return start;
    }
    template <class T>
    size_t take(size_t count) {
        return take(mul(count, sizeof(T)));
    }
};

template <class T>
T* at(char* base, size_t offset) {
    return reinterpret_cast<T*>(base + offset);
}

int32_t argument_error() { return REFOCUS_ERROR_ARGUMENT; }

// The configuration as refocus_dense_workspace_size() checks it (cfg->params need not be set: a context reads the
// uploaded weights), plus distinct candidates, which only the CPU init catches.
bool valid(const refocus_dense_config* cfg) {
    if (cfg == nullptr) return false;
    refocus_dense_config copy = *cfg;
    static const float placeholder = 0.0f;
    if (copy.params == nullptr) copy.params = &placeholder;  // never read: only the sizes are measured
    if (refocus_dense_workspace_size(&copy) == 0) return false;
    if (cfg->candidates == nullptr) return true;
    std::vector<char> seen((size_t)cfg->sizes[cfg->n_layers], 0);
    for (int32_t i = 0; i < cfg->n_candidates; i++) {
        if (seen[cfg->candidates[i]]) return false;
        seen[cfg->candidates[i]] = 1;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------
// the call, enqueued on a stream (captured into a graph once)

// The adapted forward pass at theta^(k), k >= 1, from the first adapted layer up to the logits X(k, L).
int32_t forward_adapted(const refocus_cuda* ctx, int32_t k, cudaStream_t stream) {
    const int32_t f = ctx->first, n_layers = ctx->n_layers;
    for (int32_t l = ctx->implicit ? f + 1 : f; l < n_layers; l++) {
        const Layer& layer = ctx->layers[l];
        ForwardArgs a{};
        a.layer = layer;
        a.x = ctx->x(k, l);
        a.y = ctx->x(k, l + 1);
        a.kept_pre = ctx->p(k, l + 1);
        a.adapted = 1;
        a.steps = ctx->steps;
        a.n_layers = n_layers;
        a.call = ctx->call;
        a.status = ctx->status;
        a.slots = ctx->slots;
        if (ctx->implicit) {
            if (l >= f + 2 && layer.adapts_weight) {  // layer f + 1's dots come from fused_clip_step
                DotsArgs d{ctx->x(0, l), ctx->x_step(l), ctx->x(k, l), layer.ld_in, ctx->ax[l], ctx->steps, k,
                           ctx->status, ctx->slots};
                const int32_t rc = rank1_dots(d, ctx->max_batch, stream);
                if (rc != 0) return rc;
            }
            a.k = k;
            a.u = ctx->u(0, l);
            a.u_step = ctx->u_step(l);
            a.ax = ctx->ax[l];
        } else {
            a.written = ctx->written;
        }
        const int32_t rc = matmul_forward(a, stream);
        if (rc != 0) return rc;
    }
    return 0;
}

HeadArgs head_args(const refocus_cuda* ctx, int32_t k) {
    const int32_t f = ctx->first;
    HeadArgs a{};
    a.head = ctx->head;
    a.logits = ctx->x(k, ctx->n_layers);
    a.pre_logits = ctx->p(k, ctx->n_layers);
    a.delta = ctx->u(k, ctx->n_layers - 1);
    a.focus = ctx->focus;
    a.flags = ctx->flags;
    a.initial = ctx->initial;
    a.slots = ctx->slots;
    a.written = ctx->implicit ? nullptr : ctx->written;
    a.n_layers = ctx->n_layers;
    a.first_in = ctx->x(0, f);
    a.first_in_len = ctx->layers[f].in;
    a.first_in_ld = ctx->layers[f].ld_in;
    a.first_in_sq = ctx->first_in_sq;
    a.first_adapts_weight = ctx->layers[f].adapts_weight;
    a.margins = ctx->margins_dev;
    a.call = ctx->call;
    a.status = ctx->status;
    return a;
}

int32_t enqueue_plain(const refocus_cuda* ctx, cudaStream_t stream) {
    int32_t rc = stage_forward(ctx->io_dev, ctx->inputs_dev, ctx->layers[0].in, ctx->call, ctx->status, ctx->x(0, 0),
                               stream);
    for (int32_t l = 0; rc == 0 && l < ctx->n_layers; l++) {
        ForwardArgs a{};
        a.layer = ctx->layers[l];
        a.x = ctx->x(0, l);
        a.y = ctx->x(0, l + 1);
        a.pre = l == ctx->first ? ctx->h_first : nullptr;
        a.kept_pre = ctx->p(0, l + 1);
        a.n_layers = ctx->n_layers;
        a.call = ctx->call;
        a.status = ctx->status;
        a.slots = ctx->slots;
        rc = matmul_forward(a, stream);
    }
    return rc;
}

AnswersArgs answers_args(const refocus_cuda* ctx, int32_t forward_only) {
    AnswersArgs a{};
    a.head = ctx->head;
    a.plain = ctx->x(0, ctx->n_layers);
    a.adapted = ctx->x(ctx->steps, ctx->n_layers);
    a.flags = ctx->flags;
    a.initial = ctx->initial;
    a.forward_only = forward_only;
    a.logits = ctx->logits_dev;
    a.answers = ctx->answers_dev;
    a.io = ctx->io_dev;
    a.call = ctx->call;
    a.status = ctx->status;
    return a;
}

#define TRY(call)                           \
    do {                                    \
        const int32_t rc_ = (call);         \
        if (rc_ != 0) return rc_;           \
    } while (0)

int32_t enqueue_predict(const refocus_cuda* ctx, cudaStream_t stream) {
    const int32_t f = ctx->first, n_layers = ctx->n_layers, top = n_layers - 1;
    TRY(enqueue_plain(ctx, stream));
    TRY(focus_head_forward(head_args(ctx, 0), stream));
    for (int32_t k = 0; k < ctx->steps; k++) {
        if (k > 0) {
            TRY(forward_adapted(ctx, k, stream));
            TRY(focus_head_backward(head_args(ctx, k), ctx->max_batch, stream));
        }
        for (int32_t l = top; l > f; l--) {
            const Layer& layer = ctx->layers[l];
            BackwardArgs a{};
            a.layer = layer;
            a.d = ctx->u(k, l);
            a.g = ctx->u(k, l - 1);
            a.a = ctx->x(k, l);
            a.pre = ctx->p(k, l);
            a.activation = ctx->layers[l - 1].activation;
            a.steps = ctx->steps;
            a.written = ctx->implicit ? nullptr : ctx->written;
            a.n_layers = n_layers;
            a.call = ctx->call;
            a.status = ctx->status;
            a.slots = ctx->slots;
            if (ctx->implicit && layer.adapts_weight && k > 0) {
                DotsArgs d{ctx->u(0, l), ctx->u_step(l), ctx->u(k, l), layer.ld_out, ctx->ud[l], ctx->steps, k,
                           ctx->status, ctx->slots};
                TRY(rank1_dots(d, ctx->max_batch, stream));
                a.k = k;
                a.a_tau = ctx->x(0, l);
                a.a_step = ctx->x_step(l);
                a.ud = ctx->ud[l];
            }
            TRY(matmul_backward(a, stream));
        }
        ClipArgs c{};
        c.layers = ctx->layer_table;
        c.n_layers = n_layers;
        c.first = f;
        c.k = k;
        c.steps = ctx->steps;
        c.implicit = ctx->implicit;
        c.clip_norm = ctx->clip_norm;
        c.u_rows = ctx->u_table;
        c.x_rows = ctx->x_table;
        c.first_in_sq = ctx->first_in_sq;
        c.call = ctx->call;
        c.status = ctx->status;
        c.slots = ctx->slots;
        if (ctx->implicit) {
            c.h_first = ctx->h_first;
            c.pre_next = ctx->p(k + 1, f + 1);
            c.ax_next = f + 1 < n_layers && ctx->layers[f + 1].adapts_weight ? ctx->ax[f + 1] : nullptr;
        } else {
            c.written = ctx->written;
            c.src_written = ctx->src_written;
            c.step_nonzero = ctx->step_nonzero;
        }
        TRY(fused_clip_step(c, ctx->max_batch, stream));
        for (int32_t l = f; !ctx->implicit && l < n_layers; l++) {
            SgdArgs s{ctx->layers[l], ctx->u(k, l),   ctx->x(k, l), ctx->src_written, ctx->step_nonzero,
                      n_layers,       ctx->call,      ctx->status,  ctx->slots};
            TRY(sgd_shadow(s, ctx->max_batch, stream));
        }
    }
    TRY(forward_adapted(ctx, ctx->steps, stream));
    return answers_forward(answers_args(ctx, 0), stream);
}

int32_t enqueue_forward(const refocus_cuda* ctx, cudaStream_t stream) {
    TRY(enqueue_plain(ctx, stream));
    return answers_forward(answers_args(ctx, 1), stream);
}

// Captures one call into a graph and instantiates it.
int32_t capture(refocus_cuda* ctx, int32_t which, int32_t (*enqueue)(const refocus_cuda*, cudaStream_t)) {
    cudaCheck(cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal));
    const int32_t rc = enqueue(ctx, ctx->stream);
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(ctx->stream, &graph);
    if (rc != 0) {
        if (graph != nullptr) cudaGraphDestroy(graph);
        return rc;
    }
    cudaCheck(ended);
    ctx->graphs[which] = graph;
    cudaCheck(cudaGraphInstantiate(&ctx->execs[which], graph, 0));
    return 0;
}

// Replays a captured call and waits for it.
int32_t run(refocus_cuda* ctx, int32_t which) {
    cudaCheck(cudaSetDevice(ctx->device));
    cudaCheck(cudaGraphLaunch(ctx->execs[which], ctx->stream));
    cudaCheck(cudaStreamSynchronize(ctx->stream));
    return 0;
}

// ---------------------------------------------------------------------------------------------------
// the context: plan, carve, tables, graphs

int32_t build(refocus_cuda* ctx, const refocus_dense_config* cfg) {
    const int32_t n_layers = cfg->n_layers, f = cfg->first_adapted_layer, steps = cfg->steps;
    const int32_t* sizes = cfg->sizes;
    const size_t batch = (size_t)cfg->max_batch;
    const bool shadow = cfg->mode == REFOCUS_MODE_SHADOW;
    ctx->n_layers = n_layers;
    ctx->first = f;
    ctx->steps = steps;
    ctx->max_batch = cfg->max_batch;
    ctx->implicit = shadow ? 0 : 1;
    ctx->clip_norm = cfg->clip_norm;
    const int32_t classes = sizes[n_layers];
    const int32_t k_size = cfg->candidates != nullptr ? cfg->n_candidates : classes;

    // --- the device plan
    Arena d(256);
    const size_t call_at = d.take<Call>(1), status_at = d.take<Status>(1);
    const size_t layers_at = d.take<Layer>((size_t)n_layers);
    const size_t x_table_at = d.take<float*>(((size_t)steps + 1) * (n_layers + 1));
    const size_t u_table_at = d.take<float*>((size_t)steps * n_layers);
    const size_t candidates_at = d.take<int32_t>(cfg->candidates != nullptr ? (size_t)k_size : 0);
    std::vector<size_t> x_at(((size_t)steps + 1) * (n_layers + 1), 0), u_at((size_t)steps * n_layers, 0);
    for (int32_t l = 0; l <= f; l++) x_at[l] = d.take<float>(d.mul(batch, (size_t)padded(sizes[l])));
    for (int32_t k = 0; k <= steps; k++) {
        for (int32_t l = 0; l <= n_layers; l++) {
            const size_t i = (size_t)k * (n_layers + 1) + l;
            x_at[i] = l <= f ? x_at[l] : d.take<float>(d.mul(batch, (size_t)padded(sizes[l])));
        }
    }
    const size_t no_rows = SIZE_MAX;
    std::vector<size_t> p_at(((size_t)steps + 1) * (n_layers + 1), no_rows);
    for (int32_t k = 0; k <= steps; k++) {
        for (int32_t l = f + 1; l <= n_layers; l++) {
            if (!needs_pre(cfg->activations[l - 1])) continue;
            p_at[(size_t)k * (n_layers + 1) + l] = d.take<float>(d.mul(batch, (size_t)padded(sizes[l])));
        }
    }
    for (int32_t k = 0; k < steps; k++) {
        for (int32_t l = f; l < n_layers; l++) {
            u_at[(size_t)k * n_layers + l] = d.take<float>(d.mul(batch, (size_t)padded(sizes[l + 1])));
        }
    }
    const size_t h_at = d.take<float>(d.mul(batch, (size_t)padded(sizes[f + 1])));
    std::vector<size_t> ax_at(n_layers, 0), ud_at(n_layers, 0);
    for (int32_t l = f + 1; l < n_layers; l++) {
        ax_at[l] = d.take<float>(d.mul(batch, (size_t)steps));
        ud_at[l] = d.take<float>(d.mul(batch, (size_t)steps));
    }
    const size_t focus_at = d.take<int32_t>(d.mul(batch, (size_t)cfg->n_focus));
    const size_t flags_at = d.take<int32_t>(batch), initial_at = d.take<int32_t>(batch);
    const size_t slots_at = d.take<int32_t>(batch), sq_at = d.take<double>(batch);
    const size_t flag_table = shadow ? d.mul(batch, (size_t)n_layers) : 0;
    const size_t written_at = d.take<int32_t>(flag_table), src_at = d.take<int32_t>(flag_table);
    const size_t nonzero_at = d.take<int32_t>(flag_table);
    std::vector<size_t> shadow_w_at(n_layers, 0), shadow_b_at(n_layers, 0);
    std::vector<size_t> shadow_w_stride(n_layers, 0), shadow_b_stride(n_layers, 0);
    for (int32_t l = f; shadow && l < n_layers; l++) {
        if (!cfg->biases_only) {
            shadow_w_stride[l] = d.mul((size_t)sizes[l + 1], (size_t)padded(sizes[l]));
            shadow_w_at[l] = d.take<float>(d.mul(batch, shadow_w_stride[l]));
        }
        shadow_b_stride[l] = (size_t)padded(sizes[l + 1]);
        shadow_b_at[l] = d.take<float>(d.mul(batch, shadow_b_stride[l]));
    }
    // --- the pinned host plan
    Arena h(64);
    const size_t io_at = h.take<HostIo>(1);
    const size_t inputs_at = h.take<float>(h.mul(batch, (size_t)sizes[0]));
    const size_t logits_at = h.take<float>(h.mul(batch, (size_t)classes));
    const size_t answers_at = h.take<int32_t>(h.mul(batch, 3));
    const size_t margins_at = h.take<float>(batch);
    if (d.overflow || h.overflow) return argument_error();

    // everything below runs on the context's stream (a non-blocking one: it does not wait for the legacy default
    // stream), and build() synchronises it before the context is used
    cudaCheck(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
    cudaCheck(cudaEventCreateWithFlags(&ctx->source_ready, cudaEventDisableTiming));
    cudaCheck(cudaMalloc(reinterpret_cast<void**>(&ctx->device_block), d.used));
    cudaCheck(cudaMemsetAsync(ctx->device_block, 0, d.used, ctx->stream));  // padding and flags start at 0, stay so
    cudaCheck(cudaHostAlloc(reinterpret_cast<void**>(&ctx->host_block), h.used,
                            cudaHostAllocMapped | cudaHostAllocPortable));
    std::memset(ctx->host_block, 0, h.used);
    char* host_dev = nullptr;
    cudaCheck(cudaHostGetDevicePointer(reinterpret_cast<void**>(&host_dev), ctx->host_block, 0));

    char* base = ctx->device_block;
    ctx->io = at<HostIo>(ctx->host_block, io_at);
    ctx->inputs = at<float>(ctx->host_block, inputs_at);
    ctx->logits = at<float>(ctx->host_block, logits_at);
    ctx->answers = at<int32_t>(ctx->host_block, answers_at);
    ctx->margins = at<float>(ctx->host_block, margins_at);
    ctx->io_dev = at<HostIo>(host_dev, io_at);
    ctx->inputs_dev = at<float>(host_dev, inputs_at);
    ctx->logits_dev = at<float>(host_dev, logits_at);
    ctx->answers_dev = at<int32_t>(host_dev, answers_at);
    ctx->margins_dev = at<float>(host_dev, margins_at);
    ctx->call = at<Call>(base, call_at);
    ctx->status = at<Status>(base, status_at);
    ctx->layer_table = at<Layer>(base, layers_at);
    ctx->x_table = at<float*>(base, x_table_at);
    ctx->u_table = at<float*>(base, u_table_at);
    ctx->x_rows.resize(x_at.size());
    for (size_t i = 0; i < x_at.size(); i++) ctx->x_rows[i] = at<float>(base, x_at[i]);
    ctx->p_rows.assign(p_at.size(), nullptr);
    for (size_t i = 0; i < p_at.size(); i++) {
        if (p_at[i] != no_rows) ctx->p_rows[i] = at<float>(base, p_at[i]);
    }
    ctx->u_rows.assign(u_at.size(), nullptr);
    for (size_t i = 0; i < u_at.size(); i++) {
        if ((int32_t)(i % n_layers) >= f) ctx->u_rows[i] = at<float>(base, u_at[i]);
    }
    ctx->h_first = at<float>(base, h_at);
    ctx->ax.assign(n_layers, nullptr);
    ctx->ud.assign(n_layers, nullptr);
    for (int32_t l = f + 1; l < n_layers; l++) {
        ctx->ax[l] = at<float>(base, ax_at[l]);
        ctx->ud[l] = at<float>(base, ud_at[l]);
    }
    ctx->focus = at<int32_t>(base, focus_at);
    ctx->flags = at<int32_t>(base, flags_at);
    ctx->initial = at<int32_t>(base, initial_at);
    ctx->slots = at<int32_t>(base, slots_at);
    ctx->first_in_sq = at<double>(base, sq_at);
    if (shadow) {
        ctx->written = at<int32_t>(base, written_at);
        ctx->src_written = at<int32_t>(base, src_at);
        ctx->step_nonzero = at<int32_t>(base, nonzero_at);
    }
    if (cfg->candidates != nullptr) {
        ctx->candidates = at<int32_t>(base, candidates_at);
        cudaCheck(cudaMemcpyAsync(ctx->candidates, cfg->candidates, sizeof(int32_t) * k_size, cudaMemcpyHostToDevice,
                                  ctx->stream));
    }

    ctx->layers.resize(n_layers);
    for (int32_t l = 0; l < n_layers; l++) {
        Layer& layer = ctx->layers[l];
        layer = Layer{};
        layer.w = ctx->weights->w[l];
        layer.b = ctx->weights->b[l];
        layer.in = sizes[l];
        layer.out = sizes[l + 1];
        layer.ld_in = padded(sizes[l]);
        layer.ld_out = padded(sizes[l + 1]);
        layer.activation = cfg->activations[l];
        layer.index = l;
        layer.adapts_weight = l >= f && !cfg->biases_only;
        if (shadow && l >= f) {
            layer.shadow_w = layer.adapts_weight ? at<float>(base, shadow_w_at[l]) : nullptr;
            layer.shadow_b = at<float>(base, shadow_b_at[l]);
            layer.shadow_w_stride = shadow_w_stride[l];
            layer.shadow_b_stride = shadow_b_stride[l];
        }
    }
    ctx->head.n_classes = classes;
    ctx->head.ld_c = padded(classes);
    ctx->head.activation = cfg->activations[n_layers - 1];
    ctx->head.method = cfg->method;
    ctx->head.n_focus = cfg->n_focus;
    ctx->head.candidates = ctx->candidates;
    ctx->head.n_candidates = k_size;

    cudaCheck(cudaMemcpyAsync(ctx->layer_table, ctx->layers.data(), sizeof(Layer) * n_layers, cudaMemcpyHostToDevice,
                              ctx->stream));
    cudaCheck(cudaMemcpyAsync(ctx->x_table, ctx->x_rows.data(), sizeof(float*) * ctx->x_rows.size(),
                              cudaMemcpyHostToDevice, ctx->stream));
    if (!ctx->u_rows.empty()) {
        cudaCheck(cudaMemcpyAsync(ctx->u_table, ctx->u_rows.data(), sizeof(float*) * ctx->u_rows.size(),
                                  cudaMemcpyHostToDevice, ctx->stream));
    }
    cudaCheck(cudaStreamSynchronize(ctx->stream));  // the host vectors copied from may go; the context is ready
    TRY(capture(ctx, 0, enqueue_predict));
    return capture(ctx, 1, enqueue_forward);
}

// ---------------------------------------------------------------------------------------------------
// samples already on the device (refocus_cuda_predict_device)

// An argument refused, with the reason in last_error: the checks only the runtime can make need words, not a code.
__attribute__((format(printf, 1, 2))) int32_t refuse(const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(last_error, sizeof last_error, format, args);
    va_end(args);
    return REFOCUS_ERROR_ARGUMENT;
}

// cuMemGetAddressRange_v2 (CUresult, an int, is 0 on success), found through the runtime because the static cudart
// is linked and libcuda is not: NULL where the driver has none, and then the range is not checked.
using AddressRange = int (*)(unsigned long long* base, size_t* size, unsigned long long address);

AddressRange address_range() {
    static const AddressRange found = [] {
        void* fn = nullptr;
        cudaDriverEntryPointQueryResult status = cudaDriverEntryPointSymbolNotFound;
        if (cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &fn, 12000, cudaEnableDefault, &status)
                != cudaSuccess || status != cudaDriverEntryPointSuccess) {
            (void)cudaGetLastError();
            fn = nullptr;
        }
        return reinterpret_cast<AddressRange>(fn);
    }();
    return found;
}

const char* memory_kind(int type) {
    switch (type) {
        case cudaMemoryTypeUnregistered: return "host memory";
        case cudaMemoryTypeHost: return "pinned host memory";
        default: return "not device memory";
    }
}

// Everything about a caller's samples and stream that can be checked before the call: what they are, where they
// are, and that the samples lie inside one allocation.
int32_t check_source(const refocus_cuda* ctx, const float* inputs, int32_t n, cudaStream_t stream) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(inputs);
    if (inputs == nullptr) return refuse("the device pointer is null");
    if (address % alignof(float) != 0) {
        return refuse("the device pointer 0x%" PRIxPTR " is not aligned to a float (4 bytes)", address);
    }
    cudaPointerAttributes attributes{};
    const cudaError_t err = cudaPointerGetAttributes(&attributes, inputs);
    if (err == cudaErrorInvalidValue) {
        (void)cudaGetLastError();
        return refuse("0x%" PRIxPTR " is no memory the CUDA runtime knows", address);
    }
    cudaCheck(err);
    if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged) {
        return refuse("0x%" PRIxPTR " is %s, not device memory (samples in host memory go through the pinned "
                      "inputs)", address, memory_kind(attributes.type));
    }
    if (attributes.device != ctx->device) {
        return refuse("0x%" PRIxPTR " is memory of CUDA device %d; this predictor runs on device %d", address,
                      attributes.device, ctx->device);
    }
    const size_t bytes = sizeof(float) * (size_t)n * (size_t)ctx->layers[0].in;
    if (const AddressRange range = address_range()) {
        unsigned long long base = 0;
        size_t size = 0;
        if (range(&base, &size, address) != 0) {
            return refuse("0x%" PRIxPTR " lies in no device allocation", address);
        }
        const size_t offset = address - (uintptr_t)base;  // base <= address: the allocation holds the address
        if (offset > size || bytes > size - offset) {
            return refuse("%d samples of %d floats (%zu bytes) from 0x%" PRIxPTR " run past the end of their "
                          "allocation (%zu bytes from 0x%llx)", n, ctx->layers[0].in, bytes, address, size, base);
        }
    }
    int stream_device = -1;
    cudaCheck(cudaStreamGetDevice(stream, &stream_device));
    if (stream_device != ctx->device) {
        return refuse("the stream belongs to CUDA device %d; this predictor runs on device %d", stream_device,
                      ctx->device);
    }
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    cudaCheck(cudaStreamIsCapturing(stream, &capture));
    if (capture != cudaStreamCaptureStatusNone) {
        return refuse("the stream is capturing a CUDA graph: the call waits for its results, which a "
                      "capture never runs");
    }
    return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// the C ABI

extern "C" {

const char* refocus_cuda_last_error(void) { return last_error; }

int32_t refocus_cuda_device_count(void) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorNoDevice) {
        fail(err, __FILE__, __LINE__);  // a driver, no device: 0, and the reason
        return 0;
    }
    cudaCheck(err);
    return count;
}

int32_t refocus_cuda_weights_upload(int32_t device, const refocus_dense_config* cfg, refocus_cuda_weights** out) {
    if (out == nullptr) return REFOCUS_ERROR_ARGUMENT;
    *out = nullptr;
    if (cfg == nullptr || cfg->params == nullptr || !valid(cfg) || device < 0) return REFOCUS_ERROR_ARGUMENT;
    if (cfg->weight_format != REFOCUS_WEIGHTS_F32) return REFOCUS_ERROR_ARGUMENT;  // bf16: the caller widens (cuda.h)
    const int32_t count = refocus_cuda_device_count();
    if (count < 0) return count;
    if (device >= count) return REFOCUS_ERROR_ARGUMENT;

    refocus_cuda_weights* weights = new (std::nothrow) refocus_cuda_weights();
    if (weights == nullptr) return REFOCUS_ERROR_CUDA;
    const int32_t rc = [&]() -> int32_t {
        try {
            const int32_t n_layers = cfg->n_layers;
            weights->device = device;
            weights->n_layers = n_layers;
            weights->sizes.assign(cfg->sizes, cfg->sizes + n_layers + 1);
            Arena a(256);
            std::vector<size_t> w_at(n_layers), b_at(n_layers);
            for (int32_t l = 0; l < n_layers; l++) {
                w_at[l] = a.take<float>(a.mul((size_t)cfg->sizes[l + 1], (size_t)padded(cfg->sizes[l])));
                b_at[l] = a.take<float>((size_t)padded(cfg->sizes[l + 1]));
            }
            if (a.overflow) return REFOCUS_ERROR_ARGUMENT;
            cudaCheck(cudaSetDevice(device));
            cudaCheck(cudaMalloc(reinterpret_cast<void**>(&weights->block), a.used));
            cudaCheck(cudaMemset(weights->block, 0, a.used));
            const float* p = static_cast<const float*>(cfg->params);
            for (int32_t l = 0; l < n_layers; l++) {
                const size_t in = (size_t)cfg->sizes[l], out_size = (size_t)cfg->sizes[l + 1];
                float* w = at<float>(weights->block, w_at[l]);
                float* b = at<float>(weights->block, b_at[l]);
                cudaCheck(cudaMemcpy2D(w, sizeof(float) * padded((int32_t)in), p, sizeof(float) * in,
                                       sizeof(float) * in, out_size, cudaMemcpyHostToDevice));
                p += in * out_size;
                cudaCheck(cudaMemcpy(b, p, sizeof(float) * out_size, cudaMemcpyHostToDevice));
                p += out_size;
                weights->w.push_back(w);
                weights->b.push_back(b);
            }
            // the copies ran on the legacy default stream, which contexts' non-blocking streams do not wait for
            cudaCheck(cudaStreamSynchronize(nullptr));
            return 0;
        } catch (const std::bad_alloc&) {
            std::snprintf(last_error, sizeof last_error, "out of host memory");
            return REFOCUS_ERROR_CUDA;
        }
    }();
    if (rc != 0) {
        refocus_cuda_weights_free(weights);
        return rc;
    }
    *out = weights;
    return 0;
}

void refocus_cuda_weights_free(refocus_cuda_weights* weights) {
    if (weights == nullptr) return;
    if (weights->block != nullptr) {
        cudaSetDevice(weights->device);
        cudaFree(weights->block);
    }
    delete weights;
}

int32_t refocus_cuda_create(const refocus_cuda_weights* weights, const refocus_dense_config* cfg,
                            refocus_cuda** out) {
    if (out == nullptr) return REFOCUS_ERROR_ARGUMENT;
    *out = nullptr;
    if (weights == nullptr || !valid(cfg) || cfg->n_layers != weights->n_layers) return REFOCUS_ERROR_ARGUMENT;
    for (int32_t l = 0; l <= cfg->n_layers; l++) {
        if (cfg->sizes[l] != weights->sizes[l]) return REFOCUS_ERROR_ARGUMENT;
    }
    refocus_cuda* ctx = new (std::nothrow) refocus_cuda();
    if (ctx == nullptr) return REFOCUS_ERROR_CUDA;
    ctx->weights = weights;
    ctx->device = weights->device;
    int32_t rc;
    try {
        cudaError_t err = cudaSetDevice(weights->device);
        rc = err == cudaSuccess ? build(ctx, cfg) : fail(err, __FILE__, __LINE__);
    } catch (const std::bad_alloc&) {
        std::snprintf(last_error, sizeof last_error, "out of host memory");
        rc = REFOCUS_ERROR_CUDA;
    }
    if (rc != 0) {
        refocus_cuda_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void refocus_cuda_free(refocus_cuda* ctx) {
    if (ctx == nullptr) return;
    cudaSetDevice(ctx->device);
    if (ctx->stream != nullptr) cudaStreamSynchronize(ctx->stream);
    for (int32_t i = 0; i < 2; i++) {
        if (ctx->execs[i] != nullptr) cudaGraphExecDestroy(ctx->execs[i]);
        if (ctx->graphs[i] != nullptr) cudaGraphDestroy(ctx->graphs[i]);
    }
    if (ctx->source_ready != nullptr) cudaEventDestroy(ctx->source_ready);
    if (ctx->stream != nullptr) cudaStreamDestroy(ctx->stream);
    if (ctx->device_block != nullptr) cudaFree(ctx->device_block);
    if (ctx->host_block != nullptr) cudaFreeHost(ctx->host_block);
    (void)cudaGetLastError();
    delete ctx;
}

float* refocus_cuda_inputs(refocus_cuda* ctx) { return ctx->inputs; }
float* refocus_cuda_logits(refocus_cuda* ctx) { return ctx->logits; }
int32_t* refocus_cuda_answers(refocus_cuda* ctx) { return ctx->answers; }
float* refocus_cuda_margins(refocus_cuda* ctx) { return ctx->margins; }

int32_t refocus_cuda_predict(refocus_cuda* ctx, int32_t n, float learning_rate, float threshold) {
    if (ctx == nullptr || n < 1 || n > ctx->max_batch || !std::isfinite(learning_rate) || learning_rate < 0.0f
        || !(threshold >= 0.0f && threshold <= 1.0f)) {
        return REFOCUS_ERROR_ARGUMENT;
    }
    ctx->io->call = Call{n, learning_rate, threshold, 0};
    ctx->io->source = nullptr;
    TRY(run(ctx, 0));
    if (ctx->io->nan != 0) return REFOCUS_ERROR_NAN;
    return ctx->io->n_adapted;
}

int32_t refocus_cuda_forward(refocus_cuda* ctx, int32_t n) {
    if (ctx == nullptr || n < 1 || n > ctx->max_batch) return REFOCUS_ERROR_ARGUMENT;
    ctx->io->call = Call{n, 0.0f, 0.0f, 0};
    ctx->io->source = nullptr;
    return run(ctx, 1);
}

int32_t refocus_cuda_predict_device(refocus_cuda* ctx, const float* inputs, int32_t n, void* stream,
                                    float learning_rate, float threshold) {
    if (ctx == nullptr) return refuse("the context is null");
    if (n < 1 || n > ctx->max_batch) return refuse("%d samples; this context takes 1 to %d", n, ctx->max_batch);
    if (!std::isfinite(learning_rate) || learning_rate < 0.0f) {
        return refuse("learning rate %g; it must be finite and >= 0", (double)learning_rate);
    }
    if (!(threshold >= 0.0f && threshold <= 1.0f)) {
        return refuse("margin threshold %g; it must be in [0, 1]", (double)threshold);
    }
    const cudaStream_t caller = static_cast<cudaStream_t>(stream);
    cudaCheck(cudaSetDevice(ctx->device));
    TRY(check_source(ctx, inputs, n, caller));
    ctx->io->call = Call{n, learning_rate, threshold, 0};
    ctx->io->source = inputs;
    // the graph starts after everything the caller enqueued on its stream so far, the samples' writes among them
    cudaCheck(cudaEventRecord(ctx->source_ready, caller));
    cudaCheck(cudaStreamWaitEvent(ctx->stream, ctx->source_ready, 0));
    TRY(run(ctx, 0));
    if (ctx->io->non_finite >= 0) {
        const float value = ctx->io->non_finite_value;
        return refuse("input[%" PRId64 "] is %s; inputs must be finite", ctx->io->non_finite,
                      value != value ? "NaN" : value > 0.0f ? "Infinity" : "-Infinity");
    }
    if (ctx->io->nan != 0) return REFOCUS_ERROR_NAN;
    return ctx->io->n_adapted;
}

int32_t refocus_cuda_buffer_alloc(int32_t device, int64_t bytes, void** out) {
    if (out == nullptr) return REFOCUS_ERROR_ARGUMENT;
    *out = nullptr;
    if (device < 0 || bytes < 1) return REFOCUS_ERROR_ARGUMENT;
    const int32_t count = refocus_cuda_device_count();
    if (count < 0) return count;
    if (device >= count) return REFOCUS_ERROR_ARGUMENT;
    cudaCheck(cudaSetDevice(device));
    cudaCheck(cudaMalloc(out, (size_t)bytes));
    return 0;
}

void refocus_cuda_buffer_free(void* buffer) {
    if (buffer != nullptr) cudaFree(buffer);
    (void)cudaGetLastError();
}

int32_t refocus_cuda_buffer_write(void* buffer, int64_t offset, const float* values, int64_t count) {
    if (buffer == nullptr || values == nullptr || offset < 0 || count < 0) return REFOCUS_ERROR_ARGUMENT;
    cudaCheck(cudaMemcpy(static_cast<char*>(buffer) + offset, values, sizeof(float) * (size_t)count,
                         cudaMemcpyHostToDevice));
    return 0;
}

}  // extern "C"
