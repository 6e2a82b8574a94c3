package dev.stride.graph.io;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable little-endian buffer for the body of a {@link FramedFile}, the counterpart of {@link BodyReader}:
 * {@code i32}, {@code i64}, {@code f64} (raw IEEE bits, so NaN payloads survive), {@code bool} (one byte, 0 or 1),
 * {@code str} (i32 byte count, then UTF-8), arrays and {@code bytes} (i32 count, then the elements). It starts
 * with room for the header, which {@link FramedFile#toBytes} fills in, so the file is never copied to prepend it.
 */
public final class BodyWriter {
    private final String tooLarge;
    byte[] buf;
    int n = FramedFile.HEADER_BYTES;

    BodyWriter(int capacity, String tooLarge) {
        this.buf = new byte[Math.max(capacity, FramedFile.HEADER_BYTES)];
        this.tooLarge = tooLarge;
    }

    /** Bytes of body written so far. */
    public int bodyLength() { return n - FramedFile.HEADER_BYTES; }

    private void ensure(int k) {
        long need = (long) n + k;
        if (need > FramedFile.MAX_FILE_BYTES) throw new IllegalArgumentException(tooLarge);
        if (need > buf.length)
            buf = Arrays.copyOf(buf, (int) Math.min(FramedFile.MAX_FILE_BYTES, Math.max(need, 2L * buf.length)));
    }

    public BodyWriter u8(int v) { ensure(1); buf[n++] = (byte) v; return this; }

    public BodyWriter bool(boolean v) { return u8(v ? 1 : 0); }

    public BodyWriter i32(int v) { ensure(4); putI32(n, v); n += 4; return this; }

    public BodyWriter i64(long v) { ensure(8); putI64(n, v); n += 8; return this; }

    public BodyWriter f64(double v) { return i64(Double.doubleToRawLongBits(v)); }

    /** The bytes as they are, without a count. */
    public BodyWriter raw(byte[] b) { ensure(b.length); System.arraycopy(b, 0, buf, n, b.length); n += b.length; return this; }

    /** An i32 count, then the bytes: what {@link BodyReader#bytes} reads. */
    public BodyWriter bytes(byte[] b) { return i32(b.length).raw(b); }

    public BodyWriter str(String s) { return bytes(s.getBytes(StandardCharsets.UTF_8)); }

    public BodyWriter ints(int[] a) { i32(a.length); for (int v : a) i32(v); return this; }

    public BodyWriter longs(long[] a) { i32(a.length); for (long v : a) i64(v); return this; }

    public BodyWriter doubles(double[] a) { i32(a.length); for (double v : a) f64(v); return this; }

    void putI32(int at, int v) { for (int i = 0; i < 4; i++) buf[at + i] = (byte) (v >>> (8 * i)); }

    void putI64(int at, long v) { for (int i = 0; i < 8; i++) buf[at + i] = (byte) (v >>> (8 * i)); }
}
