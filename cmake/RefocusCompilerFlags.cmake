# Compiler settings shared by every native target of refocus.
#
# The library is loaded from a jar on any x86-64 CPU, so it is built for the baseline ISA:
# never -march=native. Code that wants AVX2/AVX-512 picks it at run time (target_clones).
# Symbols are hidden by default: only REFOCUS_API functions (and the JNI glue) are exported.

if(NOT CMAKE_BUILD_TYPE)
    set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

function(refocus_set_compiler_flags target)
    set_target_properties(${target} PROPERTIES
        CXX_STANDARD 17
        CXX_STANDARD_REQUIRED ON
        CXX_EXTENSIONS OFF
        POSITION_INDEPENDENT_CODE ON
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    # -fno-math-errno keeps libm calls inlinable; no -ffast-math: the results must match the
    # Java reference, which needs IEEE semantics (NaN checks, infinities, summation order).
    target_compile_options(${target} PRIVATE -O3 -fno-math-errno -Wall -Wextra -Wshadow -Werror=return-type)
endfunction()

# The CUDA step: sm_80 and sm_90 machine code plus compute_90 PTX that later GPUs compile at load; the CUDA runtime
# linked statically (the library loads where no driver is); no relocatable device code. --fmad=false: no multiply-add
# contraction but the kernels' explicit fmaf(), so results follow the source's rounding (and the emulator's).
set(REFOCUS_CUDA_ARCHITECTURES "80-real;90-real;90-virtual" CACHE STRING
    "CUDA_ARCHITECTURES of the CUDA targets (a device check may build for its own only, e.g. 90-real)")
function(refocus_set_cuda_flags target)
    set_target_properties(${target} PROPERTIES
        CUDA_STANDARD 17
        CUDA_STANDARD_REQUIRED ON
        CUDA_ARCHITECTURES "${REFOCUS_CUDA_ARCHITECTURES}"
        CUDA_RUNTIME_LIBRARY Static
        CUDA_SEPARABLE_COMPILATION OFF
        POSITION_INDEPENDENT_CODE ON
        CUDA_VISIBILITY_PRESET hidden
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANGUAGE:CUDA>:-O3 --fmad=false -Werror=all-warnings -Xcompiler=-fPIC,-Wall,-Wextra,-Wshadow>)
endfunction()
