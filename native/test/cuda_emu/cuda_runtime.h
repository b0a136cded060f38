// A CUDA emulator for the tests, just large enough for native/cuda: the kernels run on the CPU, each thread of a
// block a fiber, blocks one after the other on the calling thread. It exists because the build machines have no
// GPU: test_cuda runs against it in ctest (cuda_emulated), so the kernels' indexing, barriers and results are
// checked here against the CPU step, and a machine with a GPU repeats the same test against the real thing.
//
// What it checks beyond the results: a block-wide barrier that some thread of the block left the kernel before
// (a non-uniform early return), and a warp-wide operation (shuffle, ballot, vote, __syncwarp) that not all 32 lanes
// reach, are reported and abort; so is a deadlock. What it cannot see: races between blocks (blocks run in
// order), memory-model subtleties, anything about speed. Floating point follows the host (no fused multiply-add
// contraction, as the CUDA build's --fmad=false; tanhf, exp and log are the host's, a few ulps from the device's).
//
// Source differences are kept out of native/cuda: the build copies its files and rewrites each launch
// `k<<<grid, block, smem, stream>>>(args)` into `emu_launch(k, grid, block, smem, stream, args)` (cuda_emu.cmake).
#ifndef REFOCUS_CUDA_EMU_RUNTIME_H
#define REFOCUS_CUDA_EMU_RUNTIME_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static  // a block's fibers share one OS thread and blocks run one at a time

using std::max;
using std::min;

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct alignas(16) float4 {
    float x, y, z, w;
};

extern dim3 threadIdx, blockIdx, blockDim, gridDim;

// ---------------------------------------------------------------------------------------------------
// the runtime API subset

typedef int cudaError_t;
enum : int {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorStreamCaptureUnsupported = 900,
};
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice,
                      cudaMemcpyDefault };
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal,
                             cudaStreamCaptureModeRelaxed };
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone, cudaStreamCaptureStatusActive,
                               cudaStreamCaptureStatusInvalidated };
constexpr unsigned cudaStreamNonBlocking = 1, cudaHostAllocMapped = 2, cudaHostAllocPortable = 1;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned long long cudaEnableDefault = 0;

typedef struct emu_stream* cudaStream_t;
typedef struct emu_graph* cudaGraph_t;
typedef struct emu_graph* cudaGraphExec_t;
typedef struct emu_event* cudaEvent_t;

// Two devices, so that memory and streams of another device can be refused; memory is plain host memory that
// remembers what it was allocated as (cudaPointerGetAttributes, cuMemGetAddressRange).
enum cudaMemoryType { cudaMemoryTypeUnregistered = 0, cudaMemoryTypeHost = 1, cudaMemoryTypeDevice = 2,
                      cudaMemoryTypeManaged = 3 };
struct cudaPointerAttributes {
    cudaMemoryType type;
    int device;
    void* devicePointer;
    void* hostPointer;
};
enum cudaDriverEntryPointQueryResult { cudaDriverEntryPointSuccess = 0, cudaDriverEntryPointSymbolNotFound = 1,
                                       cudaDriverEntryPointVersionNotSufficent = 2 };

const char* cudaGetErrorString(cudaError_t err);
const char* cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind kind);
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned flags);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags);
cudaError_t cudaStreamGetDevice(cudaStream_t stream, int* device);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* p);
cudaError_t cudaMallocManaged(void** p, size_t bytes, unsigned flags = 1);
cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** fn, unsigned version,
                                             unsigned long long flags, cudaDriverEntryPointQueryResult* status);

// ---------------------------------------------------------------------------------------------------
// device intrinsics

void __syncthreads();
int __syncthreads_or(int predicate);
void __syncwarp(unsigned mask = 0xffffffffu);
unsigned __ballot_sync(unsigned mask, int predicate);
int __any_sync(unsigned mask, int predicate);
int __all_sync(unsigned mask, int predicate);
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int atomicAdd(int* p, int v) {  // one OS thread: nothing can interleave
    const int old = *p;
    *p = old + v;
    return old;
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
    const unsigned long long old = *p;
    *p = v < old ? v : old;
    return old;
}

namespace emu {
// every lane of the warp deposits 8 bytes and reads another lane's after all 32 have arrived
uint64_t exchange(uint64_t mine, int src_lane);
void launch(const char* name, dim3 grid, dim3 block, std::function<void()> body);
void enqueue(cudaStream_t stream, std::function<void()> op);
bool valid_launch(dim3 grid, dim3 block);  // false (and the launch error recorded) for an impossible shape
}  // namespace emu

template <class T>
T __shfl_xor_sync(unsigned, T v, int lane_mask) {
    static_assert(sizeof(T) <= 8, "8 bytes at most");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof v);
    bits = emu::exchange(bits, (int)(threadIdx.x % 32) ^ lane_mask);
    T r;
    std::memcpy(&r, &bits, sizeof r);
    return r;
}

template <class... P, class... A>
void emu_launch_named(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, size_t, cudaStream_t stream,
                      A... args) {
    if (!emu::valid_launch(grid, block)) return;
    emu::enqueue(stream, [=]() { emu::launch(name, grid, block, [&]() { kernel(args...); }); });
}
#define emu_launch(kernel, ...) emu_launch_named(#kernel, kernel, __VA_ARGS__)

#endif  // REFOCUS_CUDA_EMU_RUNTIME_H
