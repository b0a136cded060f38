package dev.refocus.flink;

import dev.refocus.Prediction;
import java.util.Locale;

/** A sample's result (see {@link Prediction}). A Flink POJO. */
public class Scored
{
    /** The sample's identifier. */
    public String id;
    /** The plain prediction's class. */
    public int initialClass;
    /** The answer: after refocus if the sample was uncertain. */
    public int finalClass;
    /** Whether the sample was uncertain (margin below d) and refocus ran. */
    public boolean adapted;
    /** Whether refocus's adapted logits were not finite and the plain prediction was kept. */
    public boolean fellBack;
    /** The plain prediction's softmax margin. */
    public float margin;
    /** The final logits. */
    public float[] logits;

    /** For Flink. */
    public Scored()
    {
    }

    Scored(final String id, final Prediction p)
    {
        this.id = id;
        this.initialClass = p.initialClass();
        this.finalClass = p.finalClass();
        this.adapted = p.adapted();
        this.fellBack = p.fellBack();
        this.margin = p.margin();
        this.logits = p.logits().clone();
    }

    /** @return {@code id,initialClass,finalClass,adapted,margin}, a CSV line. */
    public String toCsv()
    {
        return String.format(Locale.ROOT, "%s,%d,%d,%b,%s", id, initialClass, finalClass, adapted, margin);
    }
}
