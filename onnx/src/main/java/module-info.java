/**
 * The ONNX import of refocus: an ONNX MLP read into a {@link dev.refocus.DenseNetwork} with protobuf-java.
 */
module dev.refocus.onnx
{
    requires transitive dev.refocus;
    requires com.google.protobuf;

    exports dev.refocus.onnx;
}
