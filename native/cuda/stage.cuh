// stage: the call's way in. The host writes the call (n, eta, d) and the samples into the context's pinned,
// mapped memory and launches the call's graph; this kernel, the graph's first, reads them over the bus and lays
// the samples out as padded device rows.
//
// Why a kernel rather than a copy: the graph is captured once per context, with the largest batch; the number of
// samples is data (read here), not a parameter of the graph, so one graph serves every n without being updated,
// and a call costs the host one launch and one synchronisation. One block reads the call once and copies only
// the n rows it names.
#ifndef REFOCUS_CUDA_STAGE_CUH
#define REFOCUS_CUDA_STAGE_CUH

#include "cuda_common.cuh"

namespace refocus_gpu {

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// One block of HEAD_THREADS. io and inputs are mapped host memory; x is [max_batch][ld] on the device.
__global__ void __launch_bounds__(HEAD_THREADS)
    stage_forward_kernel1(const HostIo* io, const float* inputs, int32_t in, int32_t ld, Call* call,
                          Status* status, float* x) {
    __shared__ Call staged;
    if (threadIdx.x == 0) {
        staged = io->call;
        *call = staged;
        status->n_uncertain = 0;
        status->nan = 0;
    }
    __syncthreads();
    const int64_t count = (int64_t)staged.n * in;
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
        const int64_t s = e / in, i = e % in;
        x[s * ld + i] = inputs[e];
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t stage_forward(const HostIo* io, const float* inputs, int32_t in, Call* call, Status* status,
                             float* x, cudaStream_t stream) {
    stage_forward_kernel1<<<1, HEAD_THREADS, 0, stream>>>(io, inputs, in, padded(in), call, status, x);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_STAGE_CUH
