// answers: the call's way out. For every sample of the call: the logits it answers with, {initial, final,
// adapted} and the call's outcome, written straight into the context's pinned, mapped host memory, so that the
// host reads them after one synchronisation and no copy is enqueued.
//
// The fallback is decided here: a sample whose adapted candidate logits are not all finite (or that met a NaN at an
// intermediate step, focus_head_backward_kernel1) answers with its plain logits and its initial class, and
// answers[2] = 2 (FELL_BACK) instead of 1. It still counts as adapted in the call's return value.
// refocus_cuda_forward() ends with this kernel too (forward_only): the most likely candidate of the plain logits.
#ifndef REFOCUS_CUDA_ANSWERS_CUH
#define REFOCUS_CUDA_ANSWERS_CUH

#include "cuda_common.cuh"
#include "focus_head.cuh"

namespace refocus_gpu {

struct AnswersArgs {
    HeadConfig head;
    const float* plain;       // X(0, L): the plain logits rows
    const float* adapted;     // X(T, L): the adapted logits rows
    const int32_t* flags;     // CERTAIN, ADAPTED, FELL_BACK per sample
    const int32_t* initial;
    int32_t forward_only;
    float* logits;            // mapped host memory: [max_batch][C]
    int32_t* answers;         // mapped host memory: [max_batch][3]
    HostIo* io;               // mapped host memory
    const Call* call;
    const Status* status;
};

// ---------------------------------------------------------------------------------------------------
// CUDA kernels

// One block of HEAD_THREADS, a warp per sample.
__global__ void __launch_bounds__(HEAD_THREADS) answers_forward_kernel1(const AnswersArgs a) {
    __shared__ int32_t adapted_count;
    const int32_t warp = threadIdx.x / WARP, lane = threadIdx.x % WARP, warps = blockDim.x / WARP;
    const int32_t n = a.call->n, classes = a.head.n_classes, ld_c = a.head.ld_c;
    if (threadIdx.x == 0) adapted_count = 0;
    __syncthreads();

    for (int32_t s = warp; s < n; s += warps) {
        const float* z = a.plain + (size_t)s * ld_c;
        int32_t initial, final_class, flag = CERTAIN;
        if (a.forward_only) {
            initial = final_class = warp_next_ranked(z, a.head, -1);
        } else {
            flag = a.flags[s];
            initial = final_class = a.initial[s];
            if (flag != CERTAIN) {
                const float* adapted = a.adapted + (size_t)s * ld_c;
                if (flag == ADAPTED && warp_all_finite(adapted, a.head)) {
                    z = adapted;
                    final_class = warp_next_ranked(adapted, a.head, -1);
                } else {
                    flag = FELL_BACK;
                }
            }
        }
        for (int32_t c = lane; c < classes; c += WARP) a.logits[(size_t)s * classes + c] = z[c];
        if (lane == 0) {
            int32_t* answer = a.answers + (size_t)3 * s;
            answer[0] = initial;
            answer[1] = final_class;
            answer[2] = flag;
            if (flag != CERTAIN) atomicAdd(&adapted_count, 1);  // an integer count: any order gives the same
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        a.io->n_adapted = adapted_count;
        a.io->nan = a.status->nan;
    }
}

// ---------------------------------------------------------------------------------------------------
// kernel launchers

inline int32_t answers_forward(const AnswersArgs& args, cudaStream_t stream) {
    answers_forward_kernel1<<<1, HEAD_THREADS, 0, stream>>>(args);
    cudaCheck(cudaGetLastError());
    return 0;
}

}  // namespace refocus_gpu

#endif  // REFOCUS_CUDA_ANSWERS_CUH
