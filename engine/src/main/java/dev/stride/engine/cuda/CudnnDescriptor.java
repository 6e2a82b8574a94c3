package dev.stride.engine.cuda;

import dev.stride.cuda.cudnn.Cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One cuDNN backend (graph API) descriptor: created, given attributes, finalized, destroyed on {@link #close()}.
 * Every failing call throws with cuDNN's status and its last error message (which names the rule that failed, e.g.
 * {@code is_valid_spatial_dim(...)}). Used at load time only: the attribute arrays are staged in a short-lived
 * arena per call.
 */
final class CudnnDescriptor implements AutoCloseable {
    /** A failed cuDNN backend call, with cuDNN's status. */
    static final class CudnnException extends RuntimeException {
        final int status;

        CudnnException(String message, int status) {
            super(message);
            this.status = status;
        }
    }

    final int type;
    final MemorySegment handle;
    private boolean closed;

    private CudnnDescriptor(int type, MemorySegment handle) {
        this.type = type;
        this.handle = handle;
    }

    static CudnnDescriptor create(int type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check(Cudnn.cudnnBackendCreateDescriptor(type, out), "cudnnBackendCreateDescriptor(" + type + ")");
            return new CudnnDescriptor(type, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** Throws unless {@code status} is CUDNN_STATUS_SUCCESS; the message carries cuDNN's own explanation. */
    static void check(int status, String call) {
        if (status == Cudnn.CUDNN_STATUS_SUCCESS()) return;
        throw new CudnnException(call + " failed: " + Cudnn.cudnnGetErrorString(status).getString(0) + lastError(),
                status);
    }

    /** cuDNN's last error message (thread-local, cleared by reading), or "" when it has none. */
    static String lastError() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = a.allocate(1024);
            Cudnn.cudnnGetLastErrorString(msg, msg.byteSize());
            String s = msg.getString(0).strip();
            return s.isEmpty() ? "" : ": " + s;
        }
    }

    CudnnDescriptor longs(int attribute, long... values) {
        try (Arena a = Arena.ofConfined()) {
            return set(attribute, Cudnn.CUDNN_TYPE_INT64(), values.length, a.allocateFrom(ValueLayout.JAVA_LONG, values));
        }
    }

    /** A 4-byte enumerated attribute (data type, convolution mode, heuristics mode, pointwise mode, ...). */
    CudnnDescriptor enumerated(int attribute, int attributeType, int value) {
        try (Arena a = Arena.ofConfined()) {
            return set(attribute, attributeType, 1, a.allocateFrom(ValueLayout.JAVA_INT, value));
        }
    }

    CudnnDescriptor floats(int attribute, float value) {
        try (Arena a = Arena.ofConfined()) {
            return set(attribute, Cudnn.CUDNN_TYPE_FLOAT(), 1, a.allocateFrom(ValueLayout.JAVA_FLOAT, value));
        }
    }

    CudnnDescriptor doubles(int attribute, double value) {
        try (Arena a = Arena.ofConfined()) {
            return set(attribute, Cudnn.CUDNN_TYPE_DOUBLE(), 1, a.allocateFrom(ValueLayout.JAVA_DOUBLE, value));
        }
    }

    CudnnDescriptor bool(int attribute, boolean value) {
        try (Arena a = Arena.ofConfined()) {
            // cudnnBackendAttributeType_t BOOLEAN is a C bool: one byte.
            return set(attribute, Cudnn.CUDNN_TYPE_BOOLEAN(), 1, a.allocateFrom(ValueLayout.JAVA_BYTE, (byte) (value ? 1 : 0)));
        }
    }

    CudnnDescriptor descriptors(int attribute, CudnnDescriptor... values) {
        MemorySegment[] handles = new MemorySegment[values.length];
        for (int i = 0; i < values.length; i++) handles[i] = values[i].handle;
        return pointers(attribute, Cudnn.CUDNN_TYPE_BACKEND_DESCRIPTOR(), handles);
    }

    /** Pointer-valued attributes: descriptors, a cudnnHandle_t, device pointers (VOID_PTR). */
    CudnnDescriptor pointers(int attribute, int attributeType, MemorySegment... values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arr = a.allocate(ValueLayout.ADDRESS, Math.max(1, values.length));
            for (int i = 0; i < values.length; i++) arr.setAtIndex(ValueLayout.ADDRESS, i, values[i]);
            return set(attribute, attributeType, values.length, arr);
        }
    }

    private CudnnDescriptor set(int attribute, int attributeType, long count, MemorySegment values) {
        check(Cudnn.cudnnBackendSetAttribute(handle, attribute, attributeType, count, values),
                "cudnnBackendSetAttribute(attribute " + attribute + ")");
        return this;
    }

    CudnnDescriptor finish() {
        check(Cudnn.cudnnBackendFinalize(handle), "cudnnBackendFinalize(descriptor type " + type + ")");
        return this;
    }

    /** One INT64 attribute. */
    long getLong(int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(ValueLayout.JAVA_LONG), v = a.allocate(ValueLayout.JAVA_LONG);
            check(Cudnn.cudnnBackendGetAttribute(handle, attribute, Cudnn.CUDNN_TYPE_INT64(), 1, count, v),
                    "cudnnBackendGetAttribute(attribute " + attribute + ")");
            return v.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Up to {@code max} 4-byte enumerated values of an attribute (numerical notes, behaviour notes, knob types). */
    int[] getEnums(int attribute, int attributeType, int max) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(ValueLayout.JAVA_LONG), v = a.allocate(ValueLayout.JAVA_INT, Math.max(1, max));
            check(Cudnn.cudnnBackendGetAttribute(handle, attribute, attributeType, max, count, v),
                    "cudnnBackendGetAttribute(attribute " + attribute + ")");
            int n = (int) Math.min(max, count.get(ValueLayout.JAVA_LONG, 0));
            int[] r = new int[n];
            for (int i = 0; i < n; i++) r[i] = v.getAtIndex(ValueLayout.JAVA_INT, i);
            return r;
        }
    }

    /**
     * Descriptor-valued attribute: cuDNN fills descriptors the caller created of {@code elementType}; returns those
     * it filled (the others are destroyed).
     */
    CudnnDescriptor[] getDescriptors(int attribute, int elementType, int max) {
        CudnnDescriptor[] made = new CudnnDescriptor[max];
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < max; i++) made[i] = create(elementType);
            MemorySegment arr = a.allocate(ValueLayout.ADDRESS, Math.max(1, max));
            for (int i = 0; i < max; i++) arr.setAtIndex(ValueLayout.ADDRESS, i, made[i].handle);
            MemorySegment count = a.allocate(ValueLayout.JAVA_LONG);
            check(Cudnn.cudnnBackendGetAttribute(handle, attribute, Cudnn.CUDNN_TYPE_BACKEND_DESCRIPTOR(), max, count,
                    arr), "cudnnBackendGetAttribute(attribute " + attribute + ")");
            int n = (int) Math.min(max, count.get(ValueLayout.JAVA_LONG, 0));
            for (int i = n; i < max; i++) made[i].close();
            CudnnDescriptor[] r = new CudnnDescriptor[n];
            System.arraycopy(made, 0, r, 0, n);
            return r;
        } catch (RuntimeException e) {
            for (CudnnDescriptor d : made) if (d != null) d.close();
            throw e;
        }
    }

    /** How many elements a descriptor-valued attribute holds (asked with a zero-length request). */
    long count(int attribute, int attributeType) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(ValueLayout.JAVA_LONG);
            check(Cudnn.cudnnBackendGetAttribute(handle, attribute, attributeType, 0, count, MemorySegment.NULL),
                    "cudnnBackendGetAttribute(attribute " + attribute + ", count)");
            return count.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        Cudnn.cudnnBackendDestroyDescriptor(handle);
    }
}
