package dev.stride.zoo.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Builds IDX files byte by byte for the tests, independently of {@link Idx}, including malformed ones. */
final class IdxBytes {
    private IdxBytes() {}

    /** A header with the given magic bytes and dimensions, each written as a big-endian unsigned 32-bit number. */
    static byte[] header(int zero0, int zero1, int type, int rank, long... dims) {
        var out = new ByteArrayOutputStream();
        out.write(zero0);
        out.write(zero1);
        out.write(type);
        out.write(rank);
        for (long d : dims) {
            out.write((int) (d >>> 24));
            out.write((int) (d >>> 16));
            out.write((int) (d >>> 8));
            out.write((int) d);
        }
        return out.toByteArray();
    }

    /** A well-formed unsigned-byte IDX file: header for {@code dims}, then {@code payload} (not checked). */
    static byte[] idx(long[] dims, byte[] payload) {
        return concat(header(0, 0, Idx.TYPE_UBYTE, dims.length, dims), payload);
    }

    static byte[] idx(int[] dims, byte[] payload) {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = dims[i];
        return idx(d, payload);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    static byte[] gzip(byte[] content) {
        var bytes = new ByteArrayOutputStream();
        try (var gz = new GZIPOutputStream(bytes)) {
            gz.write(content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Path write(Path dir, String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    /** Runs {@code body} on a fresh temporary file holding {@code content}, then deletes it (jqwik has no @TempDir). */
    static <T> T withFile(String name, byte[] content, IOFunction<T> body) throws IOException {
        Path dir = Files.createTempDirectory("stride-idx");
        Path file = write(dir, name, content);
        try {
            return body.apply(file);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    interface IOFunction<T> {
        T apply(Path file) throws IOException;
    }
}
