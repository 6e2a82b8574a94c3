package dev.stride.onnx;

/**
 * An ONNX model that cannot be imported. {@link Kind#UNSUPPORTED}: a valid model that needs an operator, attribute
 * value or element type outside what Stride's IR can represent exactly (the message says which). {@link
 * Kind#INVALID}: a malformed or inconsistent file (bad protobuf, missing inputs, sizes that do not match, shapes
 * that break an op's rule). The message names the node, its op_type and opset, or the tensor, when there is one.
 */
public final class OnnxImportException extends RuntimeException {
    public enum Kind { UNSUPPORTED, INVALID }

    private final Kind kind;
    private final String reason;

    OnnxImportException(Kind kind, String where, String reason, Throwable cause) {
        super(where + ": " + (kind == Kind.UNSUPPORTED ? "unsupported: " : "") + reason, cause);
        this.kind = kind;
        this.reason = reason;
    }

    /** A valid model outside the engine's scope. {@code where}: "node 'conv1' (Conv, opset 22)", "model", ... */
    static OnnxImportException unsupported(String where, String reason) {
        return new OnnxImportException(Kind.UNSUPPORTED, where, reason, null);
    }

    static OnnxImportException invalid(String where, String reason) {
        return new OnnxImportException(Kind.INVALID, where, reason, null);
    }

    static OnnxImportException invalid(String where, String reason, Throwable cause) {
        return new OnnxImportException(Kind.INVALID, where, reason, cause);
    }

    public Kind kind() { return kind; }

    /** Whether the model is valid but needs something the engine does not have. */
    public boolean unsupported() { return kind == Kind.UNSUPPORTED; }

    /** The problem without the location prefix. */
    public String reason() { return reason; }
}
