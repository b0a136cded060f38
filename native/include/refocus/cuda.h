/*
 * The fused refocus step for dense networks on an NVIDIA GPU: the semantics of refocus/dense.h (the same
 * configuration, methods, T, n_focus, clipping, parameter subsets, candidates, IMPLICIT and SHADOW modes, and the
 * same answers), computed by CUDA kernels and checked against the CPU step by native/test/test_cuda.cu.
 *
 * This header belongs to a library of its own, libjnirefocus_cuda, with the CUDA runtime linked statically: loading
 * it needs no GPU and no driver, and the CPU library (libjnirefocus) never depends on it. On a machine without a
 * usable device, refocus_cuda_device_count() answers REFOCUS_ERROR_CUDA and refocus_cuda_last_error() says why.
 *
 * Two objects:
 *   - refocus_cuda_weights: a network's parameter block uploaded once to one device, read-only, shared by every
 *     context on that device (any number, on any host threads).
 *   - refocus_cuda: a predictor context on one device: its own stream, device workspace (activations, per-sample
 *     rank-one terms or a shadow buffer) and pinned host buffers for the samples and the results. Everything is
 *     allocated by refocus_cuda_create(); predicting allocates nothing.
 *
 * The caller writes samples into refocus_cuda_inputs() (pinned host memory) and reads results from
 * refocus_cuda_logits(), refocus_cuda_answers() and refocus_cuda_margins() (pinned host memory) once
 * refocus_cuda_predict() has returned: each call copies the inputs in, runs the step and copies the results out
 * on the context's stream, and synchronises that stream before returning.
 *
 * A caller that holds its samples on the device already (a device pointer and a stream from its own CUDA code,
 * bytedeco's cuda or pytorch presets, ...) passes them to refocus_cuda_predict_device() instead: no host round
 * trip, the same graph, the results in the same pinned buffers.
 *
 * Thread-safety: a context is used by one host thread at a time; weights are only read, so contexts on any threads
 * may share them. Errors are return codes (refocus_is_error()); nothing prints or exits.
 */
#ifndef REFOCUS_CUDA_H
#define REFOCUS_CUDA_H

#include "refocus/dense.h"

#ifdef __cplusplus
extern "C" {
#endif

/* REFOCUS_ERROR_CUDA (common.h): no driver or device, out of device memory, a failed launch;
 * refocus_cuda_last_error() tells which. A context that returned it must be freed: its state is undefined. */

typedef struct refocus_cuda_weights_s refocus_cuda_weights;  /* opaque */
typedef struct refocus_cuda_s refocus_cuda;                  /* opaque */

/*! refocus_cuda_last_error() :
 *  @return : a static, readable description of the calling thread's last REFOCUS_ERROR_CUDA (the CUDA runtime's
 *            own message, such as "no CUDA-capable device is detected"), or of the reason of
 *            refocus_cuda_predict_device()'s last REFOCUS_ERROR_ARGUMENT; "no error" before any (never NULL). */
REFOCUS_API const char* refocus_cuda_last_error(void);

/*! refocus_cuda_device_count() :
 *  @return : the number of CUDA devices this process can use (>= 1), 0 if the runtime works but sees none, or
 *            REFOCUS_ERROR_CUDA if the runtime cannot start (no driver, a driver too old). */
REFOCUS_API int32_t refocus_cuda_device_count(void);

/*! refocus_cuda_weights_upload() :
 *  Copies the parameter block of `cfg` (cfg->params, laid out as dense.h says) to `device`. Only the sizes and
 *  the parameters of `cfg` are read; contexts built on the weights must use the same sizes. The block must be
 *  REFOCUS_WEIGHTS_F32: the CUDA step has no bf16 kernels, so a bf16 network is uploaded as the float32 block of
 *  its widened values (the same network, at twice the device memory); a context's cfg->weight_format is ignored.
 *  @return : 0 and *out set, or REFOCUS_ERROR_ARGUMENT for an invalid configuration, a bf16 block or a device index,
 *            REFOCUS_ERROR_CUDA if the device or its memory fails (*out is then NULL). */
REFOCUS_API int32_t refocus_cuda_weights_upload(int32_t device, const refocus_dense_config* cfg,
                                                refocus_cuda_weights** out);

/*! refocus_cuda_weights_free() :
 *  Frees the device copy; every context built on it must have been freed first. NULL is a no-op. */
REFOCUS_API void refocus_cuda_weights_free(refocus_cuda_weights* weights);

/*! refocus_cuda_create() :
 *  A context on the weights' device for the configuration `cfg` (checked as refocus_dense_workspace_size() checks
 *  it, and its candidates must be distinct; cfg->params is not read: the context reads `weights`). The
 *  configuration and candidates are copied, and one call is captured as a CUDA graph that every call replays.
 *  Device memory: activations and deltas of max_batch samples for T steps; in REFOCUS_MODE_SHADOW also one copy of
 *  the adapted parameters per sample of max_batch (the uncertain samples of a call adapt in parallel, each in its
 *  own slice), max_batch times the CPU step's shadow: IMPLICIT needs none.
 *  @return : 0 and *out set, or REFOCUS_ERROR_ARGUMENT (invalid configuration, sizes other than the weights'),
 *            REFOCUS_ERROR_CUDA (out of device or pinned memory; *out is then NULL). */
REFOCUS_API int32_t refocus_cuda_create(const refocus_cuda_weights* weights, const refocus_dense_config* cfg,
                                        refocus_cuda** out);

/*! refocus_cuda_free() :
 *  Frees the context (after its stream is idle). NULL is a no-op. */
REFOCUS_API void refocus_cuda_free(refocus_cuda* ctx);

/*! refocus_cuda_inputs(), refocus_cuda_logits(), refocus_cuda_answers(), refocus_cuda_margins() :
 *  @return : the context's pinned host buffers, laid out exactly as their refocus_dense_* namesakes. */
REFOCUS_API float* refocus_cuda_inputs(refocus_cuda* ctx);
REFOCUS_API float* refocus_cuda_logits(refocus_cuda* ctx);
REFOCUS_API int32_t* refocus_cuda_answers(refocus_cuda* ctx);
REFOCUS_API float* refocus_cuda_margins(refocus_cuda* ctx);

/*! refocus_cuda_predict() :
 *  refocus_dense_predict() on the GPU, for the first n samples of refocus_cuda_inputs(). A sample whose adapted
 *  candidate logits are not all finite (or that met a NaN candidate logit at an intermediate step) falls back to its
 *  plain answer: its logits are the plain ones, its final class is the initial one, and its answers[2] is 2 (0:
 *  certain, 1: adapted). One launch and one synchronisation of the context's stream, whatever n and the decisions.
 *  @return : the number of samples that adapted (fallbacks included), or REFOCUS_ERROR_ARGUMENT, REFOCUS_ERROR_NAN
 *            (a NaN candidate logit in the plain pass, as refocus_dense_predict()), or REFOCUS_ERROR_CUDA. */
REFOCUS_API int32_t refocus_cuda_predict(refocus_cuda* ctx, int32_t n, float learning_rate, float threshold);

/*! refocus_cuda_forward() :
 *  refocus_dense_forward() on the GPU.
 *  @return : as refocus_dense_forward(), or REFOCUS_ERROR_CUDA. */
REFOCUS_API int32_t refocus_cuda_forward(refocus_cuda* ctx, int32_t n);

/*! refocus_cuda_predict_device() :
 *  refocus_cuda_predict() for n samples that are already in device memory: `inputs` holds them row-major
 *  (n * sizes[0] floats, no padding), written by work the caller enqueued on `stream` (a cudaStream_t of the
 *  context's device; NULL: the legacy default stream). The results land in the context's pinned buffers, as
 *  refocus_cuda_predict()'s.
 *
 *  Ordering: the call records an event on `stream` and makes the context's stream wait for it, so the step starts
 *  after all the work enqueued on `stream` before the call (and nothing enqueued after it); it synchronises the
 *  context's stream only, and returns once the results are in the pinned buffers and the step no longer reads
 *  `inputs`: the caller may then overwrite or free them. `stream` itself is not synchronised, and nothing is
 *  enqueued on it but the event.
 *
 *  Checked before anything is enqueued (each refusal is REFOCUS_ERROR_ARGUMENT, its reason in
 *  refocus_cuda_last_error()): n, the learning rate and the threshold as refocus_cuda_predict(); `inputs` is not
 *  NULL, float-aligned, device or managed memory (cudaPointerGetAttributes) of the context's device, and, where the
 *  driver has cuMemGetAddressRange, [inputs, inputs + n * sizes[0]) lies inside one allocation; `stream` belongs to
 *  the context's device and is not capturing a graph. `stream` must be a live stream (or NULL): a destroyed handle
 *  cannot be told from a live one. Checked on the device, as the samples are read: a non-finite value refuses the
 *  call (REFOCUS_ERROR_ARGUMENT, "input[i] is NaN; inputs must be finite", i the lowest such index), as the Java
 *  API refuses one in host memory; the pinned results are then undefined.
 *  @return : as refocus_cuda_predict(), or REFOCUS_ERROR_ARGUMENT as above. */
REFOCUS_API int32_t refocus_cuda_predict_device(refocus_cuda* ctx, const float* inputs, int32_t n, void* stream,
                                                float learning_rate, float threshold);

/*! refocus_cuda_buffer_alloc(), refocus_cuda_buffer_write(), refocus_cuda_buffer_free() :
 *  Plain device memory (cudaMalloc) for callers that have no CUDA binding of their own, such as the Java tests and
 *  benchmarks of refocus_cuda_predict_device(). _write copies `count` floats from host memory to `buffer + offset`
 *  bytes and returns once they are there (cudaMemcpy, on the legacy default stream).
 *  @return : 0, or REFOCUS_ERROR_ARGUMENT (NULL, negative or zero sizes, no such device), REFOCUS_ERROR_CUDA. */
REFOCUS_API int32_t refocus_cuda_buffer_alloc(int32_t device, int64_t bytes, void** out);
REFOCUS_API int32_t refocus_cuda_buffer_write(void* buffer, int64_t offset, const float* values, int64_t count);
REFOCUS_API void refocus_cuda_buffer_free(void* buffer);

#ifdef __cplusplus
}
#endif

#endif /* REFOCUS_CUDA_H */
