/**
 * The refocus core: the API ({@code dev.refocus}), the native CPU backend ({@code dev.refocus.cpu}) and the
 * plain-Java reference ({@code dev.refocus.reference}). Its internals (argument checks, the model file parsers,
 * the JavaCPP bindings of the native library) are not exported; the bindings are opened to JavaCPP alone, which
 * loads the native library from their package. Besides JavaCPP it needs only JDK modules: java.base, and
 * java.management for {@code GuardGroup}'s JMX bean.
 */
module dev.refocus
{
    requires org.bytedeco.javacpp;
    requires java.management; // GuardGroup's JMX bean; a JDK module, no library

    exports dev.refocus;
    exports dev.refocus.cpu;
    exports dev.refocus.cuda;
    exports dev.refocus.reference;

    opens dev.refocus.internal.bindings to org.bytedeco.javacpp;
    opens dev.refocus.internal.bindings.cuda to org.bytedeco.javacpp;
}
