package dev.stride.onnx;

/**
 * ONNX tensor element types ({@code TensorProto.DataType}) as the importer sees them: whether the engine can hold
 * them at all (float32 and float64 activations), and how constants of each type are stored while folding.
 */
enum ElemType {
    UNDEFINED(0, 0), FLOAT(1, 4), UINT8(2, 1), INT8(3, 1), UINT16(4, 2), INT16(5, 2), INT32(6, 4), INT64(7, 8),
    STRING(8, 0), BOOL(9, 1), FLOAT16(10, 2), DOUBLE(11, 8), UINT32(12, 4), UINT64(13, 8), COMPLEX64(14, 8),
    COMPLEX128(15, 16), BFLOAT16(16, 2);

    final int code;
    /** Bytes per element in {@code raw_data}; 0 where the importer cannot read the type. */
    final int bytes;

    ElemType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The element type with this {@code data_type} number, or {@code null} (float8, int4 and later additions). */
    static ElemType of(int code) {
        for (ElemType t : values()) if (t.code == code) return t;
        return null;
    }

    /** Types whose values fold as real numbers. */
    boolean isFloat() { return this == FLOAT || this == DOUBLE || this == FLOAT16 || this == BFLOAT16; }

    /** Types whose values fold as 64-bit integers (bool as 0/1, uint64 as its bit pattern). */
    boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, BOOL, UINT32, UINT64 -> true;
            default -> false;
        };
    }

    /** Whether constants of this type can be read at all. */
    boolean readable() { return isFloat() || isInteger(); }

    /** Name as ONNX writes it: float, int64, bool... */
    String onnxName() {
        return switch (this) {
            case FLOAT -> "float";
            case DOUBLE -> "double";
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            default -> name().toLowerCase();
        };
    }

    /** The type name for a {@code data_type} number, including types this enum lacks. */
    static String nameOf(int code) {
        ElemType t = of(code);
        return t != null ? t.onnxName() : "data_type " + code;
    }

    /** Wraps an integer to this type's range, as a cast in ONNX (C semantics) does. */
    long wrap(long v) {
        return switch (this) {
            case UINT8 -> v & 0xFF;
            case INT8 -> (byte) v;
            case UINT16 -> v & 0xFFFF;
            case INT16 -> (short) v;
            case INT32 -> (int) v;
            case UINT32 -> v & 0xFFFFFFFFL;
            case BOOL -> v != 0 ? 1 : 0;
            default -> v;
        };
    }
}
