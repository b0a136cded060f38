// The CUDA step (refocus/cuda.h) against the CPU step (refocus/dense.h), llm.c's way: the same random networks and
// inputs through both, every method x mode x T x parameter subset x candidates x batch size, and the CPU's answers
// are the reference. The CPU step itself is checked against the plain-Java oracle by NativePredictorTest.
//
// Tolerances (float against float, different summation orders):
//   - margins within 1e-5; the adapt decision identical unless the CPU's margin is within 1e-5 of d;
//   - logits within 1e-4 + 1e-4 |ref| (plain and adapted);
//   - classes identical unless the CPU's logits have a near-tie, NativePredictorTest's rule: another candidate
//     within 2e-4 (1 + |z_best|) of the best. A near-tie at the edge of the focus set (between the n_f-th and the
//     next candidate of the plain logits) may pick other focus classes: such a sample's adapted results are not
//     compared (the count of excused samples is printed).
// Also: the forward pass, argument errors, a NaN logit (REFOCUS_ERROR_NAN), the fallback of a sample whose adapted
// logits are not finite, contexts sharing weights, a batch giving each sample the bits a call of its own gives it,
// and samples already on the device (refocus_cuda_predict_device): the same bits as from the pinned inputs, ordered
// after the caller's stream, and every refusal with its reason.
//
// usage: test_cuda [quick | sanitize]   (quick: the small networks and a sample of the configurations, for the
//                             emulator; sanitize: fewer still, every edge test, for compute-sanitizer's slow tools).
//                             Without a usable device it prints why and exits with 77, which ctest reports as
//                             skipped.
#include "check.h"
#include "refocus/cuda.h"
#include "refocus/dense.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int SKIPPED = 77;
constexpr double TOL = 1e-4, EPS = 1e-4, MARGIN_TOL = 1e-5;
constexpr double TIE = 2e-4;        // final classes: NativePredictorTest's near-tie
constexpr double PLAIN_TIE = 1e-5;  // plain logits (initial class, focus set): they differ by float rounding only

const char* const METHODS[REFOCUS_METHOD_COUNT] = {"ifo_weighted", "ifo", "dofo", "cross_entropy", "entropy"};

struct Network {
    std::string name;
    std::vector<int32_t> sizes, activations;
    std::vector<float> params;
    refocus_cuda_weights* weights = nullptr;

    int32_t layers() const { return (int32_t)activations.size(); }
    int32_t classes() const { return sizes.back(); }
};

// Weights and biases uniform in +-1/sqrt(fan_in) (nn.Linear's bound), the head scaled by 0.01 and its bias zeroed:
// logits near zero, so samples are uncertain (DESIGN.md section 5).
Network make_network(const std::string& name, std::vector<int32_t> sizes, int32_t hidden, uint32_t seed,
                     int32_t last = REFOCUS_ACT_IDENTITY) {
    Network net;
    net.name = name;
    net.sizes = sizes;
    std::mt19937 random(seed);
    const int32_t layers = (int32_t)sizes.size() - 1;
    for (int32_t l = 0; l < layers; l++) {
        net.activations.push_back(l + 1 < layers ? hidden : last);
        const float bound = 1.0f / std::sqrt((float)sizes[l]);
        std::uniform_real_distribution<float> uniform(-bound, bound);
        const bool head = l + 1 == layers;
        for (int32_t i = 0; i < sizes[l] * sizes[l + 1]; i++) net.params.push_back(uniform(random) * (head ? 0.01f : 1.0f));
        for (int32_t o = 0; o < sizes[l + 1]; o++) net.params.push_back(head ? 0.0f : uniform(random));
    }
    return net;
}

std::vector<float> make_inputs(int32_t n, int32_t size, uint32_t seed) {
    std::mt19937 random(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x((size_t)n * size);
    for (float& v : x) v = normal(random);
    return x;
}

refocus_dense_config base_config(const Network& net) {
    refocus_dense_config cfg{};
    cfg.n_layers = net.layers();
    cfg.sizes = net.sizes.data();
    cfg.activations = net.activations.data();
    cfg.params = net.params.data();
    cfg.method = REFOCUS_IFO_WEIGHTED;
    cfg.n_focus = 2;
    cfg.steps = 1;
    cfg.clip_norm = 1.0f;
    cfg.mode = REFOCUS_MODE_IMPLICIT;
    cfg.max_batch = 1;
    return cfg;
}

std::string describe(const Network& net, const refocus_dense_config& cfg) {
    char text[256];
    std::snprintf(text, sizeof text, "%s %s %s T=%d first=%d%s K=%d n_f=%d clip=%g batch=%d", net.name.c_str(),
                  METHODS[cfg.method], cfg.mode == REFOCUS_MODE_IMPLICIT ? "implicit" : "shadow", cfg.steps,
                  cfg.first_adapted_layer, cfg.biases_only ? " biases" : "",
                  cfg.candidates ? cfg.n_candidates : net.classes(), cfg.n_focus, cfg.clip_norm, cfg.max_batch);
    return text;
}

// A CPU context in a workspace of its own.
struct CpuStep {
    std::vector<unsigned char> workspace;
    refocus_dense* ctx = nullptr;
    explicit CpuStep(const refocus_dense_config& cfg) : workspace(refocus_dense_workspace_size(&cfg)) {
        ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
    }
};

// The candidates ranked by logit, best first (the focus head's order).
std::vector<int32_t> ranked(const float* z, const refocus_dense_config& cfg, int32_t classes) {
    std::vector<int32_t> k;
    for (int32_t i = 0; i < (cfg.candidates ? cfg.n_candidates : classes); i++) k.push_back(cfg.candidates ? cfg.candidates[i] : i);
    std::stable_sort(k.begin(), k.end(), [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
    return k;
}

bool close(float a, float b, double tie) { return std::fabs((double)a - b) <= tie * (1.0 + std::fabs((double)a)); }

// the best candidate has a rival within the tie tolerance (NativePredictorTest's nearTie)
bool near_tie(const float* z, const refocus_dense_config& cfg, int32_t classes, double tie = TIE) {
    const std::vector<int32_t> k = ranked(z, cfg, classes);
    return close(z[k[0]], z[k[1]], tie);
}

// the focus set of the plain logits is ambiguous: its first two, or its last and the next candidate, nearly tie
bool focus_ambiguous(const float* z, const refocus_dense_config& cfg, int32_t classes) {
    const std::vector<int32_t> k = ranked(z, cfg, classes);
    return close(z[k[0]], z[k[1]], PLAIN_TIE) || close(z[k[cfg.n_focus - 1]], z[k[cfg.n_focus]], PLAIN_TIE);
}

long excused = 0, excused_margin = 0, compared_adapted = 0, compared_certain = 0;

bool logits_near(const float* got, const float* ref, int32_t classes, const std::string& where) {
    bool ok = true;
    for (int32_t c = 0; c < classes; c++) {
        if (!(std::fabs((double)got[c] - ref[c]) <= TOL + std::fabs((double)ref[c]) * EPS)) {
            if (ok) {
                char what[512];
                std::snprintf(what, sizeof what, "%s: logit %d %.9g vs CPU %.9g", where.c_str(), c, got[c], ref[c]);
                check::report(false, __FILE__, __LINE__, what);
            }
            ok = false;
        }
    }
    if (ok) check::report(true, __FILE__, __LINE__, "");
    return ok;
}

#define CHECK_AT(cond, where)                                                                 \
    [&](bool ok_) {                                                                           \
        char what_[512];                                                                      \
        std::snprintf(what_, sizeof what_, "%s: %s", (where).c_str(), #cond);                 \
        return check::report(ok_, __FILE__, __LINE__, what_);                                 \
    }((cond))

// One configuration through both steps: forward, then predict at a threshold between real margins (n > 1) or at
// d = 1 and d = 0 (n = 1, every sample uncertain, then certain).
void compare(Network& net, const refocus_dense_config& cfg, float eta, uint32_t seed, bool batch_vs_single) {
    const std::string where = describe(net, cfg);
    const int32_t n = cfg.max_batch, classes = net.classes(), in = net.sizes[0];
    CpuStep cpu(cfg);
    refocus_cuda* gpu = nullptr;
    if (!CHECK_AT(cpu.ctx != nullptr, where) || !CHECK_AT(refocus_cuda_create(net.weights, &cfg, &gpu) == 0, where)) {
        std::fprintf(stderr, "  %s\n", refocus_cuda_last_error());
        return;
    }
    const std::vector<float> x = make_inputs(n, in, seed);
    std::memcpy(refocus_dense_inputs(cpu.ctx), x.data(), sizeof(float) * x.size());
    std::memcpy(refocus_cuda_inputs(gpu), x.data(), sizeof(float) * x.size());

    // the forward pass
    CHECK_AT(refocus_dense_forward(cpu.ctx, n) == 0, where);
    CHECK_AT(refocus_cuda_forward(gpu, n) == 0, where);
    const std::vector<float> plain(refocus_dense_logits(cpu.ctx), refocus_dense_logits(cpu.ctx) + (size_t)n * classes);
    for (int32_t s = 0; s < n; s++) {
        const float* z = plain.data() + (size_t)s * classes;
        logits_near(refocus_cuda_logits(gpu) + (size_t)s * classes, z, classes, where + " forward");
        if (!near_tie(z, cfg, classes, PLAIN_TIE)) {
            CHECK_AT(refocus_cuda_answers(gpu)[3 * s] == refocus_dense_answers(cpu.ctx)[3 * s], where + " forward");
        }
        CHECK_AT(refocus_cuda_answers(gpu)[3 * s + 2] == 0, where + " forward");
    }

    // thresholds: between two real margins of the batch, so that both kinds of sample occur
    CHECK_AT(refocus_dense_predict(cpu.ctx, n, eta, 0.0f) == 0, where);
    std::vector<float> margins(refocus_dense_margins(cpu.ctx), refocus_dense_margins(cpu.ctx) + n);
    std::vector<float> sorted = margins;
    std::sort(sorted.begin(), sorted.end());
    std::vector<float> thresholds;
    if (n == 1) {
        thresholds = {1.0f, 0.0f};
    } else {
        int32_t widest = 0;  // the middle of the widest gap between two margins: far from every margin
        for (int32_t i = 1; i + 1 < n; i++) {
            if (sorted[i + 1] - sorted[i] > sorted[widest + 1] - sorted[widest]) widest = i;
        }
        thresholds = {std::min(1.0f, (sorted[widest] + sorted[widest + 1]) / 2.0f)};
    }

    for (float d : thresholds) {
        const int32_t rc_cpu = refocus_dense_predict(cpu.ctx, n, eta, d);
        const int32_t rc_gpu = refocus_cuda_predict(gpu, n, eta, d);
        if (rc_cpu == REFOCUS_ERROR_NAN) {  // adapted logits not finite: the CPU fails today, the GPU falls back
            CHECK_AT(rc_gpu >= 0, where + " (CPU: NaN)");
            continue;
        }
        if (!CHECK_AT(rc_cpu >= 0 && rc_gpu >= 0, where)) {
            std::fprintf(stderr, "  cpu %d gpu %d: %s\n", rc_cpu, rc_gpu, refocus_cuda_last_error());
            continue;
        }
        bool any_excused = false;
        for (int32_t s = 0; s < n; s++) {
            const int32_t* a_cpu = refocus_dense_answers(cpu.ctx) + 3 * s;
            const int32_t* a_gpu = refocus_cuda_answers(gpu) + 3 * s;
            const float* z_cpu = refocus_dense_logits(cpu.ctx) + (size_t)s * classes;
            const float* z_gpu = refocus_cuda_logits(gpu) + (size_t)s * classes;
            const float* z_plain = plain.data() + (size_t)s * classes;
            const float m_cpu = refocus_dense_margins(cpu.ctx)[s];
            CHECK_AT(std::fabs((double)refocus_cuda_margins(gpu)[s] - m_cpu) <= MARGIN_TOL, where + " margin");
            const bool margin_tie = d > 0.0f && d < 1.0f && std::fabs((double)m_cpu - d) <= MARGIN_TOL;
            if (margin_tie || focus_ambiguous(z_plain, cfg, classes)) {
                (margin_tie ? excused_margin : excused)++;
                any_excused = true;
                continue;
            }
            CHECK_AT(a_gpu[2] == a_cpu[2], where + " decision");
            CHECK_AT(a_gpu[0] == a_cpu[0], where + " initial class");
            if (a_gpu[2] != a_cpu[2]) continue;
            (a_cpu[2] ? compared_adapted : compared_certain)++;
            logits_near(z_gpu, z_cpu, classes, where + (a_cpu[2] ? " adapted" : " certain"));
            if (!near_tie(z_cpu, cfg, classes)) CHECK_AT(a_gpu[1] == a_cpu[1], where + " final class");
        }
        if (!any_excused) CHECK_AT(rc_gpu == rc_cpu, where + " samples adapted");
    }

    // a batch gives each sample the bits a call of its own gives it
    if (batch_vs_single && n > 1) {
        const float d = thresholds[0];
        CHECK_AT(refocus_cuda_predict(gpu, n, eta, d) >= 0, where);
        const std::vector<float> logits(refocus_cuda_logits(gpu), refocus_cuda_logits(gpu) + (size_t)n * classes);
        const std::vector<int32_t> answers(refocus_cuda_answers(gpu), refocus_cuda_answers(gpu) + 3 * n);
        const std::vector<float> batch_margins(refocus_cuda_margins(gpu), refocus_cuda_margins(gpu) + n);
        for (int32_t s = 0; s < n; s++) {
            std::memcpy(refocus_cuda_inputs(gpu), x.data() + (size_t)s * in, sizeof(float) * in);
            CHECK_AT(refocus_cuda_predict(gpu, 1, eta, d) >= 0, where);
            CHECK_AT(std::memcmp(refocus_cuda_logits(gpu), logits.data() + (size_t)s * classes,
                                 sizeof(float) * classes) == 0, where + " batch = single, logits");
            CHECK_AT(std::memcmp(refocus_cuda_answers(gpu), answers.data() + 3 * s, sizeof(int32_t) * 3) == 0,
                     where + " batch = single, answers");
            CHECK_AT(refocus_cuda_margins(gpu)[0] == batch_margins[s], where + " batch = single, margin");
        }
    }
    refocus_cuda_free(gpu);
}

// The subsets of NativePredictorTest: all layers, the last two, the head, biases only.
struct Subset {
    int32_t first, biases_only;
};

std::vector<Subset> subsets(const Network& net) {
    const int32_t layers = net.layers();
    std::vector<Subset> all = {{0, 0}};
    if (layers >= 3) all.push_back({layers - 2, 0});
    if (layers >= 2) all.push_back({layers - 1, 0});
    all.push_back({0, 1});
    return all;
}

// every configuration of the matrix for one network; quick keeps every `stride`-th one
void run_matrix(Network& net, const std::vector<int32_t>& batches, int32_t stride, uint32_t seed) {
    const int32_t classes = net.classes();
    std::vector<int32_t> candidates;  // about half the classes, out of order, at least 3
    for (int32_t c = classes - 1; c >= 0; c -= 2) candidates.push_back(c);
    for (int32_t c = 0; (int32_t)candidates.size() < 3 && c < classes; c++) {
        if (std::find(candidates.begin(), candidates.end(), c) == candidates.end()) candidates.push_back(c);
    }
    const float clips[3] = {1.0f, 0.0f, 0.05f};
    long index = 0;
    for (int32_t method = 0; method < REFOCUS_METHOD_COUNT; method++) {
        for (int32_t mode : {REFOCUS_MODE_IMPLICIT, REFOCUS_MODE_SHADOW}) {
            for (int32_t steps : {1, 2}) {
                for (const Subset& subset : subsets(net)) {
                    for (bool with_candidates : {false, true}) {
                        for (int32_t batch : batches) {
                            if (index++ % stride != 0) continue;
                            refocus_dense_config cfg = base_config(net);
                            cfg.method = method;
                            cfg.mode = mode;
                            cfg.steps = steps;
                            cfg.first_adapted_layer = subset.first;
                            cfg.biases_only = subset.biases_only;
                            if (with_candidates) {
                                cfg.candidates = candidates.data();
                                cfg.n_candidates = (int32_t)candidates.size();
                            }
                            const int32_t k = with_candidates ? cfg.n_candidates : classes;
                            cfg.n_focus = k >= 5 && index % 2 == 0 ? 3 : 2;
                            cfg.clip_norm = clips[index % 3];
                            cfg.max_batch = batch;
                            compare(net, cfg, 0.5f, seed + (uint32_t)index, batch == 7);
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// the edges

void test_arguments(Network& net) {
    refocus_dense_config cfg = base_config(net);
    cfg.max_batch = 4;
    refocus_cuda_weights* weights = nullptr;
    CHECK_EQ(refocus_cuda_weights_upload(0, nullptr, &weights), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_weights_upload(-1, &cfg, &weights), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_weights_upload(refocus_cuda_device_count(), &cfg, &weights), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_weights_upload(0, &cfg, nullptr), REFOCUS_ERROR_ARGUMENT);
    CHECK(weights == nullptr);
    refocus_dense_config no_params = cfg;
    no_params.params = nullptr;
    CHECK_EQ(refocus_cuda_weights_upload(0, &no_params, &weights), REFOCUS_ERROR_ARGUMENT);
    refocus_dense_config bf16 = cfg;  // the device holds float32 only: the caller widens a bf16 block (cuda.h)
    bf16.weight_format = REFOCUS_WEIGHTS_BF16;
    CHECK_EQ(refocus_cuda_weights_upload(0, &bf16, &weights), REFOCUS_ERROR_ARGUMENT);
    CHECK(weights == nullptr);

    refocus_cuda* ctx = nullptr;
    CHECK_EQ(refocus_cuda_create(nullptr, &cfg, &ctx), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_create(net.weights, nullptr, &ctx), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_create(net.weights, &cfg, nullptr), REFOCUS_ERROR_ARGUMENT);
    refocus_dense_config bad = cfg;
    bad.n_focus = net.classes();
    CHECK_EQ(refocus_cuda_create(net.weights, &bad, &ctx), REFOCUS_ERROR_ARGUMENT);
    bad = cfg;
    bad.max_batch = 0;
    CHECK_EQ(refocus_cuda_create(net.weights, &bad, &ctx), REFOCUS_ERROR_ARGUMENT);
    std::vector<int32_t> other_sizes = net.sizes;
    other_sizes[1] += 1;
    bad = cfg;
    bad.sizes = other_sizes.data();
    CHECK_EQ(refocus_cuda_create(net.weights, &bad, &ctx), REFOCUS_ERROR_ARGUMENT);  // not the weights' sizes
    const int32_t repeated[3] = {0, 1, 0};
    bad = cfg;
    bad.candidates = repeated;
    bad.n_candidates = 3;
    CHECK_EQ(refocus_cuda_create(net.weights, &bad, &ctx), REFOCUS_ERROR_ARGUMENT);
    CHECK(ctx == nullptr);

    refocus_dense_config no_params_ctx = cfg;  // a context does not read cfg->params
    no_params_ctx.params = nullptr;
    if (!CHECK_EQ(refocus_cuda_create(net.weights, &no_params_ctx, &ctx), 0)) return;
    const std::vector<float> x = make_inputs(4, net.sizes[0], 3);
    std::memcpy(refocus_cuda_inputs(ctx), x.data(), sizeof(float) * x.size());
    CHECK(refocus_cuda_predict(ctx, 4, 0.5f, 1.0f) == 4);
    CHECK_EQ(refocus_cuda_predict(ctx, 4, 0.5f, 0.0f), 0);
    for (int32_t n : {0, -1, 5}) CHECK_EQ(refocus_cuda_predict(ctx, n, 0.5f, 0.5f), REFOCUS_ERROR_ARGUMENT);
    for (float eta : {-1.0f, -1e-30f, (float)NAN, (float)INFINITY}) {
        CHECK_EQ(refocus_cuda_predict(ctx, 1, eta, 0.5f), REFOCUS_ERROR_ARGUMENT);
    }
    for (float d : {-0.01f, 1.01f, (float)NAN}) CHECK_EQ(refocus_cuda_predict(ctx, 1, 0.5f, d), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_predict(nullptr, 1, 0.5f, 0.5f), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_forward(ctx, 4), 0);
    for (int32_t n : {0, 5}) CHECK_EQ(refocus_cuda_forward(ctx, n), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_forward(nullptr, 1), REFOCUS_ERROR_ARGUMENT);
    refocus_cuda_free(ctx);
    refocus_cuda_free(nullptr);
    refocus_cuda_weights_free(nullptr);
}

// A NaN input reaches the logits through tanh: REFOCUS_ERROR_NAN, as the CPU. A learning rate so large that the
// adapted logits overflow: the sample falls back to its plain answer (answers[2] = 2).
void test_nan_and_fallback() {
    Network net = make_network("tanh 6-9-5", {6, 9, 5}, REFOCUS_ACT_TANH, 5);
    refocus_dense_config cfg = base_config(net);
    cfg.max_batch = 2;
    cfg.clip_norm = 0.0f;
    if (!CHECK_EQ(refocus_cuda_weights_upload(0, &cfg, &net.weights), 0)) return;
    refocus_cuda* ctx = nullptr;
    if (!CHECK_EQ(refocus_cuda_create(net.weights, &cfg, &ctx), 0)) return;
    CpuStep cpu(cfg);
    const std::vector<float> x = make_inputs(2, 6, 11);
    std::memcpy(refocus_cuda_inputs(ctx), x.data(), sizeof(float) * x.size());
    std::memcpy(refocus_dense_inputs(cpu.ctx), x.data(), sizeof(float) * x.size());

    CHECK_EQ(refocus_dense_forward(cpu.ctx, 2), 0);
    const std::vector<float> plain(refocus_dense_logits(cpu.ctx), refocus_dense_logits(cpu.ctx) + 10);
    const int32_t rc_cpu = refocus_dense_predict(cpu.ctx, 2, 3e38f, 1.0f);
    CHECK_EQ(refocus_cuda_predict(ctx, 2, 3e38f, 1.0f), 2);  // both adapted, then fell back
    for (int32_t s = 0; s < 2; s++) {
        const int32_t* a = refocus_cuda_answers(ctx) + 3 * s;
        CHECK_EQ(a[2], 2);
        CHECK_EQ(a[1], a[0]);
        logits_near(refocus_cuda_logits(ctx) + 5 * s, plain.data() + 5 * s, 5, std::string("fallback"));
        if (rc_cpu >= 0) {  // the CPU step with the fallback: the same answers
            CHECK_EQ(refocus_dense_answers(cpu.ctx)[3 * s + 2], 2);
            CHECK_EQ(refocus_dense_answers(cpu.ctx)[3 * s + 1], a[1]);
        }
    }
    CHECK(rc_cpu == 2 || rc_cpu == REFOCUS_ERROR_NAN);  // REFOCUS_ERROR_NAN: the CPU step before the fallback

    refocus_cuda_inputs(ctx)[6 + 3] = NAN;  // sample 1
    CHECK_EQ(refocus_cuda_predict(ctx, 1, 0.5f, 0.0f), 0);
    CHECK_EQ(refocus_cuda_predict(ctx, 2, 0.5f, 0.0f), REFOCUS_ERROR_NAN);
    CHECK_EQ(refocus_cuda_predict(ctx, 2, 0.5f, 1.0f), REFOCUS_ERROR_NAN);
    refocus_cuda_inputs(ctx)[6 + 3] = 0.5f;
    CHECK(refocus_cuda_predict(ctx, 2, 0.5f, 1.0f) >= 0);  // the context goes on after an error
    refocus_cuda_free(ctx);
    refocus_cuda_weights_free(net.weights);
}

// Two contexts on one copy of the weights, used in turn: each answers as it does alone.
void test_shared_weights(Network& net) {
    refocus_dense_config a = base_config(net), b = base_config(net);
    a.max_batch = b.max_batch = 5;
    b.mode = REFOCUS_MODE_SHADOW;
    b.steps = 2;
    b.method = REFOCUS_CROSS_ENTROPY;
    refocus_cuda *ctx_a = nullptr, *ctx_b = nullptr;
    if (!CHECK_EQ(refocus_cuda_create(net.weights, &a, &ctx_a), 0)) return;
    if (!CHECK_EQ(refocus_cuda_create(net.weights, &b, &ctx_b), 0)) return;
    const std::vector<float> x = make_inputs(5, net.sizes[0], 21);
    std::vector<float> alone_a, alone_b;
    for (refocus_cuda* ctx : {ctx_a, ctx_b}) std::memcpy(refocus_cuda_inputs(ctx), x.data(), sizeof(float) * x.size());
    CHECK(refocus_cuda_predict(ctx_a, 5, 0.5f, 1.0f) == 5);
    alone_a.assign(refocus_cuda_logits(ctx_a), refocus_cuda_logits(ctx_a) + 5 * net.classes());
    CHECK(refocus_cuda_predict(ctx_b, 5, 0.5f, 1.0f) == 5);
    alone_b.assign(refocus_cuda_logits(ctx_b), refocus_cuda_logits(ctx_b) + 5 * net.classes());
    for (int32_t round = 0; round < 3; round++) {
        CHECK(refocus_cuda_predict(ctx_b, 5, 0.5f, 1.0f) == 5);
        CHECK(refocus_cuda_predict(ctx_a, 5, 0.5f, 1.0f) == 5);
        CHECK(std::memcmp(refocus_cuda_logits(ctx_a), alone_a.data(), sizeof(float) * alone_a.size()) == 0);
        CHECK(std::memcmp(refocus_cuda_logits(ctx_b), alone_b.data(), sizeof(float) * alone_b.size()) == 0);
    }
    refocus_cuda_free(ctx_a);
    refocus_cuda_free(ctx_b);
}

// ---------------------------------------------------------------------------------------------------
// samples on the device

bool says(const char* part) {
    const bool ok = std::strstr(refocus_cuda_last_error(), part) != nullptr;
    if (!ok) std::fprintf(stderr, "  last error \"%s\" does not say \"%s\"\n", refocus_cuda_last_error(), part);
    return ok;
}

// The results of the last call, to compare bit for bit.
struct Results {
    int32_t rc;
    std::vector<float> logits, margins;
    std::vector<int32_t> answers;
    Results(refocus_cuda* ctx, int32_t rc_, int32_t n, int32_t classes)
        : rc(rc_), logits(refocus_cuda_logits(ctx), refocus_cuda_logits(ctx) + (size_t)n * classes),
          margins(refocus_cuda_margins(ctx), refocus_cuda_margins(ctx) + n),
          answers(refocus_cuda_answers(ctx), refocus_cuda_answers(ctx) + 3 * n) {}
    bool operator==(const Results& o) const {
        return rc == o.rc && logits.size() == o.logits.size()
               && std::memcmp(logits.data(), o.logits.data(), sizeof(float) * logits.size()) == 0
               && std::memcmp(margins.data(), o.margins.data(), sizeof(float) * margins.size()) == 0
               && answers == o.answers;
    }
};

void test_device_inputs(Network& net, int32_t mode) {
    const int32_t n = 6, in = net.sizes[0], classes = net.classes();
    refocus_dense_config cfg = base_config(net);
    cfg.max_batch = n;
    cfg.mode = mode;
    cfg.steps = 2;
    refocus_cuda* ctx = nullptr;
    if (!CHECK_EQ(refocus_cuda_create(net.weights, &cfg, &ctx), 0)) return;
    const size_t floats = (size_t)n * in;
    const std::vector<float> x = make_inputs(n, in, 77);
    const float eta = 0.5f;

    // the reference: the same samples from the pinned inputs, every sample uncertain, then a mixed threshold
    std::memcpy(refocus_cuda_inputs(ctx), x.data(), sizeof(float) * floats);
    std::vector<Results> host;
    for (float d : {1.0f, 0.0f, 0.3f}) host.emplace_back(ctx, refocus_cuda_predict(ctx, n, eta, d), n, classes);
    CHECK(host[0].rc == n);
    CHECK_EQ(host[1].rc, 0);

    // a buffer of two batches, poisoned; the samples are the second one
    void* buffer = nullptr;
    if (!CHECK_EQ(refocus_cuda_buffer_alloc(0, (int64_t)(2 * floats * sizeof(float)), &buffer), 0)) return;
    float* samples = static_cast<float*>(buffer) + floats;
    CHECK_EQ(cudaMemset(buffer, 0xFF, 2 * floats * sizeof(float)), cudaSuccess);  // NaN everywhere
    CHECK_EQ(refocus_cuda_buffer_write(buffer, (int64_t)(floats * sizeof(float)), x.data(), (int64_t)floats), 0);
    std::memset(refocus_cuda_inputs(ctx), 0xFF, sizeof(float) * floats);  // the pinned inputs are not read
    const float thresholds[3] = {1.0f, 0.0f, 0.3f};
    for (int32_t i = 0; i < 3; i++) {
        const int32_t rc = refocus_cuda_predict_device(ctx, samples, n, nullptr, eta, thresholds[i]);
        CHECK_AT(Results(ctx, rc, n, classes) == host[i], std::string("device = pinned inputs, d ") + std::to_string(i));
    }
    // fewer samples than the context takes: the first ones, each as in the full batch
    CHECK_EQ(refocus_cuda_predict_device(ctx, samples, 2, nullptr, eta, 1.0f), 2);
    CHECK(std::memcmp(refocus_cuda_logits(ctx), host[0].logits.data(), sizeof(float) * 2 * classes) == 0);

    // ordering: the samples are written on the caller's non-blocking stream behind a long copy; the step must wait
    cudaStream_t stream = nullptr;
    CHECK_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    const size_t slow_bytes = (size_t)64 << 20;
    void *slow_src = nullptr, *slow_dst = nullptr;
    CHECK_EQ(cudaMalloc(&slow_src, slow_bytes), cudaSuccess);
    CHECK_EQ(cudaMalloc(&slow_dst, slow_bytes), cudaSuccess);
    for (int32_t round = 0; round < 3; round++) {
        CHECK_EQ(cudaMemsetAsync(samples, 0xFF, floats * sizeof(float), stream), cudaSuccess);
        CHECK_EQ(cudaMemcpyAsync(slow_dst, slow_src, slow_bytes, cudaMemcpyDeviceToDevice, stream), cudaSuccess);
        CHECK_EQ(cudaMemcpyAsync(samples, x.data(), floats * sizeof(float), cudaMemcpyHostToDevice, stream),
                 cudaSuccess);
        const int32_t rc = refocus_cuda_predict_device(ctx, samples, n, stream, eta, 1.0f);
        if (!CHECK_AT(Results(ctx, rc, n, classes) == host[0], std::string("ordered after the caller's stream"))) {
            std::fprintf(stderr, "  rc %d: %s\n", rc, refocus_cuda_last_error());
        }
    }
    CHECK_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    cudaFree(slow_src);
    cudaFree(slow_dst);

    // managed memory is device-accessible: taken
    float* managed = nullptr;
    if (CHECK_EQ(cudaMallocManaged(reinterpret_cast<void**>(&managed), floats * sizeof(float)), cudaSuccess)) {
        std::memcpy(managed, x.data(), floats * sizeof(float));
        const int32_t rc = refocus_cuda_predict_device(ctx, managed, n, nullptr, eta, 1.0f);
        CHECK_AT(Results(ctx, rc, n, classes) == host[0], std::string("managed memory"));
        cudaFree(managed);
    }

    // non-finite samples: refused, the lowest index named, the context goes on
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int32_t i = 0; i < 3; i++) {
        const size_t at = (size_t)in + 3 + (size_t)i;  // sample 1
        CHECK_EQ(refocus_cuda_buffer_write(samples, (int64_t)(at * sizeof(float)), &bad[i], 1), 0);
        if (i == 0) {  // a second one further on: the lowest index is reported
            CHECK_EQ(refocus_cuda_buffer_write(samples, (int64_t)((floats - 1) * sizeof(float)), &bad[0], 1), 0);
        }
        CHECK_EQ(refocus_cuda_predict_device(ctx, samples, n, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
        char expected[96];
        std::snprintf(expected, sizeof expected, "input[%zu] is %s; inputs must be finite", at,
                      i == 0 ? "NaN" : i == 1 ? "Infinity" : "-Infinity");
        CHECK(says(expected));
        CHECK(refocus_cuda_predict_device(ctx, samples, 1, nullptr, eta, 0.3f) >= 0);  // sample 0 alone is fine
        CHECK_EQ(refocus_cuda_buffer_write(samples, (int64_t)(at * sizeof(float)), &x[at], 1), 0);
        CHECK_EQ(refocus_cuda_buffer_write(samples, (int64_t)((floats - 1) * sizeof(float)), &x[floats - 1], 1), 0);
    }
    {
        const int32_t rc = refocus_cuda_predict_device(ctx, samples, n, nullptr, eta, 0.3f);
        CHECK_AT(Results(ctx, rc, n, classes) == host[2], std::string("after refusals"));
    }

    // refusals, each with its reason
    CHECK_EQ(refocus_cuda_predict_device(ctx, nullptr, n, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("null"));
    CHECK_EQ(refocus_cuda_predict_device(ctx, reinterpret_cast<const float*>(reinterpret_cast<char*>(samples) + 2), 1,
                                         nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("aligned"));
    CHECK_EQ(refocus_cuda_predict_device(ctx, refocus_cuda_inputs(ctx), 1, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("is pinned host memory, not device memory"));
    CHECK_EQ(refocus_cuda_predict_device(ctx, x.data(), 1, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("is host memory, not device memory"));
    void* range = nullptr;  // the library checks the range where the driver has cuMemGetAddressRange
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    if (cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &range, 12000, cudaEnableDefault, &found)
            == cudaSuccess && found == cudaDriverEntryPointSuccess) {
        CHECK_EQ(refocus_cuda_predict_device(ctx, samples + 1, n, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
        CHECK(says("run past the end of their allocation"));
    } else {
        std::printf("cuda: no cuMemGetAddressRange in this driver: the allocation's range is not checked\n");
    }
    CHECK_EQ(refocus_cuda_predict_device(ctx, samples + 1, n - 1, nullptr, eta, 0.3f) >= 0, true);  // fits: taken
    for (int32_t bad_n : {0, -1, n + 1}) {
        CHECK_EQ(refocus_cuda_predict_device(ctx, samples, bad_n, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
        CHECK(says("samples; this context takes 1 to"));
    }
    CHECK_EQ(refocus_cuda_predict_device(ctx, samples, n, nullptr, (float)NAN, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("learning rate"));
    CHECK_EQ(refocus_cuda_predict_device(ctx, samples, n, nullptr, eta, 1.5f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("margin threshold"));
    CHECK_EQ(refocus_cuda_predict_device(nullptr, samples, n, nullptr, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);

    cudaStream_t capturing = nullptr;
    CHECK_EQ(cudaStreamCreateWithFlags(&capturing, cudaStreamNonBlocking), cudaSuccess);
    CHECK_EQ(cudaStreamBeginCapture(capturing, cudaStreamCaptureModeRelaxed), cudaSuccess);
    CHECK_EQ(refocus_cuda_predict_device(ctx, samples, n, capturing, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
    CHECK(says("capturing a CUDA graph"));
    cudaGraph_t graph = nullptr;
    CHECK_EQ(cudaStreamEndCapture(capturing, &graph), cudaSuccess);
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaStreamDestroy(capturing);

    int devices = 0;
    if (cudaGetDeviceCount(&devices) == cudaSuccess && devices >= 2) {  // the emulator has two
        void* other = nullptr;
        CHECK_EQ(refocus_cuda_buffer_alloc(1, (int64_t)(floats * sizeof(float)), &other), 0);
        CHECK_EQ(refocus_cuda_predict_device(ctx, static_cast<float*>(other), n, nullptr, eta, 0.3f),
                 REFOCUS_ERROR_ARGUMENT);
        CHECK(says("memory of CUDA device 1; this predictor runs on device 0"));
        refocus_cuda_buffer_free(other);
        cudaStream_t other_stream = nullptr;
        CHECK_EQ(cudaSetDevice(1), cudaSuccess);
        CHECK_EQ(cudaStreamCreateWithFlags(&other_stream, cudaStreamNonBlocking), cudaSuccess);
        CHECK_EQ(cudaSetDevice(0), cudaSuccess);
        CHECK_EQ(refocus_cuda_predict_device(ctx, samples, n, other_stream, eta, 0.3f), REFOCUS_ERROR_ARGUMENT);
        CHECK(says("the stream belongs to CUDA device 1"));
        cudaStreamDestroy(other_stream);
    }
    refocus_cuda_buffer_free(buffer);
    cudaStreamDestroy(stream);
    refocus_cuda_free(ctx);
    (void)cudaGetLastError();

    CHECK_EQ(refocus_cuda_buffer_alloc(0, 0, &buffer), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_buffer_alloc(-1, 4, &buffer), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_buffer_alloc(devices, 4, &buffer), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_cuda_buffer_write(nullptr, 0, x.data(), 1), REFOCUS_ERROR_ARGUMENT);
    refocus_cuda_buffer_free(nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    const bool sanitize = argc > 1 && std::strcmp(argv[1], "sanitize") == 0;
    const bool quick = sanitize || (argc > 1 && std::strcmp(argv[1], "quick") == 0);
    const int32_t devices = refocus_cuda_device_count();
    if (devices <= 0) {
        std::printf("test_cuda: skipped, no usable CUDA device: %s\n", refocus_cuda_last_error());
        return SKIPPED;
    }

    std::vector<Network> nets;
    nets.push_back(make_network("5-7-3", {5, 7, 3}, REFOCUS_ACT_RELU, 1));
    nets.push_back(make_network("13-9-6-5 tanh", {13, 9, 6, 5}, REFOCUS_ACT_TANH, 2));
    nets.push_back(make_network("S 32-64-64-3", {32, 64, 64, 3}, REFOCUS_ACT_RELU, 3));
    // every other activation, hidden and on the logits (the head's derivative then needs its pre-activation)
    nets.push_back(make_network("9-11-7-4 gelu", {9, 11, 7, 4}, REFOCUS_ACT_GELU, 6));
    nets.push_back(make_network("8-10-6 silu, silu logits", {8, 10, 6}, REFOCUS_ACT_SILU, 7, REFOCUS_ACT_SILU));
    nets.push_back(make_network("7-9-8-5 gelu_tanh, gelu logits", {7, 9, 8, 5}, REFOCUS_ACT_GELU_TANH, 8,
                                REFOCUS_ACT_GELU));
    nets.push_back(make_network("6-12-5 sigmoid, sigmoid logits", {6, 12, 5}, REFOCUS_ACT_SIGMOID, 9,
                                REFOCUS_ACT_SIGMOID));
    nets.push_back(make_network("10-8-6-4 leaky_relu", {10, 8, 6, 4}, REFOCUS_ACT_LEAKY_RELU, 10,
                                REFOCUS_ACT_LEAKY_RELU));
    if (!quick) {
        nets.push_back(make_network("33-65-31-10", {33, 65, 31, 10}, REFOCUS_ACT_RELU, 4));
        nets.push_back(make_network("M 256-1024-1024-32", {256, 1024, 1024, 32}, REFOCUS_ACT_RELU, 5));
    }
    for (Network& net : nets) {
        refocus_dense_config cfg = base_config(net);
        if (!CHECK_EQ(refocus_cuda_weights_upload(0, &cfg, &net.weights), 0)) {
            std::fprintf(stderr, "%s\n", refocus_cuda_last_error());
            return check_summary("cuda");
        }
    }

    test_arguments(nets[0]);
    test_nan_and_fallback();
    test_shared_weights(nets[1]);
    test_device_inputs(nets[1], REFOCUS_MODE_IMPLICIT);
    test_device_inputs(nets[2], REFOCUS_MODE_SHADOW);
    for (size_t i = 0; i < nets.size(); i++) {
        const bool big = nets[i].sizes[1] >= 1024;
        const std::vector<int32_t> batches = quick ? std::vector<int32_t>{1, 7} : std::vector<int32_t>{1, 7, 64};
        run_matrix(nets[i], batches, sanitize ? 41 : quick ? 7 : (big ? 3 : 1), 1000 * (uint32_t)i);
    }
    for (Network& net : nets) refocus_cuda_weights_free(net.weights);
    std::printf("cuda: %ld adapted and %ld certain samples compared; excused: %ld near-ties in the focus set, %ld "
                "margins at d\n", compared_adapted, compared_certain, excused, excused_margin);
    return check_summary("cuda");
}
