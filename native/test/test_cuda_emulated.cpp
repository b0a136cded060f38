// test_cuda against the CUDA emulator (cuda_emu/): the same program, compiled by the host compiler and linked with
// native/cuda's kernels rewritten for the emulator, so that it runs on machines without a GPU.
#include "test_cuda.cu"
