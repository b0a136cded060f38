package dev.refocus.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.refocus.ModelFormatException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model ({@code onnx.proto}, proto2) that an MLP import reads: the graph's nodes, initializers,
 * inputs and outputs. Fields it does not read are skipped. Read with protobuf-java's {@link CodedInputStream}
 * rather than code generated from {@code onnx.proto}: the field numbers below are those of {@code onnx.proto}.
 * <p>
 * Every length the bytes claim is checked against the bytes that remain before anything is allocated for it
 * (CodedInputStream does so for strings and bytes; the packed arrays are checked here).
 */
final class OnnxFile
{
    /** The ONNX data type FLOAT (TensorProto.DataType). */
    static final int FLOAT = 1;

    record Tensor(String name, int dataType, long[] dims, byte[] rawData, float[] floatData, boolean external)
    {
    }

    record Attribute(String name, float f, long i, String s, Tensor t)
    {
    }

    record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                Map<String, Attribute> attributes)
    {
    }

    /** @param dims each dimension, or -1 where the model names it ({@code dim_param}) or leaves it out. */
    record ValueInfo(String name, long[] dims)
    {
    }

    record Graph(List<Node> nodes, Map<String, Tensor> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs)
    {
    }

    /** @param opset the version of the standard operator set the model imports. */
    record Model(Graph graph, long opset)
    {
    }

    private OnnxFile()
    {
    }

    /**
     * @return the model's graph and opset.
     * @throws ModelFormatException if the bytes are not a model with a graph and an opset of the standard domain.
     */
    static Model read(final byte[] bytes, final String source) throws ModelFormatException
    {
        try
        {
            final CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.pushLimit(bytes.length); // from here every nested length is checked against the real bytes
            Graph graph = null;
            long opset = -1;
            for (int tag = in.readTag(); tag != 0; tag = in.readTag())
            {
                if (field(tag) == 7 && isLengthDelimited(tag)) // ModelProto.graph
                {
                    graph = message(in, OnnxFile::graph);
                }
                else if (field(tag) == 8 && isLengthDelimited(tag)) // ModelProto.opset_import
                {
                    final long[] version = message(in, OnnxFile::standardOpset);
                    opset = version.length == 1 ? version[0] : opset;
                }
                else
                {
                    in.skipField(tag);
                }
            }
            if (graph == null)
            {
                throw new ModelFormatException(source + ": not an ONNX model (no graph)");
            }
            // ONNX requires it; torch writes it last, so a file cut at a field boundary is refused here
            if (opset < 0)
            {
                throw new ModelFormatException(source + ": not an ONNX model (no opset_import of the standard domain)");
            }
            return new Model(graph, opset);
        }
        catch (final ModelFormatException e)
        {
            throw e;
        }
        catch (final IOException e) // InvalidProtocolBufferException: truncated, a bad varint, a bad tag
        {
            throw new ModelFormatException(source + ": not an ONNX model (" + e.getMessage() + ")");
        }
    }

    @FunctionalInterface
    private interface Reader<T>
    {
        T read(CodedInputStream in) throws IOException;
    }

    /** Reads one length-delimited message with {@code reader}, which reads until the end of the message. */
    private static <T> T message(final CodedInputStream in, final Reader<T> reader) throws IOException
    {
        final int old = in.pushLimit(in.readRawVarint32()); // throws if the length passes the enclosing one
        final T value = reader.read(in);
        in.popLimit(old);
        return value;
    }

    /** OperatorSetIdProto: domain (1), version (2); the version if the domain is the standard one, else none. */
    private static long[] standardOpset(final CodedInputStream in) throws IOException
    {
        String domain = "";
        long version = -1;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            if (tag == tag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED))
            {
                domain = in.readString();
            }
            else if (tag == tag(2, WireFormat.WIRETYPE_VARINT))
            {
                version = in.readInt64();
            }
            else
            {
                in.skipField(tag);
            }
        }
        return (domain.isEmpty() || domain.equals("ai.onnx")) && version >= 1 ? new long[] {version} : new long[0];
    }

    private static Graph graph(final CodedInputStream in) throws IOException
    {
        final List<Node> nodes = new ArrayList<>();
        final Map<String, Tensor> initializers = new HashMap<>();
        final List<ValueInfo> inputs = new ArrayList<>();
        final List<ValueInfo> outputs = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            switch (isLengthDelimited(tag) ? field(tag) : -1)
            {
                case 1 -> nodes.add(message(in, OnnxFile::node));
                case 5 ->
                {
                    final Tensor t = message(in, OnnxFile::tensor);
                    initializers.put(t.name(), t);
                }
                case 11 -> inputs.add(message(in, OnnxFile::valueInfo));
                case 12 -> outputs.add(message(in, OnnxFile::valueInfo));
                default -> in.skipField(tag);
            }
        }
        return new Graph(nodes, initializers, inputs, outputs);
    }

    private static Node node(final CodedInputStream in) throws IOException
    {
        final List<String> inputs = new ArrayList<>();
        final List<String> outputs = new ArrayList<>();
        final Map<String, Attribute> attributes = new HashMap<>();
        String name = "";
        String opType = "";
        String domain = "";
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            switch (isLengthDelimited(tag) ? field(tag) : -1)
            {
                case 1 -> inputs.add(in.readString());
                case 2 -> outputs.add(in.readString());
                case 3 -> name = in.readString();
                case 4 -> opType = in.readString();
                case 5 ->
                {
                    final Attribute a = message(in, OnnxFile::attribute);
                    attributes.put(a.name(), a);
                }
                case 7 -> domain = in.readString();
                default -> in.skipField(tag);
            }
        }
        return new Node(name, opType, domain, inputs, outputs, attributes);
    }

    private static Attribute attribute(final CodedInputStream in) throws IOException
    {
        String name = "";
        float f = 0;
        long i = 0;
        String s = null;
        Tensor t = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            if (tag == tag(1, WireFormat.WIRETYPE_LENGTH_DELIMITED))
            {
                name = in.readString();
            }
            else if (tag == tag(2, WireFormat.WIRETYPE_FIXED32))
            {
                f = in.readFloat();
            }
            else if (tag == tag(3, WireFormat.WIRETYPE_VARINT))
            {
                i = in.readInt64();
            }
            else if (tag == tag(4, WireFormat.WIRETYPE_LENGTH_DELIMITED))
            {
                s = in.readString();
            }
            else if (tag == tag(5, WireFormat.WIRETYPE_LENGTH_DELIMITED))
            {
                t = message(in, OnnxFile::tensor);
            }
            else
            {
                in.skipField(tag);
            }
        }
        return new Attribute(name, f, i, s, t);
    }

    private static Tensor tensor(final CodedInputStream in) throws IOException
    {
        final List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        byte[] raw = null;
        final List<float[]> floats = new ArrayList<>();
        boolean external = false;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            final int field = field(tag);
            final int wireType = WireFormat.getTagWireType(tag);
            if (field == 1 && wireType == WireFormat.WIRETYPE_VARINT)
            {
                dims.add(in.readInt64());
            }
            else if (field == 1 && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) // packed dims
            {
                final int old = in.pushLimit(in.readRawVarint32());
                while (!in.isAtEnd())
                {
                    dims.add(in.readInt64()); // at least one byte each: as many as the bytes allow, no more
                }
                in.popLimit(old);
            }
            else if (field == 2 && wireType == WireFormat.WIRETYPE_VARINT)
            {
                dataType = in.readInt32();
            }
            else if (field == 4 && wireType == WireFormat.WIRETYPE_FIXED32)
            {
                floats.add(new float[] {in.readFloat()});
            }
            else if (field == 4 && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) // packed float_data
            {
                final int length = in.readRawVarint32();
                if (length < 0 || length % Float.BYTES != 0 || length > in.getBytesUntilLimit())
                {
                    throw new IOException("tensor '" + name + "': float_data of " + length
                        + " bytes, not a whole number of floats within the message");
                }
                final float[] packed = new float[length / Float.BYTES];
                for (int k = 0; k < packed.length; k++)
                {
                    packed[k] = in.readFloat();
                }
                floats.add(packed);
            }
            else if (field == 8 && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED)
            {
                name = in.readString();
            }
            else if (field == 9 && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED)
            {
                raw = in.readByteArray(); // its length is checked against the bytes that remain
            }
            else if (field == 13 && wireType == WireFormat.WIRETYPE_LENGTH_DELIMITED) // external_data
            {
                external = true;
                in.skipField(tag);
            }
            else if (field == 14 && wireType == WireFormat.WIRETYPE_VARINT) // data_location: 1 = EXTERNAL
            {
                external |= in.readInt32() == 1;
            }
            else
            {
                in.skipField(tag);
            }
        }
        return new Tensor(name, dataType, dims.stream().mapToLong(Long::longValue).toArray(), raw,
            floats.isEmpty() ? null : concat(floats), external);
    }

    private static float[] concat(final List<float[]> parts)
    {
        final float[] all = new float[parts.stream().mapToInt(p -> p.length).sum()]; // bounded by the input's size
        int at = 0;
        for (final float[] p : parts)
        {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    private static ValueInfo valueInfo(final CodedInputStream in) throws IOException
    {
        String name = "";
        long[] dims = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            switch (isLengthDelimited(tag) ? field(tag) : -1)
            {
                case 1 -> name = in.readString();
                // TypeProto.tensor_type (1) -> TypeProto.Tensor.shape (2) -> TensorShapeProto.dim (1)
                case 2 -> dims = message(in, type -> nested(type, 1, tensorType -> nested(tensorType, 2,
                    OnnxFile::shape)));
                default -> in.skipField(tag);
            }
        }
        return new ValueInfo(name, dims);
    }

    /** Reads the message in field {@code field} with {@code reader}; null if there is none. */
    private static <T> T nested(final CodedInputStream in, final int field, final Reader<T> reader)
        throws IOException
    {
        T value = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            if (field(tag) == field && isLengthDelimited(tag))
            {
                value = message(in, reader);
            }
            else
            {
                in.skipField(tag);
            }
        }
        return value;
    }

    private static long[] shape(final CodedInputStream in) throws IOException
    {
        final List<Long> dims = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag())
        {
            if (field(tag) == 1 && isLengthDelimited(tag))
            {
                dims.add(message(in, dim -> { // Dimension: dim_value (1), or dim_param (2) a name
                    long value = -1;
                    for (int t = dim.readTag(); t != 0; t = dim.readTag())
                    {
                        if (t == tag(1, WireFormat.WIRETYPE_VARINT))
                        {
                            value = dim.readInt64();
                        }
                        else
                        {
                            dim.skipField(t);
                        }
                    }
                    return value;
                }));
            }
            else
            {
                in.skipField(tag);
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** The tag of a field (WireFormat.makeTag is not public). */
    private static int tag(final int field, final int wireType)
    {
        return field << 3 | wireType;
    }

    private static int field(final int tag)
    {
        return WireFormat.getTagFieldNumber(tag);
    }

    private static boolean isLengthDelimited(final int tag)
    {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }
}
