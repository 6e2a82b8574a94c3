package dev.stride.graph;

/** Element type of every floating tensor in a graph. float32 by default; float64 for the reference oracle. */
public enum DType {
    F32(4), F64(8);

    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }
}
