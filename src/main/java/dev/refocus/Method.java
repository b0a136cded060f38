package dev.refocus;

/**
 * The loss that the refocus step minimises on an uncertain sample (docs/DESIGN.md section 1). F is the
 * set of focus classes, K the candidate set (all classes when none is given), z the logits and
 * p = softmax(z) over K.
 *
 * <p>A new loss touches these places, and no others:
 * <ol>
 * <li>{@code native/include/refocus/common.h}: its code {@code REFOCUS_<NAME>}, the next integer, and
 *     {@code REFOCUS_METHOD_COUNT} one more;</li>
 * <li>{@code native/src/focus_head.cpp}: its gradient dL/dz in {@code write_grad} (every native backend takes its
 *     loss from there);</li>
 * <li>this enum: the constant, with the same code;</li>
 * <li>{@code dev.refocus.reference.ReferenceFocusHead}: its loss and gradient in double precision, the oracle;</li>
 * <li>{@code dev.refocus.torch.TorchClonePredictor}: its loss in libtorch operations, the clone baseline.</li>
 * </ol>
 * Tests cover it by themselves: they run every constant of this enum, and {@code NativeConstantsTest} fails until
 * the header and this enum agree.
 */
public enum Method
{
    /** The paper's weighted iFo (default): L = -&Sigma;<sub>c&isin;F</sub> p&#771;<sub>c</sub> z<sub>c</sub>, p&#771; held constant. */
    IFO_WEIGHTED(0),
    /** iFo: L = -(1/|F|) &Sigma;<sub>c&isin;F</sub> z<sub>c</sub>. */
    IFO(1),
    /** doFo: L = (1/|K&#8726;F|) &Sigma;<sub>c&isin;K&#8726;F</sub> z<sub>c</sub>. */
    DOFO(2),
    /** Ablation (paper A.1): L = logsumexp<sub>K</sub>(z) - (1/|F|) &Sigma;<sub>c&isin;F</sub> z<sub>c</sub>. */
    CROSS_ENTROPY(3),
    /** Ablation (paper A.3.6, Tent's loss): L = -&Sigma;<sub>c&isin;K</sub> p<sub>c</sub> log p<sub>c</sub>. */
    ENTROPY(4);

    private final int nativeCode;

    Method(final int nativeCode)
    {
        this.nativeCode = nativeCode;
    }

    /**
     * @return the code of this method in the C ABI ({@code REFOCUS_<NAME>} in
     * {@code native/include/refocus/common.h}).
     */
    public int nativeCode()
    {
        return nativeCode;
    }
}
