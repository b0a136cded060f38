// The weight-matrix kernels of the dense step (dense_kernels.h), written with GCC vector types of eight
// floats: one AVX2 register, half an AVX-512 one (Zen 4 splits those anyway), two SSE registers. Each dot
// product keeps sixteen lanes of partial sums, so it needs no reassociation and no -ffast-math: results
// keep IEEE semantics (NaN, infinities) and a fixed summation order.
#include "dense_kernels.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#  define REFOCUS_TARGET(arch) __attribute__((target("arch=" arch)))
// (cpu_init first: the choice is made when the library loads, maybe before libgcc's constructor has run)
#  define REFOCUS_CPU_SUPPORTS(arch) (__builtin_cpu_init(), __builtin_cpu_supports(arch))
#else  // only the baseline variant runs
#  define REFOCUS_TARGET(arch)
#  define REFOCUS_CPU_SUPPORTS(arch) false
#endif
// Helpers and kernel bodies must be inlined into the entry points of each variant: code left out of line is
// compiled for the baseline only.
#define REFOCUS_INLINE inline __attribute__((always_inline))

namespace refocus {
namespace {

typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x2 __attribute__((vector_size(8)));

constexpr int32_t LANES = 16;  // partial sums per dot product: two vectors
constexpr int32_t ROWS = 4;    // rows per pass over x: each chunk of x is loaded once for four rows

typedef uint32_t u32x8 __attribute__((vector_size(32)));

// (by reference: a vector passed by value would change the ABI between the clones)
REFOCUS_INLINE void load(f32x8& v, const float* p) { std::memcpy(&v, p, sizeof v); }

// Sixteen weights as floats, from either storage (dense_kernels.h), in the lane order each storage loads
// cheaply. float32: a = w[0 .. 8), b = w[8 .. 16). bf16 is the top half of a float32, so widening is exact:
// one 32-byte load holds the sixteen in pairs, a shift widens the even ones into a and a mask the odd ones
// into b (two instructions, where GCC 12 widens eight halves to one 256-bit vector in five: 13 % faster
// forward passes on Zen 1). The x vector that meets the weights takes the same order (load16), and the
// partial sums of a dot product go back to the float32 order before they are added (sum_lanes16), so that
// every lane sums the same products in the same order as the float32 kernel. (matmul_backward keeps
// GCC's own vectorisation of widen(): the same trick with g permuted both ways was 15 % slower.)
REFOCUS_INLINE void load_w16(f32x8& a, f32x8& b, const float* w) {
    load(a, w);
    load(b, w + 8);
}
REFOCUS_INLINE void load_w16(f32x8& a, f32x8& b, const uint16_t* w) {
    u32x8 pairs;
    std::memcpy(&pairs, w, sizeof pairs);
    const u32x8 even = pairs << 16, odd = pairs & 0xFFFF0000u;
    std::memcpy(&a, &even, sizeof a);
    std::memcpy(&b, &odd, sizeof b);
}

// v[0 .. 16) in the lane order of load_w16 for weights of type W (the last argument names the type)
REFOCUS_INLINE void load16(f32x8& a, f32x8& b, const float* v, const float*) {
    load(a, v);
    load(b, v + 8);
}
REFOCUS_INLINE void load16(f32x8& a, f32x8& b, const float* v, const uint16_t*) {
    f32x8 lo, hi;
    load(lo, v);
    load(hi, v + 8);
    a = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
    b = __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
}

// back from the lane order of load_w16 to v[0 .. 8) in lo and v[8 .. 16) in hi
REFOCUS_INLINE void unpermute(f32x8& lo, f32x8& hi, const f32x8& a, const f32x8& b, const float*) {
    lo = a;
    hi = b;
}
REFOCUS_INLINE void unpermute(f32x8& lo, f32x8& hi, const f32x8& a, const f32x8& b, const uint16_t*) {
    lo = __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
    hi = __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

// one weight as a float, for the scalar loops
REFOCUS_INLINE float widen(float w) { return w; }
REFOCUS_INLINE float widen(uint16_t w) {
    const uint32_t bits = (uint32_t)w << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// a row of weights as floats; a float row copied onto itself is left alone
REFOCUS_INLINE void copy_widened(float* to, const float* from, int32_t n) {
    if (to != from) std::memcpy(to, from, sizeof(float) * n);
}
REFOCUS_INLINE void copy_widened(float* to, const uint16_t* from, int32_t n) {
    for (int32_t i = 0; i < n; i++) to[i] = widen(from[i]);
}

// The sixteen lanes of one dot product, summed as a tree: lanes k and k + 8, then k and k + 4, then
// k and k + 2, then the last two. The same order for every row.
REFOCUS_INLINE float sum_lanes(const f32x8& lo, const f32x8& hi) {
    const f32x8 v = lo + hi;
    const f32x4 q = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    const f32x2 h = __builtin_shufflevector(q, q, 0, 1) + __builtin_shufflevector(q, q, 2, 3);
    return h[0] + h[1];
}

// The partial sums of one dot product, in the lane order of load_w16, summed as sum_lanes sums float32's
template <class W>
REFOCUS_INLINE float sum_lanes16(const f32x8& a, const f32x8& b, const W* tag) {
    f32x8 lo, hi;
    unpermute(lo, hi, a, b, tag);
    return sum_lanes(lo, hi);
}

// acc += w[0 .. 16) * x[0 .. 16), in two halves (x loaded by load16 for this W)
template <class W>
REFOCUS_INLINE void fma16(f32x8& lo, f32x8& hi, const W* w, const f32x8& x_lo, const f32x8& x_hi) {
    f32x8 a, b;
    load_w16(a, b, w);
    lo += a * x_lo;
    hi += b * x_hi;
}

// Four dot products w_r . x at once: eight independent accumulators hide the FMA latency. The last
// partial chunk is copied into zero-padded buffers, so it takes the same path as the others.
template <class W>
REFOCUS_INLINE void dot_rows(const W* const* w, const float* x, int32_t n, float* out) {
    const W *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
    f32x8 lo0 = {}, lo1 = {}, lo2 = {}, lo3 = {}, hi0 = {}, hi1 = {}, hi2 = {}, hi3 = {}, x_lo, x_hi;
    int32_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        load16(x_lo, x_hi, x + i, w0);
        fma16(lo0, hi0, w0 + i, x_lo, x_hi);
        fma16(lo1, hi1, w1 + i, x_lo, x_hi);
        fma16(lo2, hi2, w2 + i, x_lo, x_hi);
        fma16(lo3, hi3, w3 + i, x_lo, x_hi);
    }
    if (i < n) {
        const size_t rest = sizeof(float) * (n - i), rest_w = sizeof(W) * (n - i);
        float pad_x[LANES] = {};
        W pad0[LANES] = {}, pad1[LANES] = {}, pad2[LANES] = {}, pad3[LANES] = {};
        std::memcpy(pad_x, x + i, rest);
        std::memcpy(pad0, w0 + i, rest_w);
        std::memcpy(pad1, w1 + i, rest_w);
        std::memcpy(pad2, w2 + i, rest_w);
        std::memcpy(pad3, w3 + i, rest_w);
        load16(x_lo, x_hi, pad_x, w0);
        fma16(lo0, hi0, pad0, x_lo, x_hi);
        fma16(lo1, hi1, pad1, x_lo, x_hi);
        fma16(lo2, hi2, pad2, x_lo, x_hi);
        fma16(lo3, hi3, pad3, x_lo, x_hi);
    }
    out[0] = sum_lanes16(lo0, hi0, w0);
    out[1] = sum_lanes16(lo1, hi1, w0);
    out[2] = sum_lanes16(lo2, hi2, w0);
    out[3] = sum_lanes16(lo3, hi3, w0);
}

// g += c_0 w_0 + ... + c_{K-1} w_{K-1}, added in that order: exactly one row after the other, but with
// K rows streaming from memory at once.
template <int K, class W>
REFOCUS_INLINE void axpy_rows(float* __restrict g, const W* const* w, const float* c, int32_t len) {
    for (int32_t i = 0; i < len; i++) {
        float acc = g[i];
        for (int32_t r = 0; r < K; r++) acc += c[r] * widen(w[r][i]);
        g[i] = acc;
    }
}

// ---------------------------------------------------------------------------------------------------
// the kernels, once for both weight storages; each variant below compiles them for its ISA

template <class W>
REFOCUS_INLINE void matmul_forward_body(float* y, const float* x, const W* w, const float* b, int32_t n,
                                        int32_t in, int32_t out) {
    // Rows go in groups of about 16 KiB that stay in L1 next to a sample's x while every sample passes over
    // them, so W comes from memory once per call (32 KiB groups spill a 32 KiB L1 once x joins them: 10 %
    // slower on model M at batch 64, bench_kernels). The group depends on `in` only, never on n.
    const int32_t group = std::max(ROWS, 4096 / in / ROWS * ROWS);
    for (int32_t o0 = 0; o0 < out; o0 += group) {
        const int32_t o1 = std::min(out, o0 + group);
        for (int32_t s = 0; s < n; s++) {
            const float* xs = x + (size_t)s * in;
            float* ys = y + (size_t)s * out;
            for (int32_t o = o0; o < o1; o += ROWS) {
                // past the last row, repeat it and drop the result: every row takes the same path
                const W* row[ROWS];
                for (int32_t r = 0; r < ROWS; r++) row[r] = w + (size_t)std::min(o + r, out - 1) * in;
                float dots[ROWS];
                dot_rows(row, xs, in, dots);
                for (int32_t r = 0; r < ROWS && o + r < o1; r++) ys[o + r] = dots[r] + b[o + r];
            }
        }
    }
}

template <class W>
REFOCUS_INLINE void matmul_backward_body(float* g, const float* d, const W* w, int32_t n, int32_t in, int32_t out) {
    // Column blocks small enough that the partial sums of the whole batch stay in cache while W streams
    // past once; rows in groups that stay in cache while every sample takes its non-zero ones, four at a
    // time. Each g[s][i] still adds its rows in row order, so neither grouping changes a bit.
    constexpr int32_t GROUP = 16;
    const int32_t block = std::min(in, std::max(LANES, 32768 / n));
    for (int32_t c0 = 0; c0 < in; c0 += block) {
        const int32_t len = std::min(block, in - c0);
        for (int32_t s = 0; s < n; s++) std::memset(g + (size_t)s * in + c0, 0, sizeof(float) * len);
        for (int32_t o0 = 0; o0 < out; o0 += GROUP) {
            const int32_t o1 = std::min(out, o0 + GROUP);
            for (int32_t s = 0; s < n; s++) {
                const float* ds = d + (size_t)s * out;
                float* gs = g + (size_t)s * in + c0;
                const W* rows[4];
                float c[4];
                int32_t k = 0;
                for (int32_t o = o0; o < o1; o++) {
                    if (ds[o] == 0.0f) continue;
                    rows[k] = w + (size_t)o * in + c0;
                    c[k] = ds[o];
                    if (++k == 4) {
                        axpy_rows<4>(gs, rows, c, len);
                        k = 0;
                    }
                }
                if (k == 3) axpy_rows<3>(gs, rows, c, len);
                if (k == 2) axpy_rows<2>(gs, rows, c, len);
                if (k == 1) axpy_rows<1>(gs, rows, c, len);
            }
        }
    }
}

template <class W>
REFOCUS_INLINE void sgd_rank1_body(float* dst, const W* src, const float* u, float eta, const float* a,
                                   int32_t out, int32_t in) {
    for (int32_t o = 0; o < out; o++) {
        const float c = eta * u[o];
        float* to = dst + (size_t)o * in;
        const W* from = src + (size_t)o * in;
        if (c == 0.0f) {
            copy_widened(to, from, in);
            continue;
        }
        for (int32_t i = 0; i < in; i++) to[i] = widen(from[i]) - c * a[i];
    }
}

// ---------------------------------------------------------------------------------------------------
// the variants, and the table that dispatches to one of them

#define REFOCUS_VARIANT_FOR(suffix, target, W)                                                              \
    target void matmul_forward_##suffix(float* y, const float* x, const W* w, const float* b, int32_t n,     \
                                        int32_t in, int32_t out) {                                          \
        matmul_forward_body(y, x, w, b, n, in, out);                                                        \
    }                                                                                                       \
    target void matmul_backward_##suffix(float* g, const float* d, const W* w, int32_t n, int32_t in,        \
                                         int32_t out) {                                                     \
        matmul_backward_body(g, d, w, n, in, out);                                                          \
    }                                                                                                       \
    target void sgd_rank1_##suffix(float* dst, const W* src, const float* u, float eta, const float* a,      \
                                   int32_t out, int32_t in) {                                               \
        sgd_rank1_body(dst, src, u, eta, a, out, in);                                                       \
    }
// (overloads by weight type: the float32 and the bf16 kernels of one variant share its name)
#define REFOCUS_VARIANT(suffix, target)            \
    REFOCUS_VARIANT_FOR(suffix, target, float)     \
    REFOCUS_VARIANT_FOR(suffix, target, uint16_t)

REFOCUS_VARIANT(v4, REFOCUS_TARGET("x86-64-v4"))
REFOCUS_VARIANT(v3, REFOCUS_TARGET("x86-64-v3"))
REFOCUS_VARIANT(baseline, )

// one variant's kernels for one weight storage
template <class W>
struct KernelsFor {
    void (*matmul_forward)(float*, const float*, const W*, const float*, int32_t, int32_t, int32_t);
    void (*matmul_backward)(float*, const float*, const W*, int32_t, int32_t, int32_t);
    void (*sgd_rank1)(float*, const W*, const float*, float, const float*, int32_t, int32_t);
};

struct Kernels {
    const char* name;
    KernelsFor<float> f32;
    KernelsFor<uint16_t> bf16;
};

// (each initializer picks the overload of its pointer's weight type)
#define REFOCUS_KERNELS(suffix) {matmul_forward_##suffix, matmul_backward_##suffix, sgd_rank1_##suffix}
const Kernels VARIANTS[N_KERNEL_VARIANTS] = {
    {"x86-64-v4 (AVX-512)", REFOCUS_KERNELS(v4), REFOCUS_KERNELS(v4)},
    {"x86-64-v3 (AVX2+FMA)", REFOCUS_KERNELS(v3), REFOCUS_KERNELS(v3)},
    {"x86-64 baseline", REFOCUS_KERNELS(baseline), REFOCUS_KERNELS(baseline)},
};

// The best variant the CPU runs, chosen when the library loads: target_clones' choice.
const Kernels* best_variant() {
    for (int32_t v = 0;; v++) {
        if (cpu_runs((KernelVariant)v)) return &VARIANTS[v];
    }
}

const Kernels* active = best_variant();

}  // namespace

const char* kernel_variant_name(KernelVariant variant) { return VARIANTS[variant].name; }

bool cpu_runs(KernelVariant variant) {
    switch (variant) {
        case KERNELS_X86_64_V4: return REFOCUS_CPU_SUPPORTS("x86-64-v4");
        case KERNELS_X86_64_V3: return REFOCUS_CPU_SUPPORTS("x86-64-v3");
        default: return true;
    }
}

KernelVariant kernel_variant() { return (KernelVariant)(active - VARIANTS); }

bool use_kernel_variant(KernelVariant variant) {
    if (!cpu_runs(variant)) return false;
    active = &VARIANTS[variant];
    return true;
}

void matmul_forward(float* y, const float* x, const float* w, const float* b, int32_t n, int32_t in,
                    int32_t out) {
    active->f32.matmul_forward(y, x, w, b, n, in, out);
}

void matmul_forward(float* y, const float* x, const uint16_t* w, const float* b, int32_t n, int32_t in,
                    int32_t out) {
    active->bf16.matmul_forward(y, x, w, b, n, in, out);
}

void matmul_backward(float* g, const float* d, const float* w, int32_t n, int32_t in, int32_t out) {
    active->f32.matmul_backward(g, d, w, n, in, out);
}

void matmul_backward(float* g, const float* d, const uint16_t* w, int32_t n, int32_t in, int32_t out) {
    active->bf16.matmul_backward(g, d, w, n, in, out);
}

void sgd_rank1(float* dst, const float* src, const float* u, float eta, const float* a, int32_t out,
               int32_t in) {
    active->f32.sgd_rank1(dst, src, u, eta, a, out, in);
}

void sgd_rank1(float* dst, const uint16_t* src, const float* u, float eta, const float* a, int32_t out,
               int32_t in) {
    active->bf16.sgd_rank1(dst, src, u, eta, a, out, in);
}

}  // namespace refocus
