// stage: the call's way in. The host writes the call (n, eta, d) and the samples into the context's pinned,
// mapped memory and launches the call's graph; this kernel, the graph's first, reads them over the bus and lays
// the samples out as padded device rows.
//
// Why a kernel rather than a copy: the graph is captured once per context, with the largest batch; the number of
// samples is data (read here), not a parameter of the graph, so one graph serves every n without being updated,
// and a call costs the host one launch and one synchronisation. One block reads the call once and copies only
// the n rows it names.
//
// The samples come from the pinned inputs, or from the caller's device memory when the call names a source
// (refocus_cuda_predict_device): the same graph serves both, the pointer is data too. A device source is checked
// here, where it is read: its first non-finite value (lowest index, whatever the thread order) is reported in the
// host block and the call is refused; the row gets 0 in its place, so the rest of the graph computes on finite
// values whose results nobody reads.
#ifndef REFOCUS_CUDA_STAGE_CUH
#define REFOCUS_CUDA_STAGE_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// One block of HEAD_THREADS. io and inputs are mapped host memory; x is [max_batch][ld] on the device.
__global__ void __launch_bounds__(HEAD_THREADS)
    stage_forward_kernel1(HostIo* io, const float* inputs, int32_t in, int32_t ld, Call* call, Status* status,
                          float* x) {
    __shared__ Call staged;
    __shared__ const float* source;
    __shared__ unsigned long long first_bad;
    constexpr unsigned long long NONE = ~0ull;
    if (threadIdx.x == 0) {
        staged = io->call;
        source = io->source;
        first_bad = NONE;
        *call = staged;
        status->n_uncertain = 0;
        status->nan = 0;
    }
    __syncthreads();
    const bool device_source = source != nullptr;
    const float* from = device_source ? source : inputs;
    const int64_t count = (int64_t)staged.n * in;
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
        const int64_t s = e / in, i = e % in;
        float v = from[e];
        if (device_source && !is_finite(v)) {
            atomicMin(&first_bad, (unsigned long long)e);  // an integer minimum: any order gives the same
            v = 0.0f;
        }
        x[s * ld + i] = v;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        io->non_finite = first_bad == NONE ? -1 : (int64_t)first_bad;
        io->non_finite_value = first_bad == NONE ? 0.0f : source[first_bad];
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t stage_forward(HostIo* io, const float* inputs, int32_t in, Call* call, Status* status, float* x,
                             cudaStream_t stream) {
    stage_forward_kernel1<<<1, HEAD_THREADS, 0, stream>>>(io, inputs, in, padded(in), call, status, x);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_STAGE_CUH
