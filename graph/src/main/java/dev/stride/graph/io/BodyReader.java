package dev.stride.graph.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A bounds-checked little-endian reader over the body of a {@link FramedFile}, the counterpart of
 * {@link BodyWriter}. It trusts nothing: every read checks that the bytes are there, every count is checked against
 * the bytes that remain before anything is allocated for it, strings must be valid UTF-8 and booleans 0 or 1.
 * Every failure is the format's own exception {@code E}, naming the source and the body offset.
 */
public final class BodyReader<E extends FileFormatException> {
    private final ByteBuffer b;
    private final String source;
    private final FileFormatException.Factory<E> failure;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);

    BodyReader(ByteBuffer body, String source, FileFormatException.Factory<E> failure) {
        this.b = body.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
        this.failure = failure;
    }

    public String source() { return source; }

    public E fail(String problem) { return failure.create(source, problem, null); }

    public E fail(String problem, Throwable cause) { return failure.create(source, problem, cause); }

    /** The offset of the next read within the body. */
    public int position() { return b.position(); }

    /** There are no bytes left after the content: anything more is an error. */
    public void end() throws E {
        if (b.hasRemaining())
            throw fail(b.remaining() + " unexpected bytes after the end of the content at offset " + b.position());
    }

    private void need(int k, String what) throws E {
        if (b.remaining() < k) throw fail("body ends at offset " + b.position() + " in the middle of " + what);
    }

    public int u8(String what) throws E { need(1, what); return b.get() & 0xFF; }

    public int i32(String what) throws E { need(4, what); return b.getInt(); }

    public long i64(String what) throws E { need(8, what); return b.getLong(); }

    public double f64(String what) throws E { return Double.longBitsToDouble(i64(what)); }

    public boolean bool(String what) throws E {
        int v = u8(what);
        if (v > 1) throw fail(what + " is " + v + " at offset " + (b.position() - 1) + "; a boolean is 0 or 1");
        return v == 1;
    }

    /**
     * A count of elements that each take at least {@code minBytes} of the body: checked against what remains
     * before the caller allocates anything for it.
     */
    public int count(String what, int minBytes) throws E {
        int at = b.position();
        int n = i32(what + " count");
        if (n < 0 || (long) n * minBytes > b.remaining())
            throw fail(what + " count " + n + " at offset " + at + " is impossible: only " + b.remaining()
                    + " bytes remain");
        return n;
    }

    public String str(String what) throws E {
        int n = count(what + " length", 1);
        int at = b.position();
        ByteBuffer slice = b.slice(at, n);
        b.position(at + n);
        try {
            return utf8.decode(slice).toString();   // decode(ByteBuffer) resets the decoder first
        } catch (CharacterCodingException e) {
            throw fail(what + " at offset " + at + " is not valid UTF-8");
        }
    }

    public int[] ints(String what) throws E {
        int[] a = new int[count(what, 4)];
        for (int i = 0; i < a.length; i++) a[i] = b.getInt();
        return a;
    }

    public long[] longs(String what) throws E {
        long[] a = new long[count(what, 8)];
        for (int i = 0; i < a.length; i++) a[i] = b.getLong();
        return a;
    }

    public double[] doubles(String what) throws E {
        double[] a = new double[count(what, 8)];
        for (int i = 0; i < a.length; i++) a[i] = Double.longBitsToDouble(b.getLong());
        return a;
    }

    public byte[] bytes(String what) throws E {
        byte[] a = new byte[count(what, 1)];
        b.get(a);
        return a;
    }

    /** A str holding the name of one of {@code type}'s constants. */
    public <T extends Enum<T>> T enumName(Class<T> type, String what) throws E {
        String s = str(what);
        for (T e : type.getEnumConstants()) if (e.name().equals(s)) return e;
        throw fail(what + " '" + s + "' is not one of " + Arrays.toString(type.getEnumConstants()));
    }
}
