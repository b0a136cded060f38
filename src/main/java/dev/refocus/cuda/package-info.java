/**
 * The CUDA backend: {@link dev.refocus.cuda.CudaNetwork} (a network's weights on a device) and
 * {@link dev.refocus.cuda.CudaPredictor}. Its native library, {@code libjnirefocus_cuda}, is separate from the CPU
 * library and loaded only when this package is used; it links the CUDA runtime statically, so it loads on machines
 * without a GPU, where {@link dev.refocus.cuda.CudaNetwork#upload} answers {@link
 * dev.refocus.cuda.CudaUnavailableException}.
 */
package dev.refocus.cuda;
