package dev.refocus.benchmarks;

import dev.refocus.Activation;
import dev.refocus.DenseNetwork;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A dense network written as an ONNX model (opset 13: {@code Gemm} with {@code transB = 1} per layer, then
 * {@code Relu} or {@code Tanh}), so that ONNX Runtime runs the very weights of a benchmark: input {@code x} of shape
 * {@code [batch, in]} with a symbolic batch, output {@code logits}. Only what the benchmarks need of the protobuf
 * encoding (varints and length-delimited fields of onnx.proto); ONNX Runtime checks the result.
 */
final class OnnxModels
{
    private OnnxModels()
    {
    }

    /** @param network ReLU, tanh or identity layers. @return the bytes of an ONNX model of it. */
    static byte[] of(final DenseNetwork network)
    {
        final Message graph = new Message();
        String previous = "x";
        for (int l = 0; l < network.layers(); l++)
        {
            final String w = "w" + l;
            final String b = "b" + l;
            final boolean last = l + 1 == network.layers();
            final Activation activation = network.activation(l);
            final String gemm = last && activation == Activation.IDENTITY ? "logits" : "gemm" + l;
            graph.message(1, node("Gemm", gemm, previous, w, b).message(5, new Message()
                .string(1, "transB").varint(3, 1).varint(20, 2))); // AttributeProto INT
            graph.message(5, tensor(w, network.weight(l), network.outputSize(l), network.inputSize(l)));
            graph.message(5, tensor(b, network.bias(l), network.outputSize(l)));
            previous = gemm;
            if (activation != Activation.IDENTITY)
            {
                final String op = switch (activation)
                {
                    case RELU -> "Relu";
                    case TANH -> "Tanh";
                    default -> throw new IllegalArgumentException("no ONNX operator here for " + activation);
                };
                final String act = last ? "logits" : "act" + l;
                graph.message(1, node(op, act, previous));
                previous = act;
            }
        }
        graph.string(2, "refocus-benchmark");
        graph.message(11, valueInfo("x", network.inputSize()));
        graph.message(12, valueInfo("logits", network.classes()));
        return new Message()
            .varint(1, 8)                                             // ir_version
            .string(2, "refocus-benchmarks")                          // producer_name
            .message(7, graph)
            .message(8, new Message().string(1, "").varint(2, 13))    // opset_import: ai.onnx 13
            .bytes();
    }

    private static Message node(final String op, final String output, final String... inputs)
    {
        final Message node = new Message();
        for (final String input : inputs)
        {
            node.string(1, input);
        }
        return node.string(2, output).string(3, op + "_" + output).string(4, op);
    }

    private static Message tensor(final String name, final FloatBuffer values, final int... dims)
    {
        final Message tensor = new Message();
        for (final int d : dims)
        {
            tensor.varint(1, d);
        }
        final ByteBuffer raw = ByteBuffer.allocate(values.remaining() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values.duplicate());
        return tensor.varint(2, 1).string(8, name).raw(9, raw.array()); // data_type FLOAT, raw_data
    }

    private static Message valueInfo(final String name, final int features)
    {
        final Message shape = new Message()
            .message(1, new Message().string(2, "batch"))              // dim_param
            .message(1, new Message().varint(1, features));            // dim_value
        final Message tensorType = new Message().varint(1, 1).message(2, shape); // elem_type FLOAT
        return new Message().string(1, name).message(2, new Message().message(1, tensorType));
    }

    /** A protobuf message being written: fields in the order they are added. */
    private static final class Message
    {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Message varint(final int field, final long value)
        {
            tag(field, 0);
            writeVarint(value);
            return this;
        }

        Message string(final int field, final String value)
        {
            return raw(field, value.getBytes(StandardCharsets.UTF_8));
        }

        Message message(final int field, final Message value)
        {
            return raw(field, value.bytes());
        }

        Message raw(final int field, final byte[] value)
        {
            tag(field, 2);
            writeVarint(value.length);
            out.writeBytes(value);
            return this;
        }

        byte[] bytes()
        {
            return out.toByteArray();
        }

        private void tag(final int field, final int wireType)
        {
            writeVarint((long)field << 3 | wireType);
        }

        private void writeVarint(final long value)
        {
            long v = value;
            while ((v & ~0x7FL) != 0)
            {
                out.write((int)(v & 0x7F | 0x80));
                v >>>= 7;
            }
            out.write((int)v);
        }
    }
}
