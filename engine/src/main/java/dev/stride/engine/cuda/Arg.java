package dev.stride.engine.cuda;

/**
 * One argument of a kernel launch, by value, in the C type of the kernel's parameter: a device pointer
 * ({@code const float*}, {@code float*}, {@code const long long*}), {@code int}, {@code long long} (and
 * {@code unsigned long long}: the same 64 bits), {@code float} or {@code double}. The kinds must match the kernel's
 * signature exactly: nothing checks them against the CUDA C source (the emulated device builds its call from
 * them, the GPU copies their bytes), so a mismatch is undefined behaviour. Kernel families keep the Java call next
 * to a comment with the C signature.
 */
public sealed interface Arg {
    /** A device address: from {@link Device#alloc}, {@link CudaNode#in}/{@link CudaNode#out}, or an offset into one. */
    record Ptr(long address) implements Arg {}

    record I32(int value) implements Arg {}

    record I64(long value) implements Arg {}

    record F32(float value) implements Arg {}

    record F64(double value) implements Arg {}

    static Arg ptr(long address) { return new Ptr(address); }

    static Arg i32(int value) { return new I32(value); }

    static Arg i64(long value) { return new I64(value); }

    static Arg f32(float value) { return new F32(value); }

    static Arg f64(double value) { return new F64(value); }

    /** Bytes of the value in a kernel's parameter buffer (CUDA passes each at its natural alignment). */
    default int bytes() {
        return switch (this) {
            case I32 a -> 4;
            case F32 a -> 4;
            default -> 8;
        };
    }
}
