package dev.refocus.internal.bindings;

import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.MemberSetter;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JavaCPP binding of {@code native/include/refocus/dense.h}: the fused refocus step for dense networks. See the
 * header for the contracts. The context is passed as a raw address ({@code long}) so that the hot calls create
 * no {@link Pointer} and read no field of one.
 */
@Platform(include = "refocus/dense.h", library = "jnirefocus")
@NoException
public final class DenseNative
{
    static
    {
        Loader.load(RefocusCommonNative.class);
        Loader.load();
    }

    // the header's constants, read from it (never copied by hand)
    public static final int REFOCUS_ACT_IDENTITY = REFOCUS_ACT_IDENTITY();
    public static final int REFOCUS_ACT_RELU = REFOCUS_ACT_RELU();
    public static final int REFOCUS_ACT_TANH = REFOCUS_ACT_TANH();
    public static final int REFOCUS_ACT_GELU = REFOCUS_ACT_GELU();
    public static final int REFOCUS_ACT_GELU_TANH = REFOCUS_ACT_GELU_TANH();
    public static final int REFOCUS_ACT_SILU = REFOCUS_ACT_SILU();
    public static final int REFOCUS_ACT_SIGMOID = REFOCUS_ACT_SIGMOID();
    public static final int REFOCUS_ACT_LEAKY_RELU = REFOCUS_ACT_LEAKY_RELU();
    public static final int REFOCUS_ACT_COUNT = REFOCUS_ACT_COUNT();
    public static final float REFOCUS_LEAKY_RELU_SLOPE = REFOCUS_LEAKY_RELU_SLOPE();
    public static final int REFOCUS_MODE_IMPLICIT = REFOCUS_MODE_IMPLICIT();
    public static final int REFOCUS_MODE_SHADOW = REFOCUS_MODE_SHADOW();
    public static final int REFOCUS_MAX_IMPLICIT_STEPS = REFOCUS_MAX_IMPLICIT_STEPS();
    public static final int REFOCUS_WEIGHTS_F32 = REFOCUS_WEIGHTS_F32();
    public static final int REFOCUS_WEIGHTS_BF16 = REFOCUS_WEIGHTS_BF16();
    public static final int REFOCUS_SAMPLE_CERTAIN = REFOCUS_SAMPLE_CERTAIN();
    public static final int REFOCUS_SAMPLE_ADAPTED = REFOCUS_SAMPLE_ADAPTED();
    public static final int REFOCUS_SAMPLE_FELL_BACK = REFOCUS_SAMPLE_FELL_BACK();

    private DenseNative()
    {
    }

    /** {@code refocus_dense_config}: filled once at set-up (setters only: Java never reads it back). */
    @Name("refocus_dense_config")
    public static final class Config extends Pointer
    {
        static
        {
            Loader.load();
        }

        public Config()
        {
            super((Pointer)null);
            allocate();
        }

        private native void allocate();

        @MemberSetter
        public native Config n_layers(int value);

        @MemberSetter
        public native Config sizes(@Cast("const int32_t*") IntPointer value);

        @MemberSetter
        public native Config activations(@Cast("const int32_t*") IntPointer value);

        @MemberSetter
        public native Config params(@Cast("const void*") Pointer value);

        @MemberSetter
        public native Config method(int value);

        @MemberSetter
        public native Config n_focus(int value);

        @MemberSetter
        public native Config steps(int value);

        @MemberSetter
        public native Config clip_norm(float value);

        @MemberSetter
        public native Config first_adapted_layer(int value);

        @MemberSetter
        public native Config biases_only(int value);

        @MemberSetter
        public native Config candidates(@Cast("const int32_t*") IntPointer value);

        @MemberSetter
        public native Config n_candidates(int value);

        @MemberSetter
        public native Config mode(int value);

        @MemberSetter
        public native Config max_batch(int value);

        @MemberSetter
        public native Config weight_format(int value);
    }

    @MemberGetter
    public static native int REFOCUS_ACT_IDENTITY();

    @MemberGetter
    public static native int REFOCUS_ACT_RELU();

    @MemberGetter
    public static native int REFOCUS_ACT_TANH();

    @MemberGetter
    public static native int REFOCUS_ACT_GELU();

    @MemberGetter
    public static native int REFOCUS_ACT_GELU_TANH();

    @MemberGetter
    public static native int REFOCUS_ACT_SILU();

    @MemberGetter
    public static native int REFOCUS_ACT_SIGMOID();

    @MemberGetter
    public static native int REFOCUS_ACT_LEAKY_RELU();

    @MemberGetter
    public static native int REFOCUS_ACT_COUNT();

    @MemberGetter
    public static native float REFOCUS_LEAKY_RELU_SLOPE();

    @MemberGetter
    public static native int REFOCUS_MODE_IMPLICIT();

    @MemberGetter
    public static native int REFOCUS_MODE_SHADOW();

    @MemberGetter
    public static native int REFOCUS_MAX_IMPLICIT_STEPS();

    @MemberGetter
    public static native int REFOCUS_WEIGHTS_F32();

    @MemberGetter
    public static native int REFOCUS_WEIGHTS_BF16();

    @MemberGetter
    public static native int REFOCUS_SAMPLE_CERTAIN();

    @MemberGetter
    public static native int REFOCUS_SAMPLE_ADAPTED();

    @MemberGetter
    public static native int REFOCUS_SAMPLE_FELL_BACK();

    public static native @Cast("size_t") long refocus_dense_workspace_size(@Const Config cfg);

    public static native @Cast("intptr_t") long refocus_dense_init_static(
        Pointer workspace, @Cast("size_t") long size, @Const Config cfg);

    public static native @Cast("intptr_t") long refocus_dense_inputs(@Cast("refocus_dense*") long ctx);

    public static native @Cast("intptr_t") long refocus_dense_logits(@Cast("refocus_dense*") long ctx);

    public static native @Cast("intptr_t") long refocus_dense_answers(@Cast("refocus_dense*") long ctx);

    public static native @Cast("intptr_t") long refocus_dense_margins(@Cast("refocus_dense*") long ctx);

    public static native int refocus_dense_predict(
        @Cast("refocus_dense*") long ctx, int n, float learningRate, float threshold);

    public static native int refocus_dense_sweep(
        @Cast("refocus_dense*") long ctx, @Const float[] etas, int nEtas, float threshold, int[] finals);

    public static native int refocus_dense_forward(@Cast("refocus_dense*") long ctx, int n);
}
