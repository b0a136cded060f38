package dev.refocus;

/**
 * The loss that the refocus step minimises on an uncertain sample (DESIGN.md section 1). F is the
 * set of focus classes, K the candidate set (all classes when none is given), z the logits and
 * p = softmax(z) over K.
 */
public enum Method
{
    /** The paper's weighted iFo (default): L = -&Sigma;<sub>c&isin;F</sub> p&#771;<sub>c</sub> z<sub>c</sub>, p&#771; held constant. */
    IFO_WEIGHTED,
    /** iFo: L = -(1/|F|) &Sigma;<sub>c&isin;F</sub> z<sub>c</sub>. */
    IFO,
    /** doFo: L = (1/|K&#8726;F|) &Sigma;<sub>c&isin;K&#8726;F</sub> z<sub>c</sub>. */
    DOFO,
    /** Ablation (paper A.1): L = logsumexp<sub>K</sub>(z) - (1/|F|) &Sigma;<sub>c&isin;F</sub> z<sub>c</sub>. */
    CROSS_ENTROPY,
    /** Ablation (paper A.3.6, Tent's loss): L = -&Sigma;<sub>c&isin;K</sub> p<sub>c</sub> log p<sub>c</sub>. */
    ENTROPY;

    /**
     * @return the code of this method in the C ABI ({@code REFOCUS_IFO_WEIGHTED} ... in
     * {@code native/include/refocus/common.h}).
     */
    public int nativeCode()
    {
        return ordinal();
    }
}
