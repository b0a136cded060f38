/*
 * refocus - native core of the "focus on likely classes" test-time adaptation library.
 *
 * This header holds what every part of the C ABI shares: the export macro, the version,
 * the error codes and the loss methods. All functions of the ABI are plain C, take only
 * caller-owned memory, never allocate, never print and never exit: the library lives inside
 * a JVM, so every failure is a return code checked with refocus_is_error().
 */
#ifndef REFOCUS_COMMON_H
#define REFOCUS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define REFOCUS_API __attribute__((visibility("default")))
#else
#  define REFOCUS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*------   Version   ------*/
#define REFOCUS_VERSION_MAJOR 0
#define REFOCUS_VERSION_MINOR 1
#define REFOCUS_VERSION_PATCH 0
#define REFOCUS_VERSION_NUMBER (REFOCUS_VERSION_MAJOR * 10000 + REFOCUS_VERSION_MINOR * 100 + REFOCUS_VERSION_PATCH)

/*! refocus_version_number() :
 *  @return : the version of the library that is loaded, REFOCUS_VERSION_NUMBER of its build. The Java bindings
 *            compare it with the version they were written for when they load the library. */
REFOCUS_API int32_t refocus_version_number(void);

/*------   Errors   ------*/
/* Error codes are negative; a non-negative return value is a result. */
#define REFOCUS_ERROR_ARGUMENT (-1)  /* a size, index, method or threshold outside its documented range */
#define REFOCUS_ERROR_NAN      (-2)  /* a logit is NaN: the model produced no usable output */
#define REFOCUS_ERROR_CUDA     (-3)  /* the CUDA runtime failed (refocus/cuda.h only): see refocus_cuda_last_error() */

/*! refocus_is_error() :
 *  @return : 1 if `code` is one of the REFOCUS_ERROR_* codes, 0 otherwise. */
REFOCUS_API int32_t refocus_is_error(int32_t code);

/*! refocus_error_name() :
 *  @return : a static, readable description of an error code (never NULL). */
REFOCUS_API const char* refocus_error_name(int32_t code);

/*------   Kernels   ------*/
/*! refocus_kernel_variant() :
 *  The kernels that touch weight matrices are compiled for three x86-64 levels, and the best one this CPU
 *  runs is picked when the library loads (the library itself needs only the baseline).
 *  @return : the static name of the variant in use (never NULL): "x86-64-v4 (AVX-512)",
 *            "x86-64-v3 (AVX2+FMA)" or "x86-64 baseline". */
REFOCUS_API const char* refocus_kernel_variant(void);

/*------   Loss methods (docs/DESIGN.md section 1)   ------*/
/* The values are part of the ABI, dense from 0 to REFOCUS_METHOD_COUNT - 1. The Java enum dev.refocus.Method
 * carries them as explicit codes; a Java test reads every value below from this header through JavaCPP and checks
 * the enum against it. Its javadoc lists every place a new loss touches. */
#define REFOCUS_IFO_WEIGHTED  0  /* L = - sum_{c in F} p~_c z_c, p~ = softmax(z) held constant */
#define REFOCUS_IFO           1  /* L = - (1/|F|) sum_{c in F} z_c */
#define REFOCUS_DOFO          2  /* L = (1/|K\F|) sum_{c in K\F} z_c */
#define REFOCUS_CROSS_ENTROPY 3  /* L = logsumexp_K(z) - (1/|F|) sum_{c in F} z_c */
#define REFOCUS_ENTROPY       4  /* L = - sum_{c in K} p_c log p_c, gradient through p */
#define REFOCUS_METHOD_COUNT  5  /* one more than the largest method code */

#ifdef __cplusplus
}
#endif

#endif /* REFOCUS_COMMON_H */
