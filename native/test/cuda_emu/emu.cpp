// The emulator's runtime (cuda_runtime.h): fibers for the threads of a block, barriers that check who reaches them,
// plain host memory for the device's, and streams and graphs as lists of operations.
#include "cuda_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <ucontext.h>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;

struct emu_stream {
    emu_graph* capture = nullptr;
    int device = 0;
};

struct emu_graph {
    std::vector<std::function<void()>> ops;
};

struct emu_event {
    int device = 0;
};

namespace {

cudaError_t last = cudaSuccess;
constexpr int DEVICES = 2;
int current_device = 0;

struct Allocation {
    size_t bytes;
    cudaMemoryType type;
    int device;
};
std::map<uintptr_t, Allocation> allocations;  // by base address

void* allocate(size_t bytes, cudaMemoryType type) {
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    if (p == nullptr) return nullptr;
    std::memset(p, 0xA5, bytes);  // never zero: the code must clear what it relies on
    allocations[(uintptr_t)p] = Allocation{bytes, type, current_device};
    return p;
}

// the allocation holding address, or allocations.end()
std::map<uintptr_t, Allocation>::iterator holding(uintptr_t address) {
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin()) return allocations.end();
    --it;
    return address < it->first + std::max<size_t>(it->second.bytes, 1) ? it : allocations.end();
}

// cuMemGetAddressRange_v2: CUDA_ERROR_NOT_FOUND (500) outside every device allocation
int address_range(unsigned long long* base, size_t* size, unsigned long long address) {
    const auto it = holding((uintptr_t)address);
    if (it == allocations.end() || it->second.type == cudaMemoryTypeHost) return 500;
    *base = it->first;
    *size = it->second.bytes;
    return 0;
}

cudaError_t record(cudaError_t err) {
    if (err != cudaSuccess) last = err;
    return err;
}

[[noreturn]] void die(const char* what, const char* kernel) {
    std::fprintf(stderr, "cuda_emu: %s in %s (block %u,%u thread %u)\n", what, kernel, blockIdx.x, blockIdx.y,
                 threadIdx.x);
    std::abort();
}

// ---------------------------------------------------------------------------------------------------
// fibers: a stack each, switched by hand on x86-64 (swapcontext also saves the signal mask: a system call per
// switch, and the emulator switches at every barrier of every thread)

#if defined(__x86_64__)
extern "C" void emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

struct Context {
    void* sp = nullptr;
};

// a stack whose first switch "returns" into entry(), 16-byte aligned as after a call
void make_context(Context& c, char* stack, size_t size, void (*entry)()) {
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t* p = (uint64_t*)top;
    *--p = 0;                 // entry's return address: it never returns
    *--p = (uint64_t)entry;   // popped by ret
    for (int r = 0; r < 6; r++) *--p = 0;  // rbp rbx r12 r13 r14 r15
    *--p = 0x037F00001F80ull; // mxcsr (low half) and the x87 control word: the defaults
    c.sp = p;
}

void switch_context(Context& save, Context& load) { emu_switch(&save.sp, load.sp); }
#else
struct Context {
    ucontext_t uc;
};

void make_context(Context& c, char* stack, size_t size, void (*entry)()) {
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = stack;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    makecontext(&c.uc, entry, 0);
}

void switch_context(Context& save, Context& load) { swapcontext(&save.uc, &load.uc); }
#endif

enum State { RUNNABLE, WAIT_BLOCK, WAIT_WARP, DONE };

struct Fiber {
    Context context;
    std::unique_ptr<char[]> stack;
    State state = DONE;
};

constexpr size_t STACK = 256 * 1024;
constexpr int MAX_THREADS = 1024;

std::vector<Fiber> fibers;
Context scheduler;
int current = -1;
const char* kernel_name = "";
std::function<void()>* body = nullptr;
// warp exchanges: two generations of slots per warp, so that a fast lane's next deposit never overwrites a value a
// slow lane has still to read (a generation completes only when every lane has arrived)
uint64_t slots[MAX_THREADS / 32][2][32];
unsigned generation[MAX_THREADS / 32];
int block_or[2];
unsigned block_generation;

void trampoline() {
    (*body)();
    fibers[current].state = DONE;
    switch_context(fibers[current].context, scheduler);
}

void yield(State state) {
    fibers[current].state = state;
    switch_context(fibers[current].context, scheduler);
}

void set_thread(int t) {
    current = t;
    threadIdx = dim3(t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y));
}

void run_block(int threads) {
    for (int t = 0; t < threads; t++) {
        make_context(fibers[t].context, fibers[t].stack.get(), STACK, trampoline);
        fibers[t].state = RUNNABLE;
    }
    std::fill(std::begin(generation), std::end(generation), 0u);
    block_or[0] = block_or[1] = 0;
    block_generation = 0;
    for (;;) {
        for (int t = 0; t < threads; t++) {
            if (fibers[t].state != RUNNABLE) continue;
            set_thread(t);
            switch_context(scheduler, fibers[t].context);
        }
        int live = 0, at_block = 0, done = 0;
        for (int t = 0; t < threads; t++) {
            live += fibers[t].state != DONE;
            at_block += fibers[t].state == WAIT_BLOCK;
            done += fibers[t].state == DONE;
        }
        if (live == 0) return;
        bool released = false;
        if (at_block == live) {  // every live thread waits at the block barrier
            set_thread(0);
            if (done > 0) die("__syncthreads() after some threads of the block returned", kernel_name);
            const unsigned g = block_generation & 1u;
            block_or[g ^ 1u] = 0;
            block_generation++;
            for (int t = 0; t < threads; t++) fibers[t].state = RUNNABLE;
            released = true;
        }
        for (int w = 0; !released && w * 32 < threads; w++) {
            int waiting = 0;
            for (int t = w * 32; t < w * 32 + 32 && t < threads; t++) waiting += fibers[t].state == WAIT_WARP;
            if (waiting == 0) continue;
            if (waiting != 32) {
                set_thread(w * 32);
                die("a warp-wide operation that not all 32 lanes reached", kernel_name);
            }
            generation[w]++;
            for (int t = w * 32; t < w * 32 + 32; t++) fibers[t].state = RUNNABLE;
            released = true;
        }
        if (!released) {
            set_thread(0);
            die("deadlock: threads wait at different barriers", kernel_name);
        }
    }
}

}  // namespace

namespace emu {

bool valid_launch(dim3 grid, dim3 block) {
    const unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || threads == 0
        || threads > MAX_THREADS || threads % 32 != 0) {
        record(cudaErrorInvalidValue);
        return false;
    }
    return true;
}

void launch(const char* name, dim3 grid, dim3 block, std::function<void()> kernel) {
    if (fibers.empty()) {
        fibers.resize(MAX_THREADS);
        for (Fiber& f : fibers) f.stack.reset(new char[STACK]);
    }
    kernel_name = name;
    body = &kernel;
    gridDim = grid;
    blockDim = block;
    const int threads = (int)(block.x * block.y * block.z);
    for (unsigned z = 0; z < grid.z; z++) {
        for (unsigned y = 0; y < grid.y; y++) {
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx = dim3(x, y, z);
                run_block(threads);
            }
        }
    }
    current = -1;
}

void enqueue(cudaStream_t stream, std::function<void()> op) {
    if (stream != nullptr && stream->capture != nullptr) {
        stream->capture->ops.push_back(std::move(op));
    } else {
        op();
    }
}

uint64_t exchange(uint64_t mine, int src_lane) {
    if (current < 0) die("a warp operation outside a kernel", "host code");
    const int warp = current / 32, lane = current % 32;
    const unsigned g = generation[warp] & 1u;
    slots[warp][g][lane] = mine;
    yield(WAIT_WARP);
    return slots[warp][g][src_lane];
}

}  // namespace emu

void __syncthreads() { (void)__syncthreads_or(0); }

int __syncthreads_or(int predicate) {
    if (current < 0) die("__syncthreads() outside a kernel", "host code");
    const unsigned g = block_generation & 1u;
    block_or[g] |= predicate != 0;
    yield(WAIT_BLOCK);
    return block_or[g];
}

void __syncwarp(unsigned) { (void)emu::exchange(0, 0); }

unsigned __ballot_sync(unsigned, int predicate) {
    const int warp = current / 32;
    const unsigned g = generation[warp] & 1u;
    (void)emu::exchange(predicate != 0, 0);
    unsigned ballot = 0;
    for (int l = 0; l < 32; l++) ballot |= (slots[warp][g][l] != 0 ? 1u : 0u) << l;
    return ballot;
}

int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
int __all_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) == 0xffffffffu; }

// ---------------------------------------------------------------------------------------------------
// the runtime API

const char* cudaGetErrorString(cudaError_t err) {
    switch (err) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        default: return "unknown error";
    }
}

const char* cudaGetErrorName(cudaError_t err) {
    switch (err) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        default: return "cudaErrorUnknown";
    }
}

cudaError_t cudaGetLastError() {
    const cudaError_t err = last;
    last = cudaSuccess;
    return err;
}

// REFOCUS_CUDA_EMU_NO_DRIVER=1 plays a machine without a driver
cudaError_t cudaGetDeviceCount(int* count) {
    const char* no_driver = std::getenv("REFOCUS_CUDA_EMU_NO_DRIVER");
    if (no_driver != nullptr && std::strcmp(no_driver, "1") == 0) {
        *count = 0;
        return record(cudaErrorInsufficientDriver);
    }
    *count = DEVICES;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= DEVICES) return record(cudaErrorInvalidDevice);
    current_device = device;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
    *p = allocate(bytes, cudaMemoryTypeDevice);
    return *p == nullptr ? record(cudaErrorMemoryAllocation) : cudaSuccess;
}

cudaError_t cudaMallocManaged(void** p, size_t bytes, unsigned) {
    *p = allocate(bytes, cudaMemoryTypeManaged);
    return *p == nullptr ? record(cudaErrorMemoryAllocation) : cudaSuccess;
}

cudaError_t cudaFree(void* p) {
    if (p == nullptr) return cudaSuccess;
    if (allocations.erase((uintptr_t)p) == 0) return record(cudaErrorInvalidValue);
    std::free(p);
    return cudaSuccess;
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) {
    std::memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
    std::memcpy(dst, src, bytes);
    return cudaSuccess;
}

// outside a capture (all the code does) the asynchronous forms are the synchronous ones
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream) {
    if (stream != nullptr && stream->capture != nullptr) return record(cudaErrorStreamCaptureUnsupported);
    return cudaMemset(p, value, bytes);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
    if (stream != nullptr && stream->capture != nullptr) return record(cudaErrorStreamCaptureUnsupported);
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind) {
    if (width > dpitch || width > spitch) return record(cudaErrorInvalidValue);
    for (size_t r = 0; r < height; r++) {
        std::memcpy((char*)dst + r * dpitch, (const char*)src + r * spitch, width);
    }
    return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
    *p = allocate(bytes, cudaMemoryTypeHost);
    return *p == nullptr ? record(cudaErrorMemoryAllocation) : cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }

cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned) {
    *device = host;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
    *stream = new emu_stream();
    (*stream)->device = current_device;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
    if (stream == nullptr || stream->capture != nullptr) return record(cudaErrorStreamCaptureUnsupported);
    stream->capture = new emu_graph();
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    if (stream == nullptr || stream->capture == nullptr) return record(cudaErrorStreamCaptureUnsupported);
    *graph = stream->capture;
    stream->capture = nullptr;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
    *exec = new emu_graph(*graph);
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (stream != nullptr && stream->capture != nullptr) return record(cudaErrorStreamCaptureUnsupported);
    for (auto& op : exec->ops) op();
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    delete exec;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    delete graph;
    return cudaSuccess;
}

// Streams run their work at once, so an event is complete when recorded; what is checked is that event and stream
// are of one device, as the runtime requires.
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
    *event = new emu_event();
    (*event)->device = current_device;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
    delete event;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
    const int device = stream != nullptr ? stream->device : current_device;
    return event == nullptr || event->device != device ? record(cudaErrorInvalidResourceHandle) : cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t event, unsigned) {
    return event == nullptr ? record(cudaErrorInvalidResourceHandle) : cudaSuccess;
}

cudaError_t cudaStreamGetDevice(cudaStream_t stream, int* device) {
    *device = stream != nullptr ? stream->device : current_device;
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
    *status = stream != nullptr && stream->capture != nullptr ? cudaStreamCaptureStatusActive
                                                              : cudaStreamCaptureStatusNone;
    return cudaSuccess;
}

// as since CUDA 11: memory the runtime does not know is cudaMemoryTypeUnregistered, not an error
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* p) {
    if (attributes == nullptr) return record(cudaErrorInvalidValue);
    *attributes = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr, nullptr};
    const auto it = holding((uintptr_t)p);
    if (it != allocations.end()) {
        attributes->type = it->second.type;
        attributes->device = it->second.device;
        attributes->devicePointer = const_cast<void*>(p);
        attributes->hostPointer = it->second.type == cudaMemoryTypeDevice ? nullptr : const_cast<void*>(p);
    }
    return cudaSuccess;
}

// REFOCUS_CUDA_EMU_NO_ADDRESS_RANGE=1 plays a driver without cuMemGetAddressRange
cudaError_t cudaGetDriverEntryPointByVersion(const char* symbol, void** fn, unsigned, unsigned long long,
                                             cudaDriverEntryPointQueryResult* status) {
    const char* none = std::getenv("REFOCUS_CUDA_EMU_NO_ADDRESS_RANGE");
    if (std::strcmp(symbol, "cuMemGetAddressRange") == 0 && !(none != nullptr && std::strcmp(none, "1") == 0)) {
        *fn = reinterpret_cast<void*>(&address_range);
        *status = cudaDriverEntryPointSuccess;
    } else {
        *fn = nullptr;
        *status = cudaDriverEntryPointSymbolNotFound;
    }
    return cudaSuccess;
}
