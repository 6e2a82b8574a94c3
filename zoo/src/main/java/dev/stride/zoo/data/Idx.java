package dev.stride.zoo.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reader for IDX files, the format of MNIST and Fashion-MNIST: a big-endian header {@code 0x00 0x00 type rank}
 * followed by {@code rank} unsigned 32-bit dimensions, then the payload. Only type {@code 0x08} (unsigned byte)
 * is supported, which is what those datasets use. Files may be gzipped; that is detected from the content (the
 * {@code 0x1f 0x8b} magic), not the file name.
 *
 * <p>Every field is checked before it is trusted, and the payload is never allocated from the header alone: a raw
 * file's header must agree with the file's real size, and a gzipped file's with a decompression-ratio bound, so a
 * corrupt or hostile file fails with a message instead of an {@link OutOfMemoryError}.
 */
public final class Idx {
    private Idx() {}

    /** The only element type supported: unsigned byte. */
    public static final int TYPE_UBYTE = 0x08;
    public static final int MAX_RANK = 4;
    /** Largest array the JVM reliably allocates. */
    static final long MAX_PAYLOAD = Integer.MAX_VALUE - 8;
    /**
     * Largest believable expansion of a gzipped file. Deflate tops out near 1032:1 on constant data, but real
     * images compress 3-10x; 64x plus a fixed 1 MiB leaves a wide margin for small, very regular files.
     */
    static final long MAX_GZIP_RATIO = 64;
    static final long GZIP_SLACK = 1 << 20;

    /** A malformed IDX file. The message names the file, the field, what it held and what was expected. */
    public static final class FormatException extends IOException {
        public FormatException(String message) { super(message); }

        public FormatException(String message, Throwable cause) { super(message, cause); }
    }

    /**
     * An IDX tensor of unsigned bytes.
     *
     * @param dims dimensions, outermost first (for MNIST images: count, rows, columns)
     * @param data the payload, row-major; read elements with {@link #get(int)}
     */
    public record Data(int[] dims, byte[] data) {
        /** Element {@code i} as an unsigned value 0..255. */
        public int get(int i) { return Byte.toUnsignedInt(data[i]); }

        public int rank() { return dims.length; }

        @Override public String toString() { return "Idx.Data" + Arrays.toString(dims); }
    }

    public static Data read(Path file) throws IOException {
        String name = String.valueOf(file.getFileName());
        long fileSize = Files.size(file);
        boolean gzip;
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(2);
            gzip = head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
             InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw) {
            return read(name, in, fileSize, gzip);
        } catch (ZipException e) {
            // Bad gzip header, corrupt deflate data or a CRC mismatch: a problem of this file, not of the disk.
            throw new FormatException(name + ": corrupt gzip stream" + detail(e), e);
        } catch (EOFException e) {
            throw new FormatException(name + ": gzip stream ends early, the file is truncated" + detail(e), e);
        }
    }

    private static Data read(String name, InputStream in, long fileSize, boolean gzip) throws IOException {
        byte[] magic = in.readNBytes(4);
        if (magic.length < 4)
            throw new FormatException(name + ": header is " + magic.length + " bytes, expected at least 4");
        for (int i = 0; i < 2; i++) {
            if (magic[i] != 0)
                throw new FormatException(String.format("%s: magic byte %d is 0x%02x, expected 0x00", name, i,
                        magic[i] & 0xff));
        }
        int type = magic[2] & 0xff;
        if (type != TYPE_UBYTE)
            throw new FormatException(String.format("%s: element type is 0x%02x, expected 0x%02x (unsigned byte)",
                    name, type, TYPE_UBYTE));
        int rank = magic[3] & 0xff;
        if (rank < 1 || rank > MAX_RANK)
            throw new FormatException(name + ": rank is " + rank + ", expected 1 to " + MAX_RANK);

        byte[] dimBytes = in.readNBytes(4 * rank);
        if (dimBytes.length < 4 * rank)
            throw new FormatException(name + ": header ends after " + (4 + dimBytes.length) + " bytes, expected "
                    + (4 + 4 * rank) + " for rank " + rank);
        long[] raw = new long[rank];
        for (int i = 0; i < rank; i++) {
            raw[i] = ((dimBytes[4 * i] & 0xffL) << 24) | ((dimBytes[4 * i + 1] & 0xffL) << 16)
                    | ((dimBytes[4 * i + 2] & 0xffL) << 8) | (dimBytes[4 * i + 3] & 0xffL);
            if (raw[i] == 0) throw new FormatException(name + ": dimension " + i + " is 0, expected > 0");
        }
        int[] dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++) {
            dims[i] = (int) Math.min(raw[i], Integer.MAX_VALUE);
            // count <= MAX_PAYLOAD < 2^31 before and raw[i] < 2^32, so the product cannot overflow a long.
            count *= raw[i];
            if (count > MAX_PAYLOAD)
                throw new FormatException(name + ": element count " + Arrays.toString(raw) + " = " + product(raw)
                        + " exceeds " + MAX_PAYLOAD + ", the largest supported payload");
        }
        long header = 4 + 4L * rank;

        if (!gzip) {
            long present = fileSize - header;
            if (present != count)
                throw new FormatException(name + ": payload is " + present + " bytes, expected " + count + " ("
                        + Arrays.toString(dims) + ")");
        } else {
            long bound = MAX_GZIP_RATIO * fileSize + GZIP_SLACK;
            if (header + count > bound)
                throw new FormatException(name + ": header claims " + count + " bytes (" + Arrays.toString(dims)
                        + ") from " + fileSize + " compressed bytes, more than the plausible " + bound
                        + " (" + MAX_GZIP_RATIO + "x + 1 MiB)");
        }

        byte[] data = new byte[(int) count];
        int got = in.readNBytes(data, 0, data.length);
        if (got < count)
            throw new FormatException(name + ": payload ends after " + got + " bytes, expected " + count + " ("
                    + Arrays.toString(dims) + ")");
        if (in.read() != -1)
            throw new FormatException(name + ": trailing data after the " + count + "-byte payload, expected end of "
                    + (gzip ? "stream" : "file"));
        return new Data(dims, data);
    }

    /** The JDK's reason in parentheses; it has none when the gzip header itself is cut short. */
    private static String detail(IOException e) {
        return e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
    }

    /** Exact product of the header's dimensions, for the message (it may exceed a long's range). */
    private static java.math.BigInteger product(long[] dims) {
        var p = java.math.BigInteger.ONE;
        for (long d : dims) p = p.multiply(java.math.BigInteger.valueOf(d));
        return p;
    }
}
