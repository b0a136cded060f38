// Not a test: the weight-matrix kernels' arithmetic rate against the core's FMA peak, for the benchmark models'
// layers (docs/DESIGN.md section 5) at batch 1 and 64, in GFLOP/s of the active SIMD variant:
//   target/native/test/bench_kernels
// Times are thread CPU time, the best of several repetitions, so that a shared machine's other processes count
// less; compare rows of one run. The peak row is a loop of independent FMAs on registers, compiled for the
// variant's ISA.
#include "dense_kernels.h"

#include <cstdio>
#include <ctime>
#include <random>
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

}  // namespace

int main() {
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

    const struct {
        const char* name;
        int sizes[4];
    } models[] = {{"S", {32, 64, 64, 3}}, {"M", {256, 1024, 1024, 32}}, {"L", {1024, 4096, 4096, 1000}}};
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
    return 0;
}
