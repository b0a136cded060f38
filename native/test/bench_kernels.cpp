// Not a test: the weight-matrix kernels' arithmetic rate against the core's FMA peak, for the benchmark models'
// layers (docs/DESIGN.md section 5) at batch 1 and 64, in GFLOP/s of the active SIMD variant, then the whole
// step (refocus_dense_forward / _predict, no JNI) per sample in microseconds:
//   target/native/test/bench_kernels [S|M|L ...]
// Kernel times are thread CPU time, the best of several repetitions, so that a shared machine's other processes
// count less; step times are medians of wall-clock rounds of many calls (a thread-CPU clock read costs more
// than a small model's call). Compare rows of one run. The peak row is a loop of independent FMAs on registers,
// compiled for the variant's ISA.
#include "dense_kernels.h"
#include "refocus/dense.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace refocus;

double cpu_seconds() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

template <typename F>
double best_of(int reps, F f) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = cpu_seconds();
        f();
        const double t = cpu_seconds() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef float f32x8 __attribute__((vector_size(32)));

// twelve independent a = a * m + c chains: more than the FMA units' latency x throughput on any x86 core
// (always inlined: the caller's target attribute decides the instructions)
template <typename V>
inline __attribute__((always_inline)) float fma_chains(long iterations, float s) {
    V a[12], m, c;
    for (int k = 0; k < 12; k++) a[k] = V{} + (s + k);
    m = V{} + s;
    c = V{} + 0.5f * s;
    for (long i = 0; i < iterations; i++)
        for (int k = 0; k < 12; k++) a[k] = a[k] * m + c;
    float r = 0;
    for (int k = 0; k < 12; k++) r += a[k][0];
    return r;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target("arch=x86-64-v3"), noinline)) float peak_v3(long n, float s) { return fma_chains<f32x8>(n, s); }
#endif
__attribute__((noinline)) float peak_baseline(long n, float s) { return fma_chains<f32x8>(n, s); }

volatile float sink;

// The median over rounds of the wall-clock time of one call of f, each round long enough for the clock.
template <typename F>
double median_call_seconds(F f) {
    long calls = 1;
    for (;;) {  // calls per round: about 2 ms
        const auto t0 = std::chrono::steady_clock::now();
        for (long c = 0; c < calls; c++) f();
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > 2e-3) break;
        calls *= 2;
    }
    std::vector<double> rounds;
    for (int r = 0; r < 101; r++) {
        const auto t0 = std::chrono::steady_clock::now();
        for (long c = 0; c < calls; c++) f();
        rounds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / calls);
    }
    std::nth_element(rounds.begin(), rounds.begin() + 50, rounds.end());
    return rounds[50];
}

// The whole step of one model as NativeBenchmark configures it (IFO_WEIGHTED, two focus classes, one step,
// clipping at 1, every layer adapting, implicit mode, eta 0.0205), PyTorch's default initialisation: per sample,
// the plain pass at batch 1 and 64, and predict with every sample uncertain (threshold 1) or certain (0).
void bench_step(const char* name, const int* sizes) {
    std::mt19937 random(7);
    std::vector<float> params;
    for (int l = 0; l < 3; l++) {
        std::uniform_real_distribution<float> init(-1.0f / std::sqrt((float)sizes[l]), 1.0f / std::sqrt((float)sizes[l]));
        for (long i = 0; i < (long)(sizes[l] + 1) * sizes[l + 1]; i++) params.push_back(init(random));
    }
    const int32_t activations[3] = {REFOCUS_ACT_RELU, REFOCUS_ACT_RELU, REFOCUS_ACT_IDENTITY};
    refocus_dense_config cfg{};
    cfg.n_layers = 3;
    cfg.sizes = sizes;
    cfg.activations = activations;
    cfg.params = params.data();
    cfg.method = REFOCUS_IFO_WEIGHTED;
    cfg.n_focus = 2;
    cfg.steps = 1;
    cfg.clip_norm = 1.0f;
    cfg.mode = REFOCUS_MODE_IMPLICIT;
    cfg.max_batch = 64;
    std::vector<char> workspace(refocus_dense_workspace_size(&cfg));
    refocus_dense* ctx = refocus_dense_init_static(workspace.data(), workspace.size(), &cfg);
    // Batch-1 calls take 256 samples in turn, copied in as the JNI call copies them: one sample called over and
    // over lets the branch predictor learn its path (which ReLU units are on), which no serving program sees.
    std::normal_distribution<float> normal;
    std::vector<float> samples(256 * (size_t)sizes[0]);
    for (float& x : samples) x = normal(random);
    float* inputs = refocus_dense_inputs(ctx);
    std::memcpy(inputs, samples.data(), sizeof(float) * 64 * sizes[0]);  // the batch rows' 64 samples
    size_t next = 0;
    const auto next_sample = [&] {
        std::memcpy(inputs, samples.data() + (next++ % 256) * sizes[0], sizeof(float) * sizes[0]);
    };
    const float eta = 0.0205f;
    const double plain1 = median_call_seconds([&] { next_sample(); refocus_dense_forward(ctx, 1); });
    const double certain1 = median_call_seconds([&] { next_sample(); refocus_dense_predict(ctx, 1, eta, 0.0f); });
    const double uncertain1 = median_call_seconds([&] { next_sample(); refocus_dense_predict(ctx, 1, eta, 1.0f); });
    std::memcpy(inputs, samples.data(), sizeof(float) * 64 * sizes[0]);  // row 0 back, after the batch-1 calls
    const double plain64 = median_call_seconds([&] { refocus_dense_forward(ctx, 64); }) / 64;
    const double uncertain64 = median_call_seconds([&] { refocus_dense_predict(ctx, 64, eta, 1.0f); }) / 64;
    std::printf("%-5s  %9.3f  %9.3f  %9.3f (%4.2fx)  %9.3f (%4.2fx)  %9.3f (%4.2fx)\n", name, plain1 * 1e6,
                certain1 * 1e6, uncertain1 * 1e6, uncertain1 / plain1, plain64 * 1e6, plain64 / plain1,
                uncertain64 * 1e6, uncertain64 / plain1);
}

}  // namespace

int main(int argc, char** argv) {
    const struct {
        const char* name;
        int sizes[4];
    } models[] = {{"S", {32, 64, 64, 3}}, {"M", {256, 1024, 1024, 32}}, {"L", {1024, 4096, 4096, 1000}}};
    // with model names: only their whole-step rows
    if (argc > 1) {
        std::printf("model  plain  certain  uncertain (of plain)  plain@64/sample  uncertain@64/sample, us\n");
        for (int a = 1; a < argc; a++)
            for (const auto& model : models)
                if (std::string(argv[a]) == model.name) bench_step(model.name, model.sizes);
        return 0;
    }
    const KernelVariant variant = kernel_variant();
    std::printf("kernels: %s\n", kernel_variant_name(variant));
    const long iterations = 20000000;
    float (*peak)(long, float) = peak_baseline;
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    if (variant != KERNELS_BASELINE) peak = peak_v3;  // AVX2+FMA; AVX-512 runs the same 256-bit code
#endif
    const double peak_s = best_of(3, [&] { sink = peak(iterations, 0.999f); });
    const double peak_gflops = iterations * 12.0 * 16 / peak_s / 1e9;
    std::printf("FMA peak (12 chains of 8-lane FMAs): %.1f GFLOP/s\n\n", peak_gflops);

    std::mt19937 random(1);
    std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
    std::printf("model  batch  forward GFLOP/s (of peak)  backward GFLOP/s (of peak)  forward us/sample\n");
    for (const auto& model : models) {
        std::vector<float> w[3], b[3];
        double macs = 0;
        for (int l = 0; l < 3; l++) {
            const int in = model.sizes[l], out = model.sizes[l + 1];
            w[l].resize((size_t)in * out);
            b[l].resize(out);
            for (float& v : w[l]) v = uniform(random);
            for (float& v : b[l]) v = uniform(random);
            macs += (double)in * out;
        }
        for (const int n : {1, 64}) {
            std::vector<float> a[4];
            for (int l = 0; l < 4; l++) {
                a[l].resize((size_t)n * model.sizes[l]);
                for (float& v : a[l]) v = uniform(random);
            }
            const int reps = macs * n > 1e8 ? 3 : macs * n > 1e6 ? 20 : 2000;
            const double forward = best_of(reps, [&] {
                for (int l = 0; l < 3; l++)
                    matmul_forward(a[l + 1].data(), a[l].data(), w[l].data(), b[l].data(), n, model.sizes[l],
                                   model.sizes[l + 1]);
            });
            // every delta non-zero: the backward pass's full cost, down to the first layer's input
            const double backward = best_of(reps, [&] {
                for (int l = 2; l >= 0; l--)
                    matmul_backward(a[l].data(), a[l + 1].data(), w[l].data(), n, model.sizes[l], model.sizes[l + 1]);
            });
            const double f = 2 * macs * n / forward / 1e9, g = 2 * macs * n / backward / 1e9;
            std::printf("%-5s  %5d  %7.1f (%3.0f%%)              %7.1f (%3.0f%%)               %10.2f\n", model.name, n, f,
                        100 * f / peak_gflops, g, 100 * g / peak_gflops, forward / n * 1e6);
        }
    }
    std::printf("\nmodel  plain  certain  uncertain (of plain)  plain@64/sample  uncertain@64/sample, us\n");
    for (const auto& model : models) bench_step(model.name, model.sizes);
    return 0;
}
