// The weight-matrix kernels (src/dense_kernels.h) in one SIMD variant, named by the argument, against plain
// scalar twins in double precision (llm.c's *_cpu way), at sizes that leave every kind of tail: rows past the
// last group of four, lanes past the last chunk of sixteen, column blocks and row groups of the batch loops.
// Also their promises: a batch gives each sample the bits n single calls give it, matmul_backward skips the
// rows whose coefficient is zero, sgd_rank1 in place equals out of place, nothing is written past an output.
//
// The bf16 overloads are held to the float32 kernels of the same variant on the widened weights: the same
// bits, since they must compute the same sums in the same order (dense_kernels.h).
//
// usage: test_kernels x86-64-v4 | x86-64-v3 | baseline. Exits with 77 (ctest: skipped) when the CPU cannot
// execute that variant.
#include "check.h"
#include "dense_kernels.h"
#include "refocus/common.h"

#include <cfloat>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace refocus;

namespace {

constexpr int SKIPPED = 77;
constexpr const char* ARGUMENTS[N_KERNEL_VARIANTS] = {"x86-64-v4", "x86-64-v3", "baseline"};
constexpr float SENTINEL = -12345.0f;  // fills the guard floats past each output
constexpr size_t GUARD = 64;

// ---------------------------------------------------------------------------------------------------
// the scalar twins: plain loops, accumulated in double; mag gets the sum of |terms| for the tolerance

void matmul_forward_cpu(double* y, double* mag, const float* x, const float* w, const float* b, int n, int in,
                        int out) {
    for (int s = 0; s < n; s++) {
        for (int o = 0; o < out; o++) {
            double acc = b[o], abs = std::fabs(b[o]);
            for (int i = 0; i < in; i++) {
                acc += (double)w[o * in + i] * x[s * in + i];
                abs += std::fabs((double)w[o * in + i] * x[s * in + i]);
            }
            y[s * out + o] = acc;
            mag[s * out + o] = abs;
        }
    }
}

// rows whose coefficient is zero are skipped, as the kernel promises: a NaN there must not leak
void matmul_backward_cpu(double* g, double* mag, const float* d, const float* w, int n, int in, int out) {
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < in; i++) {
            double acc = 0.0, abs = 0.0;
            for (int o = 0; o < out; o++) {
                if (d[s * out + o] == 0.0f) continue;
                acc += (double)d[s * out + o] * w[o * in + i];
                abs += std::fabs((double)d[s * out + o] * w[o * in + i]);
            }
            g[s * in + i] = acc;
            mag[s * in + i] = abs;
        }
    }
}

// the coefficient eta * u[o] is rounded to float first, as in the kernel
void sgd_rank1_cpu(double* dst, double* mag, const float* src, const float* u, float eta, const float* a, int out,
                   int in) {
    for (int o = 0; o < out; o++) {
        const float c = eta * u[o];
        for (int i = 0; i < in; i++) {
            dst[o * in + i] = c == 0.0f ? src[o * in + i] : src[o * in + i] - (double)c * a[i];
            mag[o * in + i] = std::fabs(src[o * in + i]) + std::fabs((double)c * a[i]);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// helpers

// deterministic on every platform: a 64-bit LCG, uniform in [-1, 1)
struct Random {
    uint64_t state;
    float next() {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return (float)(state >> 40) / (float)(1 << 23) - 1.0f;
    }
    std::vector<float> vector(size_t count) {
        std::vector<float> v(count);
        for (float& e : v) e = next();
        return v;
    }
};

// an output of `count` floats followed by GUARD sentinels
std::vector<float> output(size_t count) { return std::vector<float>(count + GUARD, SENTINEL); }

bool guard_intact(const std::vector<float>& v) {
    for (size_t i = v.size() - GUARD; i < v.size(); i++) {
        if (v[i] != SENTINEL) return false;
    }
    return true;
}

bool same_bits(const float* a, const float* b, size_t count) { return std::memcmp(a, b, sizeof(float) * count) == 0; }

// Float rounding bound of a sum accumulated `depth` additions deep: about depth u sum|terms| (Higham,
// "Accuracy and Stability of Numerical Algorithms", 4.2), plus a few for the lane tree and the bias.
double sum_tolerance(int depth, double mag) { return (depth + 6) * (double)FLT_EPSILON * mag; }

// ---------------------------------------------------------------------------------------------------
// the tests

void test_matmul_forward(Random& random, int n, int in, int out) {
    const std::vector<float> x = random.vector((size_t)n * in), w = random.vector((size_t)in * out),
                             b = random.vector(out);
    std::vector<float> y = output((size_t)n * out);
    std::vector<double> ref((size_t)n * out), mag((size_t)n * out);
    matmul_forward(y.data(), x.data(), w.data(), b.data(), n, in, out);
    matmul_forward_cpu(ref.data(), mag.data(), x.data(), w.data(), b.data(), n, in, out);
    const int depth = (in + 15) / 16;  // terms per lane
    for (size_t k = 0; k < ref.size(); k++) {
        if (!CHECK_NEAR(y[k], ref[k], sum_tolerance(depth, mag[k]), FLT_EPSILON)) {
            std::fprintf(stderr, "  matmul_forward n=%d in=%d out=%d, y[%zu]\n", n, in, out, k);
            break;
        }
    }
    CHECK(guard_intact(y));
    // each sample's bits, whatever the batch
    for (int s = 0; s < n; s++) {
        std::vector<float> one = output(out);
        matmul_forward(one.data(), x.data() + (size_t)s * in, w.data(), b.data(), 1, in, out);
        if (!CHECK(same_bits(one.data(), y.data() + (size_t)s * out, out))) {
            std::fprintf(stderr, "  matmul_forward n=%d in=%d out=%d, sample %d alone\n", n, in, out, s);
        }
    }
}

void test_matmul_backward(Random& random, int n, int in, int out) {
    std::vector<float> d = random.vector((size_t)n * out), w = random.vector((size_t)in * out);
    // zeros scattered, and every second row zero for all samples with NaN weights: never read. Half of those zeros
    // are -0, as ReLU's derivative makes them from a negative gradient.
    for (int s = 0; s < n; s++) {
        for (int o = 0; o < out; o++) {
            if (o % 2 == 1 || (s + o) % 3 == 0) d[(size_t)s * out + o] = o % 4 == 3 ? -0.0f : 0.0f;
        }
    }
    for (int o = 1; o < out; o += 2) {
        for (int i = 0; i < in; i++) w[(size_t)o * in + i] = NAN;
    }
    std::vector<float> g = output((size_t)n * in);
    std::vector<double> ref((size_t)n * in), mag((size_t)n * in);
    matmul_backward(g.data(), d.data(), w.data(), n, in, out);
    matmul_backward_cpu(ref.data(), mag.data(), d.data(), w.data(), n, in, out);
    for (size_t k = 0; k < ref.size(); k++) {
        if (!CHECK_NEAR(g[k], ref[k], sum_tolerance(out, mag[k]), FLT_EPSILON)) {
            std::fprintf(stderr, "  matmul_backward n=%d in=%d out=%d, g[%zu]\n", n, in, out, k);
            break;
        }
    }
    CHECK(guard_intact(g));
    for (int s = 0; s < n; s++) {
        std::vector<float> one = output(in);
        matmul_backward(one.data(), d.data() + (size_t)s * out, w.data(), 1, in, out);
        if (!CHECK(same_bits(one.data(), g.data() + (size_t)s * in, in))) {
            std::fprintf(stderr, "  matmul_backward n=%d in=%d out=%d, sample %d alone\n", n, in, out, s);
        }
    }
}

void test_sgd_rank1(Random& random, int in, int out) {
    const std::vector<float> src = random.vector((size_t)in * out), a = random.vector(in);
    std::vector<float> u = random.vector(out);
    for (int o = 0; o < out; o += 3) u[o] = 0.0f;
    const float eta = 0.75f;
    std::vector<float> dst = output((size_t)in * out);
    std::vector<double> ref((size_t)in * out), mag((size_t)in * out);
    sgd_rank1(dst.data(), src.data(), u.data(), eta, a.data(), out, in);
    sgd_rank1_cpu(ref.data(), mag.data(), src.data(), u.data(), eta, a.data(), out, in);
    for (size_t k = 0; k < ref.size(); k++) {
        if (!CHECK_NEAR(dst[k], ref[k], 2 * FLT_EPSILON * mag[k], 0.0)) {
            std::fprintf(stderr, "  sgd_rank1 in=%d out=%d, dst[%zu]\n", in, out, k);
            break;
        }
    }
    CHECK(guard_intact(dst));
    // dst may be src
    std::vector<float> in_place = src;
    in_place.resize(src.size() + GUARD, SENTINEL);
    sgd_rank1(in_place.data(), in_place.data(), u.data(), eta, a.data(), out, in);
    CHECK(same_bits(in_place.data(), dst.data(), src.size()));
    CHECK(guard_intact(in_place));
}

// Rows with eta u[o] = 0 are copied bit for bit (or left alone), even where a step would give NaN.
void test_sgd_rank1_zero_rows(Random& random) {
    const int in = 19, out = 6;
    const std::vector<float> src = random.vector((size_t)in * out);
    std::vector<float> a = random.vector(in), u = random.vector(out);
    a[in - 1] = INFINITY;
    u[2] = 0.0f;
    u[5] = -0.0f;
    for (float eta : {0.0f, 0.5f}) {
        std::vector<float> dst(src.size()), in_place = src;
        sgd_rank1(dst.data(), src.data(), u.data(), eta, a.data(), out, in);
        sgd_rank1(in_place.data(), in_place.data(), u.data(), eta, a.data(), out, in);
        for (int o = 0; o < out; o++) {
            if (eta * u[o] != 0.0f) continue;
            CHECK(same_bits(dst.data() + (size_t)o * in, src.data() + (size_t)o * in, in));
            CHECK(same_bits(in_place.data() + (size_t)o * in, src.data() + (size_t)o * in, in));
        }
    }
}

// bf16 weights: the top halves of random floats, a NaN among them; and their exact float32 widening
std::vector<uint16_t> bf16_weights(Random& random, size_t count) {
    std::vector<uint16_t> w(count);
    for (uint16_t& e : w) {
        const float f = random.next();
        uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        e = (uint16_t)(bits >> 16);
    }
    return w;
}

std::vector<float> widened(const std::vector<uint16_t>& w) {
    std::vector<float> f(w.size());
    for (size_t i = 0; i < w.size(); i++) {
        const uint32_t bits = (uint32_t)w[i] << 16;
        std::memcpy(&f[i], &bits, sizeof bits);
    }
    return f;
}

// The three bf16 kernels give, bit for bit, what the float32 ones give on the widened matrix: batch and
// single, with and without a scratch (a batch then widens a group at a time into it), rows skipped by
// matmul_backward (NaN there), rows copied by sgd_rank1 (eta u[o] = 0). The scratch has exactly the floats
// bf16_scratch_floats() asks for, and guard floats past it that must stay untouched.
void test_bf16(Random& random, int n, int in, int out) {
    std::vector<float> scratch = output(bf16_scratch_floats(in));
    std::vector<uint16_t> w16 = bf16_weights(random, (size_t)in * out);
    const std::vector<float> x = random.vector((size_t)n * in), b = random.vector(out), a = random.vector(in);
    std::vector<float> d = random.vector((size_t)n * out), u = random.vector(out);
    for (int o = 1; o < out; o += 2) {
        for (int s = 0; s < n; s++) d[(size_t)s * out + o] = 0.0f;
        for (int i = 0; i < in; i++) w16[(size_t)o * in + i] = 0x7fc0;  // a quiet NaN: never read
        u[o] = 0.0f;  // copied, NaN and all
    }
    const std::vector<float> w = widened(w16);
    const float eta = 0.75f;

    std::vector<float> y16 = output((size_t)n * out), y32 = output((size_t)n * out), one = output(out);
    for (int o = 1; o < out; o += 2) {
        for (int i = 0; i < in; i++) w16[(size_t)o * in + i] = (uint16_t)(0x3f80 + i % 7);  // finite for the forward
    }
    const std::vector<float> w_finite = widened(w16);
    matmul_forward(y16.data(), x.data(), w16.data(), b.data(), n, in, out);
    matmul_forward(y32.data(), x.data(), w_finite.data(), b.data(), n, in, out);
    matmul_forward(one.data(), x.data() + (size_t)(n - 1) * in, w16.data(), b.data(), 1, in, out);
    std::vector<float> y_widened = output((size_t)n * out);
    matmul_forward(y_widened.data(), x.data(), w16.data(), b.data(), n, in, out, scratch.data());
    if (!CHECK(same_bits(y16.data(), y32.data(), (size_t)n * out) && guard_intact(y16))
        || !CHECK(same_bits(one.data(), y16.data() + (size_t)(n - 1) * out, out))
        || !CHECK(same_bits(y_widened.data(), y32.data(), (size_t)n * out) && guard_intact(y_widened))) {
        std::fprintf(stderr, "  bf16 matmul_forward n=%d in=%d out=%d\n", n, in, out);
    }
    for (int o = 1; o < out; o += 2) {
        for (int i = 0; i < in; i++) w16[(size_t)o * in + i] = 0x7fc0;
    }

    std::vector<float> g16 = output((size_t)n * in), g32 = output((size_t)n * in);
    matmul_backward(g16.data(), d.data(), w16.data(), n, in, out);
    matmul_backward(g32.data(), d.data(), w.data(), n, in, out);
    std::vector<float> g_widened = output((size_t)n * in);
    matmul_backward(g_widened.data(), d.data(), w16.data(), n, in, out, scratch.data());
    if (!CHECK(same_bits(g16.data(), g32.data(), (size_t)n * in) && guard_intact(g16))
        || !CHECK(same_bits(g_widened.data(), g32.data(), (size_t)n * in) && guard_intact(g_widened))) {
        std::fprintf(stderr, "  bf16 matmul_backward n=%d in=%d out=%d\n", n, in, out);
    }

    std::vector<float> s16 = output((size_t)in * out), s32 = output((size_t)in * out);
    sgd_rank1(s16.data(), w16.data(), u.data(), eta, a.data(), out, in);
    sgd_rank1(s32.data(), w.data(), u.data(), eta, a.data(), out, in);
    if (!CHECK(same_bits(s16.data(), s32.data(), (size_t)in * out) && guard_intact(s16))) {
        std::fprintf(stderr, "  bf16 sgd_rank1 in=%d out=%d\n", in, out);
    }
    CHECK(guard_intact(scratch));
}

}  // namespace

int main(int argc, char** argv) {
    // at load, the best variant this CPU runs: what GCC's target_clones would have picked
    KernelVariant best = N_KERNEL_VARIANTS;
    for (int v = N_KERNEL_VARIANTS - 1; v >= 0; v--) {
        if (cpu_runs((KernelVariant)v)) best = (KernelVariant)v;
    }
    CHECK_EQ(kernel_variant(), best);
    CHECK(std::strcmp(refocus_kernel_variant(), kernel_variant_name(best)) == 0);

    int variant = 0;
    while (variant < N_KERNEL_VARIANTS && (argc != 2 || std::strcmp(argv[1], ARGUMENTS[variant]) != 0)) variant++;
    if (variant == N_KERNEL_VARIANTS) {
        std::fprintf(stderr, "usage: test_kernels x86-64-v4 | x86-64-v3 | baseline\n");
        return 2;
    }
    const KernelVariant v = (KernelVariant)variant;
    if (!use_kernel_variant(v)) {
        std::printf("SKIPPED: this CPU cannot execute the %s kernels\n", kernel_variant_name(v));
        return SKIPPED;
    }
    CHECK_EQ(kernel_variant(), v);
    CHECK(std::strcmp(refocus_kernel_variant(), kernel_variant_name(v)) == 0);
    std::printf("kernels: %s (the CPU's own pick: %s)\n", kernel_variant_name(v), kernel_variant_name(best));

    Random random{42};
    // tails: lanes past the last chunk of 16, rows past the last group of 4, batches past one sample
    for (int in : {1, 3, 15, 16, 17, 33}) {
        for (int out : {1, 3, 5}) {
            for (int n : {1, 2, 7}) {
                test_matmul_forward(random, n, in, out);
                test_matmul_backward(random, n, in, out);
            }
            test_sgd_rank1(random, in, out);
            test_bf16(random, 3, in, out);
        }
    }
    // the loops' blocking: several row groups in matmul_forward (in = 300: 12 rows, the last group 10) and
    // matmul_backward (out > 16); several column blocks in matmul_backward (in > 32768 / n)
    test_matmul_forward(random, 3, 300, 70);
    test_matmul_backward(random, 9, 40, 37);
    test_matmul_backward(random, 7, 5000, 37);
    test_sgd_rank1(random, 300, 70);
    test_sgd_rank1_zero_rows(random);
    test_bf16(random, 3, 300, 70);
    test_bf16(random, 7, 5000, 37);
    return check_summary(kernel_variant_name(v));
}
