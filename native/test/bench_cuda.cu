// bench_cuda: the CUDA step's latency and throughput on the benchmark models of DESIGN.md section 5, next to the CPU
// step's, for benchmarks/gpu/gpu-check.sh. Each figure is the median over many calls of the wall time of one C call
// as a caller sees it (the graph's launch, its kernels and the synchronisation), after a warm-up; per sample for
// batch 1, per call and per sample for batch 64. Not a test: it prints numbers (it does check that the calls succeed).
//
// usage: bench_cuda [iterations]   (default 2000; M uses a quarter, the CPU step at batch 64 a tenth)
#include "refocus/cuda.h"
#include "refocus/dense.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

struct Model {
    const char* name;
    std::vector<int32_t> sizes, activations;
    std::vector<float> params;
};

// BenchmarkModels' recipe (DESIGN.md section 5) with C++'s generator: uniform +-1/sqrt(fan_in), the head scaled by
// 0.01 and its bias zeroed, so that every sample is uncertain at d = 0.16.
Model make_model(const char* name, std::vector<int32_t> sizes) {
    Model m{name, sizes, {}, {}};
    std::mt19937 random(0);
    const int32_t layers = (int32_t)sizes.size() - 1;
    for (int32_t l = 0; l < layers; l++) {
        m.activations.push_back(l + 1 < layers ? REFOCUS_ACT_RELU : REFOCUS_ACT_IDENTITY);
        const float bound = 1.0f / std::sqrt((float)sizes[l]);
        std::uniform_real_distribution<float> uniform(-bound, bound);
        const bool head = l + 1 == layers;
        for (int64_t i = 0; i < (int64_t)sizes[l] * sizes[l + 1]; i++) m.params.push_back(uniform(random) * (head ? 0.01f : 1.0f));
        for (int32_t o = 0; o < sizes[l + 1]; o++) m.params.push_back(head ? 0.0f : uniform(random));
    }
    return m;
}

refocus_dense_config config(const Model& m, int32_t mode, int32_t batch) {
    refocus_dense_config cfg{};
    cfg.n_layers = (int32_t)m.activations.size();
    cfg.sizes = m.sizes.data();
    cfg.activations = m.activations.data();
    cfg.params = m.params.data();
    cfg.method = REFOCUS_IFO_WEIGHTED;
    cfg.n_focus = 2;
    cfg.steps = 1;
    cfg.clip_norm = 1.0f;
    cfg.mode = mode;
    cfg.max_batch = batch;
    return cfg;
}

// median wall time of call(), in microseconds; call() returns what the C call returned, which must be `expect`
// (any result when expect < 0)
double median_us(int32_t iterations, const std::function<int32_t()>& call, int32_t expect) {
    for (int32_t i = 0; i < iterations / 10 + 10; i++) {
        const int32_t rc = call();
        if (expect >= 0 ? rc != expect : refocus_is_error(rc)) {
            std::fprintf(stderr, "bench_cuda: a call returned %d, not %d (%s)\n", rc, expect, refocus_cuda_last_error());
            std::exit(1);
        }
    }
    std::vector<double> t(iterations);
    for (int32_t i = 0; i < iterations; i++) {
        const auto start = std::chrono::steady_clock::now();
        call();
        t[i] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    }
    std::nth_element(t.begin(), t.begin() + iterations / 2, t.end());
    return t[iterations / 2];
}

void fill(float* x, int32_t n) {
    std::mt19937 random(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int32_t i = 0; i < n; i++) x[i] = normal(random);
}

constexpr float ETA = 0.0205f, D = 0.16f;

void bench(const Model& m, refocus_cuda_weights* weights, int32_t iterations) {
    const int32_t in = m.sizes[0];
    std::printf("%-2s %-9s %8s %8s %8s %10s %10s\n", m.name, "mode", "plain", "certain", "uncertain",
                "batch64/call", "batch64/sample");
    for (int32_t mode : {REFOCUS_MODE_IMPLICIT, REFOCUS_MODE_SHADOW}) {
        const char* mode_name = mode == REFOCUS_MODE_IMPLICIT ? "implicit" : "shadow";
        // the GPU
        refocus_dense_config one = config(m, mode, 1), batch = config(m, mode, 64);
        refocus_cuda *g1 = nullptr, *g64 = nullptr;
        if (refocus_cuda_create(weights, &one, &g1) != 0 || refocus_cuda_create(weights, &batch, &g64) != 0) {
            std::fprintf(stderr, "bench_cuda: create: %s\n", refocus_cuda_last_error());
            std::exit(1);
        }
        fill(refocus_cuda_inputs(g1), in);
        fill(refocus_cuda_inputs(g64), 64 * in);
        const double plain = median_us(iterations, [&] { return refocus_cuda_forward(g1, 1); }, 0);
        const double certain = median_us(iterations, [&] { return refocus_cuda_predict(g1, 1, ETA, 0.0f); }, 0);
        const double uncertain = median_us(iterations, [&] { return refocus_cuda_predict(g1, 1, ETA, D); }, 1);
        const double b64 = median_us(iterations / 4, [&] { return refocus_cuda_predict(g64, 64, ETA, D); }, -1);
        std::printf("%-2s %-9s %8.1f %8.1f %8.1f %10.1f %10.2f  us (GPU)\n", m.name, mode_name, plain, certain,
                    uncertain, b64, b64 / 64);
        refocus_cuda_free(g1);
        refocus_cuda_free(g64);

        // the CPU step, one thread
        std::vector<unsigned char> w1(refocus_dense_workspace_size(&one)), w64(refocus_dense_workspace_size(&batch));
        refocus_dense* c1 = refocus_dense_init_static(w1.data(), w1.size(), &one);
        refocus_dense* c64 = refocus_dense_init_static(w64.data(), w64.size(), &batch);
        fill(refocus_dense_inputs(c1), in);
        fill(refocus_dense_inputs(c64), 64 * in);
        const int32_t cpu_iterations = std::max(20, iterations / (m.sizes[1] >= 1024 ? 8 : 1));
        const double c_plain = median_us(cpu_iterations, [&] { return refocus_dense_forward(c1, 1); }, 0);
        const double c_certain = median_us(cpu_iterations, [&] { return refocus_dense_predict(c1, 1, ETA, 0.0f); }, 0);
        const double c_uncertain = median_us(cpu_iterations, [&] { return refocus_dense_predict(c1, 1, ETA, D); }, 1);
        const double c_b64 =
            median_us(std::max(10, cpu_iterations / 10), [&] { return refocus_dense_predict(c64, 64, ETA, D); }, -1);
        std::printf("%-2s %-9s %8.1f %8.1f %8.1f %10.1f %10.2f  us (CPU, %s)\n", m.name, mode_name, c_plain, c_certain,
                    c_uncertain, c_b64, c_b64 / 64, refocus_kernel_variant());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int32_t iterations = argc > 1 ? std::max(40, std::atoi(argv[1])) : 2000;
    if (refocus_cuda_device_count() <= 0) {
        std::printf("bench_cuda: no usable CUDA device: %s\n", refocus_cuda_last_error());
        return 77;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        std::printf("device 0: %s, %d SMs, %.0f MiB; batch 1 per sample, batch 64 per call and per sample; median "
                    "wall time of a C call\n", prop.name, prop.multiProcessorCount, prop.totalGlobalMem / 1048576.0);
    }
    const Model models[2] = {make_model("S", {32, 64, 64, 3}), make_model("M", {256, 1024, 1024, 32})};
    for (const Model& m : models) {
        refocus_dense_config cfg = config(m, REFOCUS_MODE_IMPLICIT, 1);
        refocus_cuda_weights* weights = nullptr;
        if (refocus_cuda_weights_upload(0, &cfg, &weights) != 0) {
            std::fprintf(stderr, "bench_cuda: upload: %s\n", refocus_cuda_last_error());
            return 1;
        }
        bench(m, weights, m.sizes[1] >= 1024 ? iterations / 4 : iterations);
        refocus_cuda_weights_free(weights);
    }
    return 0;
}
