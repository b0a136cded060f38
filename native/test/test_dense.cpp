// The C ABI of refocus/dense.h and refocus/common.h at its edges: workspace sizes, the caller-owned workspace
// (exact size, any alignment, nothing written outside it), every invalid configuration, every invalid call, and
// the fallback of a step that overflows; the bf16 block against the float32 block of its widened values.
// Whether the predictions are right is the Java tests' business (NativePredictorTest, against the reference).
#include "check.h"
#include "refocus/dense.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// 6 -> 9 (ReLU) -> 7 (tanh) -> 5 classes, deterministic weights in [-1, 1)
struct Network {
    int32_t sizes[4] = {6, 9, 7, 5};
    int32_t activations[3] = {REFOCUS_ACT_RELU, REFOCUS_ACT_TANH, REFOCUS_ACT_IDENTITY};
    std::vector<float> params;

    Network() {
        uint32_t state = 7;
        for (int l = 0; l < 3; l++) params.resize(params.size() + (size_t)(sizes[l] + 1) * sizes[l + 1]);
        for (float& p : params) {
            state = state * 1664525u + 1013904223u;
            p = (float)(state >> 8) / (float)(1 << 23) - 1.0f;
        }
    }

    refocus_dense_config config() const {
        refocus_dense_config cfg{};
        cfg.n_layers = 3;
        cfg.sizes = sizes;
        cfg.activations = activations;
        cfg.params = params.data();
        cfg.method = REFOCUS_IFO_WEIGHTED;
        cfg.n_focus = 2;
        cfg.steps = 2;
        cfg.clip_norm = 1.0f;
        cfg.mode = REFOCUS_MODE_IMPLICIT;
        cfg.max_batch = 4;
        return cfg;
    }
};

const Network NET;
const int32_t CANDIDATES[3] = {4, 0, 2};

// A caller's buffer: PAD bytes of a pattern on each side of the workspace, which starts `offset` bytes past a
// 64-byte boundary.
struct Buffer {
    static constexpr size_t PAD = 256;
    static constexpr unsigned char PATTERN = 0xA5;
    unsigned char* base;
    size_t size;
    unsigned char* workspace;

    Buffer(size_t workspace_size, size_t offset) : size(workspace_size) {
        base = (unsigned char*)std::aligned_alloc(64, (2 * PAD + offset + size + 63) / 64 * 64);
        workspace = base + PAD + offset;
        std::memset(base, PATTERN, PAD + offset + size + PAD);
    }
    ~Buffer() { std::free(base); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    // nothing written outside the workspace
    bool outside_intact() const {
        for (const unsigned char* p = base; p < workspace; p++) {
            if (*p != PATTERN) return false;
        }
        for (const unsigned char* p = workspace + size; p < workspace + size + PAD; p++) {
            if (*p != PATTERN) return false;
        }
        return true;
    }
    bool holds(const void* p, size_t bytes) const {
        return (const unsigned char*)p >= workspace && (const unsigned char*)p + bytes <= workspace + size;
    }
};

void fill_inputs(refocus_dense* ctx, int32_t n) {
    float* x = refocus_dense_inputs(ctx);
    for (int32_t i = 0; i < n * NET.sizes[0]; i++) x[i] = (float)((i * 37) % 19) / 9.0f - 1.0f;
}

// ---------------------------------------------------------------------------------------------------

void test_common() {
    CHECK_EQ(refocus_version_number(), REFOCUS_VERSION_NUMBER);
    CHECK(refocus_is_error(REFOCUS_ERROR_ARGUMENT) && refocus_is_error(REFOCUS_ERROR_NAN)
          && refocus_is_error(REFOCUS_ERROR_CUDA));
    CHECK(!refocus_is_error(0) && !refocus_is_error(7) && !refocus_is_error(-4));
    CHECK(std::strcmp(refocus_error_name(REFOCUS_ERROR_ARGUMENT), refocus_error_name(REFOCUS_ERROR_NAN)) != 0);
    CHECK(std::strcmp(refocus_error_name(REFOCUS_ERROR_CUDA), refocus_error_name(REFOCUS_ERROR_NAN)) != 0);
    CHECK(refocus_error_name(-4) != nullptr && refocus_error_name(0) != nullptr);
    const char* variant = refocus_kernel_variant();
    CHECK(std::strcmp(variant, "x86-64-v4 (AVX-512)") == 0 || std::strcmp(variant, "x86-64-v3 (AVX2+FMA)") == 0
          || std::strcmp(variant, "x86-64 baseline") == 0);
}

// Bigger batches, more steps and the shadow buffer take more bytes; a later first adapted layer, less shadow.
void test_workspace_sizes() {
    refocus_dense_config cfg = NET.config();
    const size_t base = refocus_dense_workspace_size(&cfg);
    CHECK(base > 0);
    size_t last = 0;
    for (int32_t batch : {1, 2, 4, 64}) {
        cfg.max_batch = batch;
        const size_t size = refocus_dense_workspace_size(&cfg);
        CHECK(size > last);
        last = size;
    }
    cfg = NET.config();
    cfg.steps = 5;
    CHECK(refocus_dense_workspace_size(&cfg) > base);
    cfg = NET.config();
    cfg.mode = REFOCUS_MODE_SHADOW;
    const size_t shadow = refocus_dense_workspace_size(&cfg);
    cfg.biases_only = 1;
    const size_t shadow_biases = refocus_dense_workspace_size(&cfg);
    cfg.biases_only = 0;
    cfg.first_adapted_layer = 2;
    const size_t shadow_head = refocus_dense_workspace_size(&cfg);
    CHECK(base < shadow_biases && shadow_biases < shadow);
    CHECK(shadow_head < shadow);
}

// Exactly refocus_dense_workspace_size() bytes at any alignment, one byte less is refused, and no call writes
// outside the workspace. The context's results do not depend on the workspace's alignment.
void test_workspace(refocus_dense_config cfg) {
    const size_t size = refocus_dense_workspace_size(&cfg);
    if (!CHECK(size > 0)) return;
    std::vector<float> first_logits;
    for (size_t offset : {0, 1, 2, 4, 33, 63}) {
        Buffer buffer(size, offset);
        CHECK(refocus_dense_init_static(buffer.workspace, size - 1, &cfg) == nullptr);
        refocus_dense* ctx = refocus_dense_init_static(buffer.workspace, size, &cfg);
        if (!CHECK(ctx != nullptr)) continue;
        const int32_t batch = cfg.max_batch, classes = NET.sizes[3];
        CHECK(buffer.holds(ctx, 1));
        CHECK(buffer.holds(refocus_dense_inputs(ctx), sizeof(float) * batch * NET.sizes[0]));
        CHECK(buffer.holds(refocus_dense_logits(ctx), sizeof(float) * batch * classes));
        CHECK(buffer.holds(refocus_dense_answers(ctx), sizeof(int32_t) * batch * 3));
        CHECK(buffer.holds(refocus_dense_margins(ctx), sizeof(float) * batch));

        fill_inputs(ctx, batch);
        CHECK_EQ(refocus_dense_forward(ctx, batch), 0);
        CHECK_EQ(refocus_dense_predict(ctx, batch, 0.5f, 1.0f), batch);  // every sample adapts
        const float* logits = refocus_dense_logits(ctx);
        if (first_logits.empty()) first_logits.assign(logits, logits + (size_t)batch * classes);
        CHECK(std::memcmp(first_logits.data(), logits, sizeof(float) * batch * classes) == 0);
        if (cfg.mode == REFOCUS_MODE_IMPLICIT && cfg.steps == 1) {
            const float etas[3] = {0.0f, 0.5f, 2.0f};
            int32_t finals[3];
            CHECK_EQ(refocus_dense_sweep(ctx, etas, 3, 1.0f, finals), 1);
        }
        CHECK(buffer.outside_intact());
    }
}

// Every field out of its range: no size, no context.
void test_invalid_configs() {
    std::vector<unsigned char> big(1 << 20);
    auto rejected = [&](const refocus_dense_config* cfg) {
        return refocus_dense_workspace_size(cfg) == 0
               && refocus_dense_init_static(big.data(), big.size(), cfg) == nullptr;
    };
    auto accepted = [&](const refocus_dense_config* cfg) {
        return refocus_dense_workspace_size(cfg) > 0
               && refocus_dense_init_static(big.data(), big.size(), cfg) != nullptr;
    };
    // each case changes one field of a valid configuration
#define REJECTED(change)                          \
    do {                                          \
        refocus_dense_config cfg = NET.config();  \
        change;                                   \
        CHECK(rejected(&cfg) && #change);         \
    } while (0)

    const refocus_dense_config valid = NET.config();
    CHECK(accepted(&valid));
    CHECK(rejected(nullptr));
    REJECTED(cfg.n_layers = 0);
    REJECTED(cfg.n_layers = -1);
    REJECTED(cfg.sizes = nullptr);
    REJECTED(cfg.activations = nullptr);
    REJECTED(cfg.params = nullptr);
    for (int32_t l = 0; l <= 3; l++) {
        for (int32_t bad : {0, -1}) {
            int32_t sizes[4] = {6, 9, 7, 5};
            sizes[l] = bad;
            REJECTED(cfg.sizes = sizes);
        }
    }
    for (int32_t bad : {-1, REFOCUS_ACT_COUNT}) {
        int32_t activations[3] = {REFOCUS_ACT_RELU, bad, REFOCUS_ACT_IDENTITY};
        REJECTED(cfg.activations = activations);
    }
    REJECTED(cfg.weight_format = -1);
    REJECTED(cfg.weight_format = REFOCUS_WEIGHTS_BF16 + 1);
    REJECTED(cfg.method = REFOCUS_IFO_WEIGHTED - 1);
    REJECTED(cfg.method = REFOCUS_ENTROPY + 1);
    REJECTED(cfg.n_focus = 1);
    REJECTED(cfg.n_focus = 5);  // = classes
    REJECTED(cfg.candidates = CANDIDATES; cfg.n_candidates = 3; cfg.n_focus = 3);  // = candidates
    REJECTED(cfg.steps = 0);
    REJECTED(cfg.steps = REFOCUS_MAX_IMPLICIT_STEPS + 1);  // in implicit mode: its cost grows with T^2
    REJECTED(cfg.clip_norm = -1.0f);
    REJECTED(cfg.clip_norm = NAN);
    REJECTED(cfg.clip_norm = INFINITY);
    REJECTED(cfg.first_adapted_layer = -1);
    REJECTED(cfg.first_adapted_layer = 3);  // = n_layers
    REJECTED(cfg.biases_only = 2);
    REJECTED(cfg.mode = 2);
    REJECTED(cfg.mode = -1);
    REJECTED(cfg.max_batch = 0);
    REJECTED(cfg.max_batch = -1);

    // candidates: count, range
    const int32_t six[6] = {0, 1, 2, 3, 4, 0};
    const int32_t negative[3] = {4, -1, 2};
    const int32_t too_big[3] = {4, 5, 2};
    REJECTED(cfg.candidates = CANDIDATES; cfg.n_candidates = 0);
    REJECTED(cfg.candidates = six; cfg.n_candidates = 6);  // more than the 5 classes
    REJECTED(cfg.candidates = negative; cfg.n_candidates = 3);
    REJECTED(cfg.candidates = too_big; cfg.n_candidates = 3);
#undef REJECTED
    // repeated candidates: measured, then refused by the init (dense.h)
    const int32_t repeated[3] = {4, 2, 4};
    refocus_dense_config cfg = NET.config();
    cfg.candidates = repeated;
    cfg.n_candidates = 3;
    CHECK(refocus_dense_workspace_size(&cfg) > 0);
    CHECK(refocus_dense_init_static(big.data(), big.size(), &cfg) == nullptr);
    cfg.candidates = CANDIDATES;
    CHECK(accepted(&cfg));

    // sizes whose workspace does not fit in size_t
    const int32_t huge[4] = {INT32_MAX, INT32_MAX, 7, 5};
    cfg = NET.config();
    cfg.sizes = huge;
    cfg.max_batch = INT32_MAX;
    CHECK_EQ(refocus_dense_workspace_size(&cfg), 0);

    cfg = NET.config();
    CHECK(refocus_dense_init_static(nullptr, big.size(), &cfg) == nullptr);

    // implicit mode up to its cap, shadow mode beyond it
    cfg.steps = REFOCUS_MAX_IMPLICIT_STEPS;
    CHECK(accepted(&cfg));
    cfg.steps = REFOCUS_MAX_IMPLICIT_STEPS + 1;
    cfg.mode = REFOCUS_MODE_SHADOW;
    CHECK(accepted(&cfg));
}

// Every argument of the calls out of its range: REFOCUS_ERROR_ARGUMENT; a NaN candidate logit: REFOCUS_ERROR_NAN.
void test_calls() {
    refocus_dense_config cfg = NET.config();
    const int32_t tanh_first[3] = {REFOCUS_ACT_TANH, REFOCUS_ACT_TANH, REFOCUS_ACT_IDENTITY};
    cfg.activations = tanh_first;  // a NaN input reaches the logits (ReLU keeps NaN too, as PyTorch's)
    cfg.steps = 1;
    const size_t size = refocus_dense_workspace_size(&cfg);
    std::vector<unsigned char> workspace(size);
    refocus_dense* ctx = refocus_dense_init_static(workspace.data(), size, &cfg);
    if (!CHECK(ctx != nullptr)) return;
    fill_inputs(ctx, 4);

    CHECK_EQ(refocus_dense_predict(ctx, 4, 0.5f, 0.0f), 0);  // the bounds are valid: nothing adapts at d = 0
    CHECK_EQ(refocus_dense_predict(ctx, 4, 0.0f, 1.0f), 4);  // and everything at d = 1
    CHECK_EQ(refocus_dense_predict(ctx, 1, 0.5f, 1.0f), 1);
    for (int32_t n : {0, -1, 5}) CHECK_EQ(refocus_dense_predict(ctx, n, 0.5f, 0.5f), REFOCUS_ERROR_ARGUMENT);
    for (float eta : {-1.0f, -1e-30f, (float)NAN, (float)INFINITY}) {
        CHECK_EQ(refocus_dense_predict(ctx, 1, eta, 0.5f), REFOCUS_ERROR_ARGUMENT);
    }
    for (float d : {-0.01f, 1.01f, (float)NAN}) {
        CHECK_EQ(refocus_dense_predict(ctx, 1, 0.5f, d), REFOCUS_ERROR_ARGUMENT);
    }
    CHECK_EQ(refocus_dense_predict(nullptr, 1, 0.5f, 0.5f), REFOCUS_ERROR_ARGUMENT);

    CHECK_EQ(refocus_dense_forward(ctx, 4), 0);
    for (int32_t n : {0, 5}) CHECK_EQ(refocus_dense_forward(ctx, n), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_forward(nullptr, 1), REFOCUS_ERROR_ARGUMENT);

    // the sweep answers at each rate what refocus_dense_predict() answers at it
    const float etas[3] = {0.0f, 0.5f, 4.0f};
    int32_t finals[3];
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 3, 1.0f, finals), 1);
    for (int32_t k = 0; k < 3; k++) {
        CHECK_EQ(refocus_dense_predict(ctx, 1, etas[k], 1.0f), 1);
        CHECK_EQ(refocus_dense_answers(ctx)[1], finals[k]);
    }
    const float bad_rate[2] = {0.5f, -1.0f};
    const float nan_rate[2] = {0.5f, NAN};
    CHECK_EQ(refocus_dense_sweep(ctx, nullptr, 3, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 0, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 3, 1.0f, nullptr), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(ctx, bad_rate, 2, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(ctx, nan_rate, 2, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 3, 1.5f, finals), REFOCUS_ERROR_ARGUMENT);
    CHECK_EQ(refocus_dense_sweep(nullptr, etas, 3, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    refocus_dense_config shadow = cfg, two_steps = cfg;  // the sweep needs IMPLICIT mode and T = 1
    shadow.mode = REFOCUS_MODE_SHADOW;
    two_steps.steps = 2;
    for (const refocus_dense_config& other : {shadow, two_steps}) {
        std::vector<unsigned char> w(refocus_dense_workspace_size(&other));
        refocus_dense* c = refocus_dense_init_static(w.data(), w.size(), &other);
        if (!CHECK(c != nullptr)) continue;
        fill_inputs(c, 1);
        CHECK_EQ(refocus_dense_sweep(c, etas, 3, 1.0f, finals), REFOCUS_ERROR_ARGUMENT);
    }

    // a NaN input gives NaN logits: no answer from them, with or without refocus
    refocus_dense_inputs(ctx)[NET.sizes[0] + 3] = NAN;  // sample 1
    CHECK_EQ(refocus_dense_predict(ctx, 1, 0.5f, 0.0f), 0);
    CHECK_EQ(refocus_dense_predict(ctx, 2, 0.5f, 0.0f), REFOCUS_ERROR_NAN);
    CHECK_EQ(refocus_dense_forward(ctx, 1), 0);
    CHECK_EQ(refocus_dense_forward(ctx, 2), REFOCUS_ERROR_NAN);
    refocus_dense_inputs(ctx)[3] = NAN;  // sample 0
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 3, 1.0f, finals), REFOCUS_ERROR_NAN);
}

// A NaN logit outside the candidates is no error, before or after the step; inside them it is.
void test_nan_outside_candidates() {
    Network net;
    refocus_dense_config cfg = net.config();
    cfg.candidates = CANDIDATES;  // {4, 0, 2}: class 3 is not one
    cfg.n_candidates = 3;
    float* last_bias = net.params.data() + net.params.size() - 5;  // the parameter block ends with b_2
    last_bias[3] = NAN;
    cfg.params = net.params.data();
    std::vector<unsigned char> workspace(refocus_dense_workspace_size(&cfg));
    refocus_dense* ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
    if (!CHECK(ctx != nullptr)) return;
    fill_inputs(ctx, 4);
    CHECK_EQ(refocus_dense_predict(ctx, 4, 0.5f, 1.0f), 4);
    CHECK(std::isnan(refocus_dense_logits(ctx)[3]));
    for (int32_t i = 0; i < 4; i++) CHECK_EQ(refocus_dense_answers(ctx)[3 * i + 2], REFOCUS_SAMPLE_ADAPTED);
    CHECK_EQ(refocus_dense_forward(ctx, 4), 0);
    last_bias[2] = NAN;  // a candidate
    CHECK_EQ(refocus_dense_predict(ctx, 4, 0.5f, 1.0f), REFOCUS_ERROR_NAN);
    CHECK_EQ(refocus_dense_forward(ctx, 4), REFOCUS_ERROR_NAN);
}

// Every activation keeps a NaN, as PyTorch's do (ReLU included): a NaN hidden unit makes NaN logits, an error, not
// an answer from a 0 (or a 1, from a sigmoid).
void test_activations_keep_nan() {
    for (int32_t act = 0; act < REFOCUS_ACT_COUNT; act++) {
        Network net;
        net.activations[0] = act;
        refocus_dense_config cfg = net.config();
        net.params[(size_t)NET.sizes[0] * NET.sizes[1]] = NAN;  // b_0[0]
        cfg.params = net.params.data();
        std::vector<unsigned char> workspace(refocus_dense_workspace_size(&cfg));
        refocus_dense* ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
        if (!CHECK(ctx != nullptr)) return;
        fill_inputs(ctx, 1);
        CHECK_EQ(refocus_dense_forward(ctx, 1), REFOCUS_ERROR_NAN);
        CHECK_EQ(refocus_dense_predict(ctx, 1, 0.5f, 1.0f), REFOCUS_ERROR_NAN);
    }
}

// GELU and SiLU keep their pre-activations for the backward pass (their output does not tell their input): more
// bytes, only for the adapted layers; the activations whose derivative comes from their output take none.
void test_pre_activation_rows() {
    Network net;
    const size_t base = [&] { refocus_dense_config c = net.config(); return refocus_dense_workspace_size(&c); }();
    for (int32_t act = 0; act < REFOCUS_ACT_COUNT; act++) {
        net.activations[1] = net.activations[2] = act;  // adapted whatever the first adapted layer, logits included
        refocus_dense_config cfg = net.config();
        const bool keeps = act == REFOCUS_ACT_GELU || act == REFOCUS_ACT_GELU_TANH || act == REFOCUS_ACT_SILU;
        CHECK(keeps ? refocus_dense_workspace_size(&cfg) > base : refocus_dense_workspace_size(&cfg) == base);
        test_workspace(cfg);  // and within the workspace, at any alignment
    }
}

// A step that overflows (eta = 1e30 without clipping, through two ReLU layers) gives infinite or NaN logits:
// every sample falls back to its plain prediction, in both modes, in a batch and in the sweep; an ordinary
// rate never does.
void test_fallback() {
    refocus_dense_config cfg = NET.config();
    const int32_t relu[3] = {REFOCUS_ACT_RELU, REFOCUS_ACT_RELU, REFOCUS_ACT_IDENTITY};
    cfg.activations = relu;
    cfg.clip_norm = 0.0f;
    const int32_t n = cfg.max_batch, classes = NET.sizes[3];
    for (int32_t mode : {REFOCUS_MODE_IMPLICIT, REFOCUS_MODE_SHADOW}) {
        for (int32_t steps : {1, 2}) {
            cfg.mode = mode;
            cfg.steps = steps;
            std::vector<unsigned char> workspace(refocus_dense_workspace_size(&cfg));
            refocus_dense* ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
            if (!CHECK(ctx != nullptr)) continue;
            fill_inputs(ctx, n);
            CHECK_EQ(refocus_dense_forward(ctx, n), 0);
            const std::vector<float> plain(refocus_dense_logits(ctx), refocus_dense_logits(ctx) + n * classes);
            CHECK_EQ(refocus_dense_predict(ctx, n, 1e30f, 1.0f), n);  // they all adapted, and fell back
            const int32_t* answers = refocus_dense_answers(ctx);
            for (int32_t i = 0; i < n; i++) {
                CHECK_EQ(answers[3 * i + 2], REFOCUS_SAMPLE_FELL_BACK);
                CHECK_EQ(answers[3 * i + 1], answers[3 * i]);
            }
            CHECK(std::memcmp(plain.data(), refocus_dense_logits(ctx), sizeof(float) * n * classes) == 0);
            CHECK_EQ(refocus_dense_predict(ctx, n, 0.5f, 1.0f), n);
            for (int32_t i = 0; i < n; i++) CHECK_EQ(answers[3 * i + 2], REFOCUS_SAMPLE_ADAPTED);
        }
    }

    cfg.mode = REFOCUS_MODE_IMPLICIT;
    cfg.steps = 1;
    std::vector<unsigned char> workspace(refocus_dense_workspace_size(&cfg));
    refocus_dense* ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
    if (!CHECK(ctx != nullptr)) return;
    fill_inputs(ctx, 1);
    CHECK_EQ(refocus_dense_forward(ctx, 1), 0);
    const std::vector<float> plain(refocus_dense_logits(ctx), refocus_dense_logits(ctx) + classes);
    const int32_t initial = refocus_dense_answers(ctx)[0];
    const float etas[2] = {0.5f, 1e30f};
    int32_t finals[2];
    CHECK_EQ(refocus_dense_sweep(ctx, etas, 2, 1.0f, finals), 1);
    CHECK_EQ(finals[1], initial);
    CHECK_EQ(refocus_dense_answers(ctx)[2], REFOCUS_SAMPLE_FELL_BACK);  // the last rate's row
    CHECK(std::memcmp(plain.data(), refocus_dense_logits(ctx), sizeof(float) * classes) == 0);
    CHECK_EQ(refocus_dense_predict(ctx, 1, 0.5f, 1.0f), 1);
    CHECK_EQ(finals[0], refocus_dense_answers(ctx)[1]);
    const float reversed[2] = {1e30f, 0.5f};
    CHECK_EQ(refocus_dense_sweep(ctx, reversed, 2, 1.0f, finals), 1);
    CHECK_EQ(finals[0], initial);
    CHECK_EQ(refocus_dense_answers(ctx)[2], REFOCUS_SAMPLE_ADAPTED);
}

// NET as a bf16 block (dense.h's layout: W_1 and W_2 have odd counts, so their biases follow a padding half),
// and the float32 block of the same values
struct Bf16Network {
    std::vector<uint32_t> words;  // 4-byte aligned, as the block must be
    std::vector<float> widened;

    Bf16Network() {
        std::vector<uint16_t> halves;
        const float* p = NET.params.data();
        for (int l = 0; l < 3; l++) {
            const size_t w = (size_t)NET.sizes[l] * NET.sizes[l + 1], b = (size_t)NET.sizes[l + 1];
            for (size_t i = 0; i < w; i++, p++) {
                uint32_t bits;
                std::memcpy(&bits, p, sizeof bits);
                halves.push_back((uint16_t)(bits >> 16));  // truncated: any bf16 values will do
                const uint32_t wide = bits & 0xFFFF0000u;
                widened.push_back(0.0f);
                std::memcpy(&widened.back(), &wide, sizeof wide);
            }
            if (w % 2 == 1) halves.push_back(0xFFFF);  // the padding: a NaN if it were ever read
            for (size_t i = 0; i < b; i++, p++) {
                uint32_t bits;
                std::memcpy(&bits, p, sizeof bits);
                halves.push_back((uint16_t)(bits & 0xFFFF));  // little-endian: the float's low half first
                halves.push_back((uint16_t)(bits >> 16));
                widened.push_back(*p);
            }
        }
        words.resize(halves.size() / 2);
        std::memcpy(words.data(), halves.data(), sizeof(uint16_t) * halves.size());
    }
};

// The bf16 block predicts, bit for bit, what the float32 block of its widened values predicts: implicit and
// shadow mode (where the adapted layers' shadow is float32 and the others stay bf16), all layers or the last.
void test_bf16_block() {
    const Bf16Network net;
    for (int32_t mode : {REFOCUS_MODE_IMPLICIT, REFOCUS_MODE_SHADOW}) {
        for (int32_t first : {0, 2}) {
            refocus_dense_config f32 = NET.config(), bf16 = NET.config();
            f32.params = net.widened.data();
            bf16.params = net.words.data();
            bf16.weight_format = REFOCUS_WEIGHTS_BF16;
            f32.mode = bf16.mode = mode;
            f32.first_adapted_layer = bf16.first_adapted_layer = first;
            // the block is not in the workspace; a bf16 batch context adds the scratch its kernels widen into
            const size_t size = refocus_dense_workspace_size(&f32), size_bf16 = refocus_dense_workspace_size(&bf16);
            CHECK(size_bf16 > size);
            std::vector<unsigned char> ws_f32(size), ws_bf16(size_bf16);
            refocus_dense* a = refocus_dense_init_static(ws_f32.data(), size, &f32);
            refocus_dense* b = refocus_dense_init_static(ws_bf16.data(), size_bf16, &bf16);
            if (!CHECK(a != nullptr && b != nullptr)) continue;
            fill_inputs(a, 4);
            fill_inputs(b, 4);
            const int32_t adapted = refocus_dense_predict(a, 4, 0.5f, 1.0f);
            CHECK_EQ(adapted, 4);
            CHECK_EQ(refocus_dense_predict(b, 4, 0.5f, 1.0f), adapted);
            const size_t classes = (size_t)NET.sizes[3];
            CHECK(std::memcmp(refocus_dense_logits(a), refocus_dense_logits(b), sizeof(float) * 4 * classes) == 0);
            CHECK(std::memcmp(refocus_dense_answers(a), refocus_dense_answers(b), sizeof(int32_t) * 4 * 3) == 0);
            CHECK(std::memcmp(refocus_dense_margins(a), refocus_dense_margins(b), sizeof(float) * 4) == 0);
            // the adapted logits differ from the plain ones: the steps did run on the bf16 weights
            CHECK_EQ(refocus_dense_forward(b, 1), 0);
            CHECK(std::memcmp(refocus_dense_logits(a), refocus_dense_logits(b), sizeof(float) * classes) != 0);
        }
    }
}

}  // namespace

int main() {
    test_common();
    test_workspace_sizes();
    refocus_dense_config cfg = NET.config();
    test_workspace(cfg);  // IMPLICIT, T = 2
    cfg.steps = 1;
    test_workspace(cfg);  // with the sweep
    cfg.mode = REFOCUS_MODE_SHADOW;
    cfg.candidates = CANDIDATES;
    cfg.n_candidates = 3;
    test_workspace(cfg);
    cfg.biases_only = 1;
    cfg.first_adapted_layer = 1;
    cfg.max_batch = 1;
    test_workspace(cfg);
    test_invalid_configs();
    test_calls();
    test_nan_outside_candidates();
    test_activations_keep_nan();
    test_pre_activation_rows();
    test_fallback();
    test_bf16_block();
    return check_summary("dense");
}
