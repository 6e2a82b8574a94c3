package dev.stride.graph.io;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared framing and body codec, on a made-up format: the layout by hand, and every message it gives. */
class FramedFileTest {
    static final class WidgetException extends FileFormatException {
        WidgetException(String source, String problem, Throwable cause) { super(source, problem, cause); }
    }

    static final FramedFile<WidgetException> WIDGET =
            new FramedFile<>("WIDGET01", 3, "widget", "widget file", WidgetException::new);

    /** A file laid out by hand from the header table, independently of {@link FramedFile#toBytes}. */
    static byte[] byHand(int version, byte[] body) {
        CRC32C crc = new CRC32C();
        crc.update(body);
        return ByteBuffer.allocate(24 + body.length).order(ByteOrder.LITTLE_ENDIAN)
                .put("WIDGET01".getBytes(StandardCharsets.US_ASCII)).putInt(version).putInt((int) crc.getValue())
                .putLong(body.length).put(body).array();
    }

    static String problem(byte[] file) {
        return assertThrows(WidgetException.class, () -> WIDGET.open(file, "w")).problem();
    }

    @Test
    void writesTheDocumentedLayout() {
        BodyWriter w = WIDGET.writer(0);
        w.u8(0xAB).bool(true).i32(-2).i64(1L << 40).f64(1.5).str("é").ints(new int[] {7}).longs(new long[0])
                .doubles(new double[] {-0.0}).bytes(new byte[] {9, 8}).raw(new byte[] {5});
        byte[] body = ByteBuffer.allocate(1 + 1 + 4 + 8 + 8 + 6 + 8 + 4 + 12 + 6 + 1).order(ByteOrder.LITTLE_ENDIAN)
                .put((byte) 0xAB).put((byte) 1).putInt(-2).putLong(1L << 40).putDouble(1.5)
                .putInt(2).put("é".getBytes(StandardCharsets.UTF_8)).putInt(1).putInt(7).putInt(0)
                .putInt(1).putDouble(-0.0).putInt(2).put(new byte[] {9, 8}).put((byte) 5).array();
        assertEquals(body.length, w.bodyLength());
        assertArrayEquals(byHand(3, body), WIDGET.toBytes(w));
    }

    @Property(tries = 50)
    void valuesRoundTrip(@ForAll int i, @ForAll long l, @ForAll long bits, @ForAll String s, @ForAll boolean z,
                         @ForAll int[] is, @ForAll byte[] bs) throws WidgetException {
        double d = Double.longBitsToDouble(bits);   // any bit pattern, NaN payloads included
        BodyWriter w = WIDGET.writer(0);
        w.i32(i).i64(l).f64(d).bool(z).ints(is).bytes(bs).doubles(new double[] {d}).longs(new long[] {l, bits});
        // Lone surrogates are not UTF-8: write only well-formed strings.
        String text = new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        w.str(text);
        BodyReader<WidgetException> r = WIDGET.open(WIDGET.toBytes(w), "w");
        assertEquals(i, r.i32("i"));
        assertEquals(l, r.i64("l"));
        assertEquals(bits, Double.doubleToRawLongBits(r.f64("d")));
        assertEquals(z, r.bool("z"));
        assertArrayEquals(is, r.ints("is"));
        assertArrayEquals(bs, r.bytes("bs"));
        assertEquals(bits, Double.doubleToRawLongBits(r.doubles("ds")[0]));
        assertArrayEquals(new long[] {l, bits}, r.longs("ls"));
        assertEquals(text, r.str("s"));
        r.end();
    }

    @Test
    void headerProblemsAreNamed() {
        byte[] good = byHand(3, new byte[] {1, 2, 3});
        assertEquals("not a Stride widget file (the file is empty)", problem(new byte[0]));
        assertEquals("not a Stride widget file (it does not start with \"WIDGET01\")", problem("WIDGEX".getBytes()));
        assertEquals("file is truncated: 5 bytes, shorter than the 24-byte header", problem(Arrays.copyOf(good, 5)));
        assertEquals("file is truncated: 20 bytes, shorter than the 24-byte header", problem(Arrays.copyOf(good, 20)));
        // The version is judged as soon as it is there, before the rest of a short header.
        assertEquals("widget format version 4 is newer than this Stride supports (3); upgrade Stride",
                problem(Arrays.copyOf(byHand(4, new byte[0]), 16)));
        assertEquals("widget format version 0 is not valid", problem(byHand(0, new byte[0])));
        assertEquals("file is truncated: header says body is 3 bytes, file has 2", problem(Arrays.copyOf(good, 26)));
        assertEquals("file has 2 bytes after the 3-byte body the header announces", problem(Arrays.copyOf(good, 29)));
        byte[] flipped = good.clone();
        flipped[25] ^= 4;
        assertEquals("checksum mismatch: file is corrupted", problem(flipped));
        byte[] huge = good.clone();
        huge[23] = (byte) 0x80;   // a u64 length beyond any long
        assertEquals("file is truncated: header says body is 9223372036854775811 bytes, file has 3", problem(huge));
    }

    @Test
    void bodyProblemsNameTheOffset() throws WidgetException {
        byte[] body = ByteBuffer.allocate(4 + 4 + 2 + 1 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(0).putInt(2).put(new byte[] {(byte) 0xC3, 0x28}).put((byte) 2).putInt(Integer.MAX_VALUE)
                .putInt(0).array();
        BodyReader<WidgetException> r = WIDGET.open(byHand(3, body), "w");
        assertEquals("", r.str("empty"));
        assertEquals("name at offset 8 is not valid UTF-8", assertThrows(WidgetException.class, () -> r.str("name")).problem());
        assertEquals("flag is 2 at offset 10; a boolean is 0 or 1", assertThrows(WidgetException.class, () -> r.bool("flag")).problem());
        assertEquals("list count 2147483647 at offset 11 is impossible: only 4 bytes remain",
                assertThrows(WidgetException.class, () -> r.ints("list")).problem());
        assertEquals("4 unexpected bytes after the end of the content at offset 15",
                assertThrows(WidgetException.class, r::end).problem());
        assertEquals(0, r.i32("zero"));
        assertEquals("body ends at offset 19 in the middle of more", assertThrows(WidgetException.class, () -> r.u8("more")).problem());
        assertEquals("kind 'X' is not one of [A, B]", assertThrows(WidgetException.class,
                () -> WIDGET.open(WIDGET.toBytes(WIDGET.writer(0).str("X")), "w").enumName(AB.class, "kind")).problem());
    }

    enum AB { A, B }

    @Test
    void readNamesTheFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("a.widget");
        Files.write(f, byHand(3, new byte[] {42}));
        assertEquals(42, WIDGET.read(f).u8("answer"));
        Files.write(f, Arrays.copyOf(byHand(3, new byte[] {42}), 10));
        WidgetException e = assertThrows(WidgetException.class, () -> WIDGET.read(f));
        assertEquals(f.toString(), e.source());
        assertTrue(e.getMessage().startsWith(f + ": file is truncated"), e.getMessage());
    }
}
