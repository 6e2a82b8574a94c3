package dev.stride.zoo.data;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.stride.zoo.data.IdxBytes.concat;
import static dev.stride.zoo.data.IdxBytes.gzip;
import static dev.stride.zoo.data.IdxBytes.header;
import static dev.stride.zoo.data.IdxBytes.idx;
import static dev.stride.zoo.data.IdxBytes.withFile;
import static dev.stride.zoo.data.IdxBytes.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class IdxTest {
    @TempDir Path dir;

    // ---- well-formed files ----

    /** Any rank 1..4, raw or gzipped, under a name that may or may not end in .gz: dims and bytes come back. */
    @Property(tries = 60)
    void roundTripsEveryRankRawAndGzipped(@ForAll @Size(min = 1, max = 4) List<@IntRange(min = 1, max = 5) Integer> dimList,
                                          @ForAll boolean gzipped, @ForAll boolean gzName, @ForAll long seed)
            throws IOException {
        int[] dims = dimList.stream().mapToInt(Integer::intValue).toArray();
        int n = Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        byte[] payload = new byte[n];
        new java.util.SplittableRandom(seed).nextBytes(payload);
        byte[] file = idx(dims, payload);
        Idx.Data d = withFile(gzName ? "t.idx.gz" : "t.idx", gzipped ? gzip(file) : file, Idx::read);
        assertArrayEquals(dims, d.dims());
        assertEquals(dims.length, d.rank());
        assertArrayEquals(payload, d.data());
        for (int i = 0; i < n; i++) assertEquals(payload[i] & 0xff, d.get(i), "element " + i);
    }

    @Test
    void elementsAreUnsignedAndRowMajor() throws IOException {
        byte[] payload = {0, 1, 127, (byte) 128, (byte) 200, (byte) 255};
        Idx.Data d = Idx.read(write(dir, "u", idx(new int[] {2, 3}, payload)));
        assertArrayEquals(new int[] {2, 3}, d.dims());
        assertEquals(List.of(0, 1, 127, 128, 200, 255),
                List.of(d.get(0), d.get(1), d.get(2), d.get(3), d.get(4), d.get(5)));
    }

    @Test
    void gzipIsDetectedByContentNotName() throws IOException {
        byte[] file = idx(new int[] {4}, new byte[] {9, 8, 7, 6});
        // Gzipped content without a .gz name, and raw content that is named .gz: both read by content.
        Idx.Data a = Idx.read(write(dir, "labels-idx1-ubyte", gzip(file)));
        Idx.Data b = Idx.read(write(dir, "labels-idx1-ubyte.gz", file));
        assertArrayEquals(new byte[] {9, 8, 7, 6}, a.data());
        assertArrayEquals(new byte[] {9, 8, 7, 6}, b.data());
    }

    // ---- malformed headers: the same checks whether or not the file is gzipped ----

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void badMagicBytes(boolean gz) throws IOException {
        expectFormat(gz, "magic0", concat(header(1, 0, 8, 1, 2), new byte[2]), "magic byte 0 is 0x01, expected 0x00");
        expectFormat(gz, "magic1", concat(header(0, 0x80, 8, 1, 2), new byte[2]), "magic byte 1 is 0x80, expected 0x00");
    }

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void unsupportedElementType(boolean gz) throws IOException {
        // 0x09 signed byte, 0x0D float: legal IDX, but not what MNIST uses.
        expectFormat(gz, "type9", concat(header(0, 0, 0x09, 1, 2), new byte[2]), "element type is 0x09, expected 0x08");
        expectFormat(gz, "type13", concat(header(0, 0, 0x0D, 1, 1), new byte[4]), "element type is 0x0d");
    }

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void rankOutsideOneToFour(boolean gz) throws IOException {
        expectFormat(gz, "rank0", header(0, 0, 8, 0), "rank is 0, expected 1 to 4");
        expectFormat(gz, "rank5", concat(header(0, 0, 8, 5, 1, 1, 1, 1, 1), new byte[1]), "rank is 5, expected 1 to 4");
    }

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void zeroDimension(boolean gz) throws IOException {
        expectFormat(gz, "zerodim", header(0, 0, 8, 3, 2, 3, 0), "dimension 2 is 0, expected > 0");
    }

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void headerTruncated(boolean gz) throws IOException {
        expectFormat(gz, "short-magic", new byte[] {0, 0, 8}, "header is 3 bytes, expected at least 4");
        expectFormat(gz, "empty", new byte[0], "header is 0 bytes");
        // Rank 3 announces 16 header bytes; the file stops inside the third dimension.
        byte[] h = header(0, 0, 8, 3, 2, 3, 4);
        expectFormat(gz, "short-dims", Arrays.copyOf(h, 14), "header ends after 14 bytes, expected 16 for rank 3");
    }

    // ---- payload size ----

    @Test
    void payloadTruncatedRaw() throws IOException {
        expectFormat(false, "short.raw", idx(new int[] {2, 3}, new byte[5]), "payload is 5 bytes, expected 6");
    }

    @Test
    void payloadTruncatedInsideGzip() throws IOException {
        // A valid gzip stream whose content stops one byte short.
        expectFormat(true, "short.gz", idx(new int[] {2, 3}, new byte[5]), "payload ends after 5 bytes, expected 6");
    }

    @Test
    void trailingBytesRaw() throws IOException {
        expectFormat(false, "long.raw", idx(new int[] {2, 3}, new byte[7]), "payload is 7 bytes, expected 6");
    }

    @Test
    void trailingBytesInsideGzip() throws IOException {
        expectFormat(true, "long.gz", idx(new int[] {2, 3}, new byte[7]), "trailing data after the 6-byte payload");
    }

    // ---- corrupt gzip container ----

    @Test
    void corruptDeflateData() throws IOException {
        byte[] z = gzip(idx(new int[] {3}, new byte[] {1, 2, 3}));
        z[10] = 0x07;   // first deflate byte: BFINAL=1, BTYPE=11, a reserved block type
        expectFormat(false, "badblock.gz", z, "corrupt gzip stream");
    }

    @Test
    void corruptGzipChecksum() throws IOException {
        byte[] z = gzip(idx(new int[] {3}, new byte[] {1, 2, 3}));
        z[z.length - 8] ^= 1;   // CRC-32 in the trailer
        expectFormat(false, "badcrc.gz", z, "corrupt gzip stream");
    }

    @Test
    void unsupportedGzipMethod() throws IOException {
        byte[] z = gzip(idx(new int[] {3}, new byte[] {1, 2, 3}));
        z[2] = 7;   // compression method must be 8 (deflate)
        expectFormat(false, "badmethod.gz", z, "corrupt gzip stream");
    }

    @Test
    void truncatedGzipStream() throws IOException {
        byte[] z = gzip(idx(new int[] {3}, new byte[] {1, 2, 3}));
        // Cut in the trailer, and inside the gzip header (where the JDK's EOFException has no message).
        for (String m : List.of(expectFormat(false, "cut.gz", Arrays.copyOf(z, z.length - 4), "gzip stream ends early"),
                expectFormat(false, "headonly.gz", Arrays.copyOf(z, 5), "gzip stream ends early")))
            assertFalse(m.contains("null"), m);
    }

    /** Every proper prefix of a valid file, raw or gzipped, is rejected with a FormatException naming the file. */
    @Property(tries = 40)
    void everyTruncationIsAFormatError(@ForAll boolean gz, @ForAll @IntRange(min = 0, max = 10_000) int cutSeed)
            throws IOException {
        byte[] payload = new byte[120];
        new java.util.SplittableRandom(cutSeed).nextBytes(payload);
        byte[] full = idx(new int[] {2, 3, 4, 5}, payload);
        if (gz) full = gzip(full);
        byte[] cut = Arrays.copyOf(full, cutSeed % full.length);
        var e = assertThrows(Idx.FormatException.class, () -> withFile("cut", cut, Idx::read));
        assertTrue(e.getMessage().startsWith("cut: "), e.getMessage());
    }

    /**
     * Flipping any one byte of a gzipped file either leaves the data intact or gives a FormatException; it never returns different data or throws anything else.
     */
    @Property(tries = 60)
    void singleByteCorruptionOfGzipIsDetectedOrHarmless(@ForAll @IntRange(min = 0, max = 1 << 20) int pos,
                                                         @ForAll @IntRange(min = 1, max = 255) int xor) throws IOException {
        byte[] payload = new byte[60];
        for (int i = 0; i < payload.length; i++) payload[i] = (byte) (i * 37);
        byte[] z = gzip(idx(new int[] {3, 4, 5}, payload));
        int at = pos % z.length;
        z[at] ^= (byte) xor;
        try {
            Idx.Data d = withFile("flip.gz", z, Idx::read);
            // Unchecked bytes exist: the header's time stamp, extra-flags and OS bytes, the text flag, the
            // padding bits after the last deflate block. CRC-32 over the output catches any change to the data.
            assertArrayEquals(payload, d.data(), "byte " + at + " changed the data without an error");
        } catch (Idx.FormatException e) {
            assertTrue(e.getMessage().startsWith("flip.gz: "), e.getMessage());
        }
    }

    // ---- headers that claim more than the file can hold: rejected before allocating ----

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void twoToThe31ElementsIsRejected(boolean gz) throws IOException {
        // 65536 * 32768 = 2^31, one more than any Java array holds.
        expectFormat(gz, "huge31", concat(header(0, 0, 8, 2, 65536, 32768), new byte[16]),
                "element count [65536, 32768] = 2147483648 exceeds");
    }

    @ParameterizedTest(name = "gzip={0}")
    @ValueSource(booleans = {false, true})
    void maximalDimensionsReportTheExactProduct(boolean gz) throws IOException {
        long m = 0xFFFF_FFFFL;
        // (2^32-1)^4 overflows a long; the message gives the exact value.
        String product = java.math.BigInteger.valueOf(m).pow(4).toString();
        expectFormat(gz, "huge4", concat(header(0, 0, 8, 4, m, m, m, m), new byte[8]),
                "element count [4294967295, 4294967295, 4294967295, 4294967295] = " + product);
    }

    @Test
    void largeClaimWithTinyRawFileIsRejectedBySize() throws IOException {
        // Below the array limit, but the file is 10 bytes, not 2 GB: caught from the file size, nothing allocated.
        expectFormat(false, "big.raw", concat(header(0, 0, 8, 3, 60000, 180, 180), new byte[10]),
                "payload is 10 bytes, expected 1944000000");
        expectFormat(false, "big2.raw", concat(header(0, 0, 8, 3, 60000, 28, 28), new byte[10]),
                "payload is 10 bytes, expected 47040000");
    }

    @Test
    void largeClaimWithTinyGzipFileIsRejectedByRatio() throws IOException {
        expectFormat(true, "big.gz", concat(header(0, 0, 8, 3, 60000, 28, 28), new byte[10]),
                "header claims 47040000 bytes ([60000, 28, 28])");
    }

    /**
     * Random headers (any rank byte, any 32-bit dimensions, biased towards 0, 1 and huge values) with small
     * payloads: reading either succeeds with a payload of exactly the claimed size, or fails with a FormatException
     * naming the file. Never an OutOfMemoryError, NegativeArraySizeException or other surprise.
     */
    @Property(tries = 300)
    void randomHeadersOnlyEverGiveFormatException(@ForAll @IntRange(min = 0, max = 6) int rank,
                                                  @ForAll("dims") List<Long> dims,
                                                  @ForAll @Size(max = 64) List<Byte> payload,
                                                  @ForAll boolean gz) {
        long[] d = dims.stream().limit(rank).mapToLong(Long::longValue).toArray();
        byte[] p = new byte[payload.size()];
        for (int i = 0; i < p.length; i++) p[i] = payload.get(i);
        byte[] file = concat(header(0, 0, 8, rank, d), p);
        try {
            Idx.Data data = withFile("rnd", gz ? gzip(file) : file, Idx::read);
            long product = 1;
            for (long x : d) product *= x;
            assertEquals(rank, d.length);
            assertEquals(product, data.data().length);
            assertArrayEquals(p, data.data());
        } catch (Idx.FormatException e) {
            assertTrue(e.getMessage().startsWith("rnd: "), e.getMessage());
        } catch (Throwable t) {
            fail("header rank " + rank + " dims " + Arrays.toString(d) + " payload " + p.length + " gz " + gz
                    + " threw " + t, t);
        }
    }

    @Provide
    Arbitrary<List<Long>> dims() {
        Arbitrary<Long> one = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.longs().between(0, 8)),
                net.jqwik.api.Tuple.of(2, Arbitraries.longs().between(0, 0xFFFF_FFFFL)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 65536L, 1L << 20)));
        return one.list().ofSize(6);
    }

    /** Arbitrary bytes behind a valid magic: only data or a FormatException, never another exception. */
    @Property(tries = 200)
    void arbitraryBytesAfterMagic(@ForAll @Size(max = 40) List<Byte> rest, @ForAll @IntRange(min = 1, max = 4) int rank,
                                  @ForAll boolean gz) {
        byte[] body = new byte[rest.size()];
        for (int i = 0; i < body.length; i++) body[i] = rest.get(i);
        byte[] file = concat(new byte[] {0, 0, 8, (byte) rank}, body);
        try {
            withFile("any", gz ? gzip(file) : file, Idx::read);
        } catch (Idx.FormatException e) {
            assertTrue(e.getMessage().startsWith("any: "), e.getMessage());
        } catch (Throwable t) {
            fail("threw " + t, t);
        }
    }

    /** Writes {@code content} (gzipped if asked) as {@code name} and expects a FormatException naming both. */
    private String expectFormat(boolean gz, String name, byte[] content, String fragment) throws IOException {
        String fileName = name + (gz ? "-gz" : "");
        Path file = write(dir, fileName, gz ? gzip(content) : content);
        var e = assertThrows(Idx.FormatException.class, () -> Idx.read(file), fileName);
        assertTrue(e.getMessage().startsWith(fileName + ": "), "message should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
        return e.getMessage();
    }
}
