package dev.stride.graph.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The framing every Stride binary file shares (plan files, checkpoints): little-endian, a fixed 24-byte header
 * followed by the body.
 * <table>
 *   <caption>Header</caption>
 *   <tr><th>offset</th><th>bytes</th><th>field</th></tr>
 *   <tr><td>0</td><td>8</td><td>magic, 8 ASCII characters naming the kind of file</td></tr>
 *   <tr><td>8</td><td>4</td><td>format version, u32</td></tr>
 *   <tr><td>12</td><td>4</td><td>CRC32C of the body, u32</td></tr>
 *   <tr><td>16</td><td>8</td><td>body length n, u64; the file is exactly 24 + n bytes</td></tr>
 *   <tr><td>24</td><td>n</td><td>body</td></tr>
 * </table>
 * Reading checks, in this order, the magic, the version (newer than this build, or 0), that the header and the
 * announced body are all there, that nothing follows the body, and the checksum; then it hands out a
 * {@link BodyReader} over the body. A file is limited to what one Java array holds (just under 2 GiB). One instance
 * describes one format; its failures are that format's exception {@code E}.
 */
public final class FramedFile<E extends FileFormatException> {
    public static final int HEADER_BYTES = 24;
    /** The largest array the JVM reliably allocates: the cap on a whole file. */
    public static final int MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    private static final int MAGIC_BYTES = 8;

    private final byte[] magic;
    private final String magicText;
    private final int version;
    private final String kind;
    private final String noun;
    private final FileFormatException.Factory<E> failure;

    /**
     * @param magic   the 8 ASCII characters a file starts with, e.g. {@code STRIDEPL}
     * @param version the format version written, and the newest one read
     * @param kind    names the format in messages: "plan" gives "plan format version 2 is newer ..."
     * @param noun    what a file is called in messages: "plan file" gives "not a Stride plan file ..."
     * @param failure makes the format's exception
     */
    public FramedFile(String magic, int version, String kind, String noun, FileFormatException.Factory<E> failure) {
        this.magic = magic.getBytes(StandardCharsets.US_ASCII);
        if (this.magic.length != MAGIC_BYTES || !magic.equals(new String(this.magic, StandardCharsets.US_ASCII)))
            throw new IllegalArgumentException("magic must be " + MAGIC_BYTES + " ASCII characters: '" + magic + "'");
        if (version < 1) throw new IllegalArgumentException("format version must be >= 1: " + version);
        this.magicText = magic;
        this.version = version;
        this.kind = kind;
        this.noun = noun;
        this.failure = failure;
    }

    // ------------------------------------------------------------------------------------------------ write

    /** A writer for a new file's body; {@code bodyBytesHint} presizes it (0 when unknown: it grows). */
    public BodyWriter writer(int bodyBytesHint) {
        return new BodyWriter((int) Math.min(MAX_FILE_BYTES, (long) HEADER_BYTES + Math.max(0, bodyBytesHint)),
                kind + " is larger than a " + noun + " can hold (" + MAX_FILE_BYTES + " bytes)");
    }

    /**
     * The whole file: the header for the body written so far, then the body. The writer is finished: when it was
     * sized exactly, its buffer is the array returned.
     */
    public byte[] toBytes(BodyWriter body) {
        int bodyLength = body.bodyLength();
        System.arraycopy(magic, 0, body.buf, 0, MAGIC_BYTES);
        body.putI32(8, version);
        CRC32C crc = new CRC32C();
        crc.update(body.buf, HEADER_BYTES, bodyLength);
        body.putI32(12, (int) crc.getValue());
        body.putI64(16, bodyLength);
        return body.n == body.buf.length ? body.buf : Arrays.copyOf(body.buf, body.n);
    }

    // ------------------------------------------------------------------------------------------------- read

    /** Reads a whole file and checks its framing; never allocates more than the file's actual size. */
    public BodyReader<E> read(Path file) throws IOException {
        String source = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE_BYTES) {
                // Say first what kind of file it is, then that it is too big; never allocate its size.
                checkHeader(readUpTo(ch, HEADER_BYTES), size, source);
                throw failure.create(source, "file is " + size + " bytes; a " + noun + " holds at most "
                        + MAX_FILE_BYTES, null);
            }
            return open(readUpTo(ch, (int) size), source);
        }
    }

    /** Reads from the start until {@code max} bytes or the end of the file (it may shrink while we read). */
    private static byte[] readUpTo(FileChannel ch, int max) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(max);
        long pos = 0;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) break;
            pos += r;
        }
        return buf.position() == max ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
    }

    /** Checks the framing of a whole file held in {@code file}; the reader covers exactly its body. */
    public BodyReader<E> open(byte[] file, String source) throws E {
        long bodyLength = checkHeader(file, file.length, source);
        CRC32C crc = new CRC32C();
        crc.update(file, HEADER_BYTES, (int) bodyLength);
        if ((int) crc.getValue() != (int) u32(file, 12))
            throw failure.create(source, "checksum mismatch: file is corrupted", null);
        return new BodyReader<>(ByteBuffer.wrap(file, HEADER_BYTES, (int) bodyLength), source, failure);
    }

    /**
     * Checks magic, version and length against a file of {@code fileSize} bytes that starts with {@code head};
     * returns the body length. The version is judged as soon as it is there, before a short header is.
     */
    private long checkHeader(byte[] head, long fileSize, String source) throws E {
        if (head.length == 0) throw failure.create(source, "not a Stride " + noun + " (the file is empty)", null);
        int seen = Math.min(head.length, MAGIC_BYTES);
        if (!Arrays.equals(head, 0, seen, magic, 0, seen))
            throw failure.create(source, "not a Stride " + noun + " (it does not start with \"" + magicText + "\")", null);
        if (head.length < 12) throw shortHeader(source, fileSize);
        long v = u32(head, 8);
        if (v > version)
            throw failure.create(source, kind + " format version " + v + " is newer than this Stride supports ("
                    + version + "); upgrade Stride", null);
        if (v < 1) throw failure.create(source, kind + " format version " + v + " is not valid", null);
        if (head.length < HEADER_BYTES) throw shortHeader(source, fileSize);
        long body = u32(head, 16) | u32(head, 20) << 32;
        long present = fileSize - HEADER_BYTES;
        if (body < 0 || body > present)
            throw failure.create(source, "file is truncated: header says body is " + Long.toUnsignedString(body)
                    + " bytes, file has " + present, null);
        if (body < present)
            throw failure.create(source, "file has " + (present - body) + " bytes after the " + body
                    + "-byte body the header announces", null);
        return body;
    }

    private E shortHeader(String source, long fileSize) {
        return failure.create(source, "file is truncated: " + fileSize + " bytes, shorter than the " + HEADER_BYTES
                + "-byte header", null);
    }

    private static long u32(byte[] b, int at) {
        long v = 0;
        for (int i = 3; i >= 0; i--) v = v << 8 | (b[at + i] & 0xFF);
        return v;
    }
}
