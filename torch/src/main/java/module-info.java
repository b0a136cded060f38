/**
 * The libtorch backend of refocus: any TorchScript model through bytedeco's pytorch presets, without a clone.
 */
module dev.refocus.torch
{
    requires transitive dev.refocus;
    requires org.bytedeco.javacpp;
    requires org.bytedeco.pytorch;

    exports dev.refocus.torch;
}
