/**
 * The refocus command line: predict, tune and bench. Nothing is exported; picocli reads the commands by
 * reflection.
 */
module dev.refocus.cli
{
    requires dev.refocus;
    requires dev.refocus.torch;
    requires dev.refocus.onnx;
    requires info.picocli;
    requires org.knowm.xchart;
    requires java.desktop;

    opens dev.refocus.cli to info.picocli;
}
