// The kernels of the dense step that touch weight matrices: the only work that grows with the number of
// parameters, so the only code worth vectorising by hand. Each is compiled three times, for AVX-512
// (x86-64-v4), AVX2 + FMA (x86-64-v3) and the x86-64 baseline, and the best variant the CPU runs is picked
// once, at load: the library is built for the baseline and loads everywhere. A kernel call costs one
// indirect call more than a plain one, as GCC's target_clones (an ifunc) would; unlike an ifunc, the choice
// can be forced, so that the tests run every variant the CPU can execute.
//
// Weights come in two storages, each with its own overload: float32, and bfloat16 (uint16_t, the top half
// of a float32). A bf16 weight is widened exactly to the float32 of the same value, and then everything is
// computed as for a float32 matrix of those values, in the same order: the bf16 kernel gives the bits the
// float32 kernel gives on the widened matrix.
//
// Every kernel reads each weight once per call, however many samples it serves, and computes each
// sample's result by the same sequence of operations whatever the batch: batched and single predictions
// agree to the bit.
#ifndef REFOCUS_DENSE_KERNELS_H
#define REFOCUS_DENSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

namespace refocus {

// y[s] = W x[s] + b for n samples; W is [out x in] row-major, x is [n x in], y is [n x out].
void matmul_forward(float* y, const float* x, const float* w, const float* b, int32_t n, int32_t in,
                    int32_t out);
void matmul_forward(float* y, const float* x, const uint16_t* w, const float* b, int32_t n, int32_t in,
                    int32_t out, float* scratch = nullptr);

// g[s] = W^T d[s] for n samples; d is [n x out], g is [n x in]. Rows of W whose d[s] entry is zero are
// not read for that sample: the focus classes of the head, the units ReLU switched off.
void matmul_backward(float* g, const float* d, const float* w, int32_t n, int32_t in, int32_t out);
void matmul_backward(float* g, const float* d, const uint16_t* w, int32_t n, int32_t in, int32_t out,
                     float* scratch = nullptr);

// The floats of the scratch that the bf16 overloads above take, for matrices of `in` columns. With one, a batch
// (n >= 2) widens each group of rows once into it and runs the float32 kernel on it for every sample: widening
// costs as much as the FMA it feeds on 128-bit vector units, so it is paid once per weight, not once per sample.
// Without one (NULL), or for one sample, the bf16 kernels widen as they load: half the weight bytes, for passes
// that wait for memory. Both give the same bits. A scratch is used by one call at a time.
size_t bf16_scratch_floats(int32_t in);

// dst = src - eta * u a^T, the SGD step of a rank-one gradient; dst may be src (float32 only). Rows with
// eta * u[o] = 0 are copied (out of place, widened from bf16) or left alone (in place). dst is float32
// either way: a step from bf16 weights writes float32 weights.
void sgd_rank1(float* dst, const float* src, const float* u, float eta, const float* a, int32_t out,
               int32_t in);
void sgd_rank1(float* dst, const uint16_t* src, const float* u, float eta, const float* a, int32_t out,
               int32_t in);

// The variants, best first.
enum KernelVariant : int32_t { KERNELS_X86_64_V4, KERNELS_X86_64_V3, KERNELS_BASELINE, N_KERNEL_VARIANTS };

// "x86-64-v4 (AVX-512)", "x86-64-v3 (AVX2+FMA)" or "x86-64 baseline" (refocus_kernel_variant())
const char* kernel_variant_name(KernelVariant variant);

// whether this CPU can execute the variant
bool cpu_runs(KernelVariant variant);

// the variant the kernels use now: the best one the CPU runs, unless a test chose another
KernelVariant kernel_variant();

// For tests (not exported from the JNI library): every later kernel call, on any thread, uses `variant`.
// Returns false, and changes nothing, if the CPU cannot execute it. Not while kernels run on another thread.
bool use_kernel_variant(KernelVariant variant);

}  // namespace refocus

#endif  // REFOCUS_DENSE_KERNELS_H
