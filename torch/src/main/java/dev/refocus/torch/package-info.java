/**
 * The libtorch backend: refocus for any TorchScript model through bytedeco pytorch (libtorch 2.10, CPU on
 * linux-x86_64 by default).
 *
 * <ul>
 *   <li>{@link dev.refocus.torch.TorchModel}: a TorchScript file whose forward maps one input tensor to the logits
 *       of that sample, loaded once and shared by the predictors of every thread;</li>
 *   <li>{@link dev.refocus.torch.TorchPredictor}: Algorithm 1 with libtorch autograd and no clone (shadow
 *       parameters, swapped in and out); the one to deploy;</li>
 *   <li>{@link dev.refocus.torch.TorchClonePredictor}: Algorithm 1 literally, a deep copy of the model per
 *       uncertain sample; the baseline and a test oracle;</li>
 *   <li>{@link dev.refocus.torch.TorchOptions}: libtorch threads and the names of the adapted parameters;</li>
 *   <li>{@link dev.refocus.torch.TorchScriptImport}: a TorchScript {@code nn.Sequential} MLP as a
 *       {@link dev.refocus.DenseNetwork}, for the dense backends;</li>
 *   <li>{@link dev.refocus.torch.Libtorch}: loads libtorch; call it before using bytedeco pytorch directly.</li>
 * </ul>
 *
 * libtorch is loaded on first use, from the JavaCPP cache ({@code org.bytedeco.javacpp.cachedir}); a libtorch
 * installed on the system (Debian's, for example) is never loaded in its place.
 */
package dev.refocus.torch;
