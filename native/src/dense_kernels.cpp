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
#  define REFOCUS_AVX_VARIANTS true   // the x86-64-v3/v4 variants hold an f32x8 in one register
#else  // only the baseline variant runs
#  define REFOCUS_TARGET(arch)
#  define REFOCUS_CPU_SUPPORTS(arch) false
#  define REFOCUS_AVX_VARIANTS false
#endif
// Helpers and kernel bodies must be inlined into the entry points of each variant: code left out of line is
// compiled for the baseline only.
#define REFOCUS_INLINE inline __attribute__((always_inline))

namespace refocus {
namespace {

typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x2 __attribute__((vector_size(8)));
typedef uint32_t u32x8 __attribute__((vector_size(32)));

constexpr int32_t LANES = 16;  // partial sums per dot product: two vectors
constexpr int32_t ROWS = 4;    // rows per pass over x for one sample: each chunk of x is loaded once for four rows

// (by reference: a vector passed by value would change the ABI between the clones)
REFOCUS_INLINE void load(f32x8& v, const float* p) { std::memcpy(&v, p, sizeof v); }

// Sixteen weights as floats, from either storage (dense_kernels.h), in the lane order each storage loads
// cheaply. float32: a = w[0 .. 8), b = w[8 .. 16). bf16 is the top half of a float32, so widening is exact:
// one 32-byte load holds the sixteen in pairs, a shift widens the even ones into a and a mask the odd ones
// into b (two instructions, where GCC 12 widens eight halves to one 256-bit vector in five: 13 % faster
// forward passes on Zen 1). The x vector that meets the weights takes the same order (load16), and the
// partial sums of a dot product go back to the float32 order before they are added (unpermute), so that
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

// Four dot products' sixteen lanes each, summed as a tree (lanes k and k + 8, then k and k + 4, then k and
// k + 2, then the last two: the same order for every row) into one vector {sum 0, sum 1, sum 2, sum 3}. The
// four trees share their shuffles, which matters when a row is short (model S: 32 and 64 inputs).
REFOCUS_INLINE f32x4 sum_lanes4(const f32x8* lo, const f32x8* hi) {
    const f32x8 v0 = lo[0] + hi[0], v1 = lo[1] + hi[1], v2 = lo[2] + hi[2], v3 = lo[3] + hi[3];
    // q02 = {v0[0..4) + v0[4..8) | v2[0..4) + v2[4..8)}, q13 the same of v1 and v3
    const f32x8 q02 = __builtin_shufflevector(v0, v2, 0, 1, 2, 3, 8, 9, 10, 11)
                      + __builtin_shufflevector(v0, v2, 4, 5, 6, 7, 12, 13, 14, 15);
    const f32x8 q13 = __builtin_shufflevector(v1, v3, 0, 1, 2, 3, 8, 9, 10, 11)
                      + __builtin_shufflevector(v1, v3, 4, 5, 6, 7, 12, 13, 14, 15);
    // q[0..2) + q[2..4) of each, within 128-bit halves (no lane-crossing shuffle): h0 h0 h1 h1 | h2 h2 h3 h3
    const f32x8 h = __builtin_shufflevector(q02, q13, 0, 1, 8, 9, 4, 5, 12, 13)
                    + __builtin_shufflevector(q02, q13, 2, 3, 10, 11, 6, 7, 14, 15);
    // h[0] + h[1] of each, in row order (from the two halves: one in-lane shuffle each)
    const f32x4 h01 = __builtin_shufflevector(h, h, 0, 1, 2, 3), h23 = __builtin_shufflevector(h, h, 4, 5, 6, 7);
    return __builtin_shufflevector(h01, h23, 0, 2, 4, 6) + __builtin_shufflevector(h01, h23, 1, 3, 5, 7);
}

// acc[s][r] += the products of chunk [at, at + 16) of row r and sample s, in two halves (in the lane order of
// load_w16 for W): one sample over R rows (its x loaded once, each row's halves read by their FMAs), or two
// samples over two rows (eight loads, eight FMAs). In the second, every half goes to a register once: GCC would
// otherwise fold a load into each FMA that uses it, loading each half twice. (Only in the wide variants: the
// baseline's SSE2 holds an f32x8 in two registers, which the asm constraint cannot name.)
template <int R, int S, bool WIDE, class W>
REFOCUS_INLINE void fma_chunk(f32x8 (&lo)[S][R], f32x8 (&hi)[S][R], const W* const* w, const float* const* x,
                              int32_t at) {
    if constexpr (S == 1) {
        f32x8 x_lo, x_hi, w_lo, w_hi;
        load16(x_lo, x_hi, x[0] + at, w[0]);
        for (int r = 0; r < R; r++) {
            load_w16(w_lo, w_hi, w[r] + at);
            lo[0][r] += w_lo * x_lo;
            hi[0][r] += w_hi * x_hi;
        }
    } else {
        static_assert(R == 2 && S == 2, "one sample over any rows, or two over two");
        f32x8 x0l, x0h, x1l, x1h, w0l, w0h, w1l, w1h;
        load16(x0l, x0h, x[0] + at, w[0]);
        load16(x1l, x1h, x[1] + at, w[0]);
        load_w16(w0l, w0h, w[0] + at);
        load_w16(w1l, w1h, w[1] + at);
        if constexpr (WIDE) {
            __asm__("" : "+x"(x0l), "+x"(x0h), "+x"(x1l), "+x"(x1h));
            __asm__("" : "+x"(w0l), "+x"(w0h), "+x"(w1l), "+x"(w1h));
        }
        lo[0][0] += w0l * x0l;
        hi[0][0] += w0h * x0h;
        lo[0][1] += w1l * x0l;
        hi[0][1] += w1h * x0h;
        lo[1][0] += w0l * x1l;
        hi[1][0] += w0h * x1h;
        lo[1][1] += w1l * x1l;
        hi[1][1] += w1h * x1h;
    }
}

// The dot products w_r . x_s of R rows and S samples at once, each in sixteen lanes (lo: the first eight of
// each chunk of sixteen, hi: the last eight, after unpermute), so each (r, s) sums its products in one order
// whatever R, S and the weights' storage: blocking over samples changes which loads serve which products, never
// a sum. Each chunk of a row is loaded once for S samples, so with S = 2 the loads no longer outnumber the FMAs
// (bench_kernels, Zen 1, M at batch 64: 26 GFLOP/s with one sample over four rows, 27-30 with two over two). The last partial chunk is copied into zero-padded buffers, so it takes the same path as the others.
// out[k] holds sums 4k .. 4k + 3 in sample-major order: (s0, r0), (s0, r1), ...
template <int R, int S, bool WIDE, class W>
REFOCUS_INLINE void dot_block(const W* const* w, const float* const* x, int32_t in, f32x4* out) {
    f32x8 lo[S][R] = {}, hi[S][R] = {};
    int32_t i = 0;
    for (; i + LANES <= in; i += LANES) fma_chunk<R, S, WIDE>(lo, hi, w, x, i);
    if (i < in) {
        W pad_w[R][LANES] = {};
        float pad_x[S][LANES] = {};
        const W* wp[R];
        const float* xp[S];
        for (int r = 0; r < R; r++) {
            std::memcpy(pad_w[r], w[r] + i, sizeof(W) * (in - i));
            wp[r] = pad_w[r];
        }
        for (int s = 0; s < S; s++) {
            std::memcpy(pad_x[s], x[s] + i, sizeof(float) * (in - i));
            xp[s] = pad_x[s];
        }
        fma_chunk<R, S, WIDE>(lo, hi, wp, xp, 0);
    }
    // four sums per vector: R = 4 gives one sample's four rows, R = 2 two samples' two rows
    static_assert(R * S % 4 == 0, "sums come in fours");
    for (int k = 0; k < R * S / 4; k++) {
        f32x8 l4[4], h4[4];
        for (int j = 0; j < 4; j++) {
            unpermute(l4[j], h4[j], lo[(4 * k + j) / R][(4 * k + j) % R], hi[(4 * k + j) / R][(4 * k + j) % R], w[0]);
        }
        out[k] = sum_lanes4(l4, h4);
    }
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

// ys[o + r] = sums[r] + b[o + r] for r < R, dropping rows at or past `end`
template <int R>
REFOCUS_INLINE void store_rows(float* ys, const float* sums, const float* b, int32_t o, int32_t end) {
    for (int32_t r = 0; r < R && o + r < end; r++) ys[o + r] = sums[r] + b[o + r];
}

// Rows go in groups of about 16 KiB that stay in L1 next to the samples' x while every sample passes over them,
// so W comes from memory once per call (32 KiB groups spill a 32 KiB L1 once x joins them: 10 % slower on model M
// at batch 64, bench_kernels). The group depends on `in` only, never on n.
REFOCUS_INLINE int32_t forward_group_rows(int32_t in) { return std::max(ROWS, 4096 / in / ROWS * ROWS); }

// row o of a group that starts with row o0 at `rows`; past the group's last row, that last row again (its result
// is dropped): every row takes the same path
template <class W>
REFOCUS_INLINE const W* group_row(const W* rows, int32_t in, int32_t o, int32_t o0, int32_t o1) {
    return rows + (size_t)(std::min(o, o1 - 1) - o0) * in;
}

// y[s][o0 .. o1) for every sample, `rows` being row o0 of W (row o at rows + (o - o0) in). Samples go in pairs
// over pairs of rows; a single one (the last of an odd batch) over four rows at a time.
template <bool WIDE, class W>
REFOCUS_INLINE void forward_group(float* y, const float* x, const W* rows, const float* b, int32_t n, int32_t in,
                                  int32_t out, int32_t o0, int32_t o1) {
    constexpr int32_t ROWS_PER_PAIR = 2;
    int32_t s = 0;
    for (; s + 2 <= n; s += 2) {
        const float* xs[2] = {x + (size_t)s * in, x + (size_t)(s + 1) * in};
        float* y0 = y + (size_t)s * out;
        float* y1 = y0 + out;
        for (int32_t o = o0; o < o1; o += ROWS_PER_PAIR) {
            const W* row[ROWS_PER_PAIR] = {group_row(rows, in, o, o0, o1), group_row(rows, in, o + 1, o0, o1)};
            f32x4 sums;
            dot_block<ROWS_PER_PAIR, 2, WIDE>(row, xs, in, &sums);
            if (o + ROWS_PER_PAIR <= o1) {  // two whole rows: one vector add, a half-vector store per sample
                f32x2 bias, y_pair;
                std::memcpy(&bias, b + o, sizeof bias);
                sums += __builtin_shufflevector(bias, bias, 0, 1, 0, 1);
                y_pair = __builtin_shufflevector(sums, sums, 0, 1);
                std::memcpy(y0 + o, &y_pair, sizeof y_pair);
                y_pair = __builtin_shufflevector(sums, sums, 2, 3);
                std::memcpy(y1 + o, &y_pair, sizeof y_pair);
            } else {
                const float pair0[2] = {sums[0], sums[1]}, pair1[2] = {sums[2], sums[3]};
                store_rows<2>(y0, pair0, b, o, o1);
                store_rows<2>(y1, pair1, b, o, o1);
            }
        }
    }
    for (; s < n; s++) {
        const float* xs = x + (size_t)s * in;
        float* ys = y + (size_t)s * out;
        int32_t o = o0;
        for (; o + ROWS <= o1; o += ROWS) {  // four whole rows: one vector add and store
            const W* row[ROWS];
            for (int32_t r = 0; r < ROWS; r++) row[r] = rows + (size_t)(o + r - o0) * in;
            f32x4 sums, bias;
            dot_block<ROWS, 1, WIDE>(row, &xs, in, &sums);
            std::memcpy(&bias, b + o, sizeof bias);
            sums += bias;
            std::memcpy(ys + o, &sums, sizeof sums);
        }
        if (o < o1) {
            const W* row[ROWS];
            for (int32_t r = 0; r < ROWS; r++) row[r] = group_row(rows, in, o + r, o0, o1);
            f32x4 sums;
            dot_block<ROWS, 1, WIDE>(row, &xs, in, &sums);
            const float four[4] = {sums[0], sums[1], sums[2], sums[3]};
            store_rows<4>(ys, four, b, o, o1);
        }
    }
}

// bf16 weights in a batch, with a scratch: each group of rows is widened into it once and every sample runs the
// float32 kernel on it, so the widening is paid once per weight, not once per sample (widening costs as much as
// the FMA it feeds on 128-bit units). The same bits: the bf16 kernel gives the float32 kernel's bits on the
// widened matrix.
template <class W>
REFOCUS_INLINE bool widens_once(int32_t n, const float* scratch) {
    return sizeof(W) == sizeof(uint16_t) && n >= 2 && scratch != nullptr;
}

template <bool WIDE, class W>
REFOCUS_INLINE void matmul_forward_body(float* y, const float* x, const W* w, const float* b, int32_t n,
                                        int32_t in, int32_t out, float* scratch) {
    const int32_t group = forward_group_rows(in);
    for (int32_t o0 = 0; o0 < out; o0 += group) {
        const int32_t o1 = std::min(out, o0 + group);
        if (widens_once<W>(n, scratch)) {
            copy_widened(scratch, w + (size_t)o0 * in, (o1 - o0) * in);
            forward_group<WIDE>(y, x, static_cast<const float*>(scratch), b, n, in, out, o0, o1);
        } else {
            forward_group<WIDE>(y, x, w + (size_t)o0 * in, b, n, in, out, o0, o1);
        }
    }
}

constexpr int32_t BACKWARD_GROUP = 16;  // rows that stay in cache while every sample takes its non-zero ones

// g[s][0 .. len) += d[s][o] row(o) for the rows o in [o0, o1) (at most BACKWARD_GROUP) whose d[s][o] is non-zero,
// in row order, four rows streaming at once; row o starts at rows + (o - o0) stride.
template <class W>
REFOCUS_INLINE void add_rows(float* gs, const float* ds, const W* rows, size_t stride, int32_t o0, int32_t o1,
                             int32_t len) {
    // The non-zero rows are listed first, without a branch: whether a ReLU unit is on is a coin toss, which a
    // branch per row mispredicts half the time (a 64 x 64 pass of model S on inputs that vary: 780 -> 415 ns).
    const W* picked[BACKWARD_GROUP];
    float c[BACKWARD_GROUP];
    int32_t count = 0;
    for (int32_t o = o0; o < o1; o++) {
        uint32_t bits;
        std::memcpy(&bits, ds + o, sizeof bits);
        picked[count] = rows + (size_t)(o - o0) * stride;
        c[count] = ds[o];
        count += (bits << 1) != 0;  // d != 0 in the integer unit: -0 is zero, a NaN counts (it must reach g)
    }
    int32_t k = 0;
    for (; k + 4 <= count; k += 4) axpy_rows<4>(gs, picked + k, c + k, len);
    if (count - k == 3) axpy_rows<3>(gs, picked + k, c + k, len);
    if (count - k == 2) axpy_rows<2>(gs, picked + k, c + k, len);
    if (count - k == 1) axpy_rows<1>(gs, picked + k, c + k, len);
}

constexpr int32_t WIDENED_COLUMNS = 2048;  // the most columns of a group widened at once into the scratch

template <class W>
REFOCUS_INLINE void matmul_backward_body(float* g, const float* d, const W* w, int32_t n, int32_t in, int32_t out,
                                         float* scratch) {
    // Column blocks small enough that the partial sums of the whole batch stay in cache while W streams
    // past once; rows in groups that stay in cache while every sample takes its non-zero ones, four at a
    // time. Each g[s][i] still adds its rows in row order, so neither grouping changes a bit. bf16 weights in a
    // batch are widened a group at a time into the scratch (widens_once).
    const bool widened = widens_once<W>(n, scratch);
    const int32_t block = std::min({in, std::max(LANES, 32768 / n), widened ? WIDENED_COLUMNS : in});
    for (int32_t c0 = 0; c0 < in; c0 += block) {
        const int32_t len = std::min(block, in - c0);
        for (int32_t s = 0; s < n; s++) std::memset(g + (size_t)s * in + c0, 0, sizeof(float) * len);
        for (int32_t o0 = 0; o0 < out; o0 += BACKWARD_GROUP) {
            const int32_t o1 = std::min(out, o0 + BACKWARD_GROUP);
            const W* rows = w + (size_t)o0 * in + c0;
            if (widened) {
                for (int32_t o = o0; o < o1; o++) {
                    copy_widened(scratch + (size_t)(o - o0) * len, rows + (size_t)(o - o0) * in, len);
                }
            }
            for (int32_t s = 0; s < n; s++) {
                const float* ds = d + (size_t)s * out;
                float* gs = g + (size_t)s * in + c0;
                if (widened) {
                    add_rows(gs, ds, static_cast<const float*>(scratch), len, o0, o1, len);
                } else {
                    add_rows(gs, ds, rows, in, o0, o1, len);
                }
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

#define REFOCUS_VARIANT_FOR(suffix, target, W, wide)                                                            \
    target void matmul_forward_##suffix(float* y, const float* x, const W* w, const float* b, int32_t n,     \
                                        int32_t in, int32_t out, float* scratch) {                          \
        matmul_forward_body<wide>(y, x, w, b, n, in, out, scratch);                                             \
    }                                                                                                       \
    target void matmul_backward_##suffix(float* g, const float* d, const W* w, int32_t n, int32_t in,        \
                                         int32_t out, float* scratch) {                                     \
        matmul_backward_body(g, d, w, n, in, out, scratch);                                                 \
    }                                                                                                       \
    target void sgd_rank1_##suffix(float* dst, const W* src, const float* u, float eta, const float* a,      \
                                   int32_t out, int32_t in) {                                               \
        sgd_rank1_body(dst, src, u, eta, a, out, in);                                                       \
    }
// (overloads by weight type: the float32 and the bf16 kernels of one variant share its name)
#define REFOCUS_VARIANT(suffix, target, wide)            \
    REFOCUS_VARIANT_FOR(suffix, target, float, wide)     \
    REFOCUS_VARIANT_FOR(suffix, target, uint16_t, wide)

REFOCUS_VARIANT(v4, REFOCUS_TARGET("x86-64-v4"), REFOCUS_AVX_VARIANTS)
REFOCUS_VARIANT(v3, REFOCUS_TARGET("x86-64-v3"), REFOCUS_AVX_VARIANTS)
REFOCUS_VARIANT(baseline, , false)

// one variant's kernels for one weight storage
template <class W>
struct KernelsFor {
    void (*matmul_forward)(float*, const float*, const W*, const float*, int32_t, int32_t, int32_t, float*);
    void (*matmul_backward)(float*, const float*, const W*, int32_t, int32_t, int32_t, float*);
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
    active->f32.matmul_forward(y, x, w, b, n, in, out, nullptr);
}

void matmul_forward(float* y, const float* x, const uint16_t* w, const float* b, int32_t n, int32_t in,
                    int32_t out, float* scratch) {
    active->bf16.matmul_forward(y, x, w, b, n, in, out, scratch);
}

void matmul_backward(float* g, const float* d, const float* w, int32_t n, int32_t in, int32_t out) {
    active->f32.matmul_backward(g, d, w, n, in, out, nullptr);
}

void matmul_backward(float* g, const float* d, const uint16_t* w, int32_t n, int32_t in, int32_t out,
                     float* scratch) {
    active->bf16.matmul_backward(g, d, w, n, in, out, scratch);
}

size_t bf16_scratch_floats(int32_t in) {
    const size_t forward = (size_t)forward_group_rows(in) * in;
    const size_t backward = (size_t)BACKWARD_GROUP * std::min(in, WIDENED_COLUMNS);
    return std::max(forward, backward);
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
