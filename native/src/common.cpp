// Version, error reporting and kernel variant, shared by the whole C ABI (refocus/common.h).
#include "refocus/common.h"

#include "dense_kernels.h"

extern "C" {

int32_t refocus_version_number(void) { return REFOCUS_VERSION_NUMBER; }

int32_t refocus_is_error(int32_t code) {
    return code == REFOCUS_ERROR_ARGUMENT || code == REFOCUS_ERROR_NAN || code == REFOCUS_ERROR_CUDA;
}

const char* refocus_error_name(int32_t code) {
    switch (code) {
        case REFOCUS_ERROR_ARGUMENT: return "argument out of range";
        case REFOCUS_ERROR_NAN: return "a logit is NaN";
        case REFOCUS_ERROR_CUDA: return "the CUDA runtime failed";
        default: return code >= 0 ? "no error" : "unknown error";
    }
}

const char* refocus_kernel_variant(void) { return refocus::kernel_variant_name(refocus::kernel_variant()); }

}  // extern "C"
