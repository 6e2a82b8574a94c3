package dev.stride.graph;

import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Unary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class PlanFileTest {

    // ------------------------------------------------------------------------------------------ round trip

    @Test
    void roundTripKeepsEveryPartOfATrainingPlan() throws Exception {
        for (DType dt : DType.values()) {
            Plan p = trainingPlan(dt);
            byte[] bytes = PlanFile.toBytes(p);
            Plan q = PlanFile.fromBytes(bytes);
            assertSamePlan(p, q);
            assertArrayEquals(bytes, PlanFile.toBytes(q), "encoding is canonical: a loaded plan saves to the same bytes");
        }
    }

    @Property(tries = 80)
    void randomPlansRoundTrip(@ForAll long seed, @ForAll @IntRange(min = 1, max = 30) int nodes, @ForAll boolean f64)
            throws Exception {
        Graph g = MemoryPlannerTest.randomGraph(seed, nodes, f64 ? DType.F64 : DType.F32);
        Plan p = withRandomTensors(Compiler.compile(g), seed);
        byte[] bytes = PlanFile.toBytes(p);
        Plan q = PlanFile.fromBytes(bytes);   // the loader's checks accept everything the compiler makes
        assertSamePlan(p, q);
        assertArrayEquals(bytes, PlanFile.toBytes(q));
    }

    @Test
    void theOnnxImportOpsRoundTrip() throws Exception {
        // long[] attributes (Gather), nested enums (Resize2d, Pad), infinite doubles (Clip), multi-output gradients.
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 2, 3, 4, 5);
        Value y = b.transpose(b.gather(x, -1, new long[] {4, -5, 1, 0, 2, 3}, new int[] {2, 3}), 0, 1, 2, 4, 3);
        y = b.reshape(y, 2, 3, 4, 6);
        y = b.resize(b.pad(y, new int[] {0, 0, 1, 2}, new int[] {0, 0, 3, 0}, dev.stride.graph.op.Pad.Mode.REFLECT),
                dev.stride.graph.op.Resize2d.Mode.LINEAR, dev.stride.graph.op.Resize2d.Coord.HALF_PIXEL_SYMMETRIC,
                dev.stride.graph.op.Resize2d.Nearest.CEIL, 5, 7);
        y = b.lpPool2d(b.lrn(b.instanceNorm2d("norm", y, 1e-5), 3, 1e-4, 0.75, 1), 3, PoolSpec.of(2).stride(1).pad(1));
        y = b.pow(b.clip(b.hardSwish(y), Double.NEGATIVE_INFINITY, 6), b.max(b.selu(y), b.hardSigmoid(y, 0.2, 0.5)));
        Value loss = b.apply("loss", new SumTo(new int[0]), b.reduceMax(b.min(y, y), true, 1, 3));
        Map<Value, Value> grads = Autodiff.gradients(b, loss, List.of(x, b.value("norm/weight")));
        b.output("loss", loss);
        grads.forEach((v, g) -> b.output("grad_" + v.name(), g));
        Plan p = withRandomTensors(Compiler.compile(b.build()), 3);
        byte[] bytes = PlanFile.toBytes(p);
        Plan q = PlanFile.fromBytes(bytes);
        assertSamePlan(p, q);
        assertArrayEquals(bytes, PlanFile.toBytes(q));
    }

    @Test
    void saveIsAtomicAndLoadReadsItBack(@TempDir Path dir) throws Exception {
        Plan p = trainingPlan(DType.F32);
        Path f = dir.resolve("model.stride");
        Files.writeString(f, "an older file that the save replaces");
        PlanFile.save(p, f);
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(f), listing.toList(), "no temporary file is left behind");
        }
        assertSamePlan(p, PlanFile.load(f));
        PlanFile.save(p, f);                                   // overwriting an existing plan works too
        assertSamePlan(p, PlanFile.load(f));

        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(bytes, bytes.length - 10));
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.load(f));
        assertEquals(f.toString(), e.source());
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertEquals("file is truncated: header says body is " + (bytes.length - 24) + " bytes, file has "
                + (bytes.length - 34), e.problem());
    }

    @Test
    void opsOutsideTheOpPackageCannotBeSaved() {
        var b = new GraphBuilder(DType.F32, false);
        b.output("y", b.apply("odd", new Outsider(3), b.input("x", 2)));
        var e = assertThrows(IllegalArgumentException.class, () -> PlanFile.toBytes(Compiler.compile(b.build())));
        assertTrue(e.getMessage().contains("node 'odd'") && e.getMessage().contains("dev.stride.graph.op"), e.getMessage());
    }

    /** An op defined where the loader would never look for it. */
    record Outsider(int k) implements Op {
        @Override public List<Shape> inferShapes(List<Shape> inputs) { return inputs; }

        @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }
    }

    // ------------------------------------------------------------------------- header and checksum damage

    @Test
    void everySingleByteCorruptionIsRejected() {
        byte[] good = PlanFile.toBytes(trainingPlan(DType.F32));
        for (int pos = 0; pos < good.length; pos++) {
            for (int mask : new int[] {0x01, 0x80, 0xFF}) {
                byte[] bad = good.clone();
                bad[pos] ^= (byte) mask;
                int at = pos;
                assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bad), () -> "flip at " + at);
            }
        }
    }

    @Test
    void everyTruncationIsRejected() {
        byte[] good = PlanFile.toBytes(trainingPlan(DType.F64));
        for (int len = 0; len < good.length; len++) {
            byte[] bad = Arrays.copyOf(good, len);
            var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bad), "length " + len);
            if (len >= PlanFile.HEADER_BYTES)
                assertEquals("file is truncated: header says body is " + (good.length - 24) + " bytes, file has "
                        + (len - 24), e.problem());
            else if (len >= 8)
                assertTrue(e.problem().startsWith("file is truncated"), e.problem());
        }
    }

    @Test
    void bytesAfterTheBodyAreRejected() {
        byte[] good = PlanFile.toBytes(trainingPlan(DType.F32));
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(Arrays.copyOf(good, good.length + 3)));
        assertTrue(e.problem().contains("3 bytes after"), e.problem());
    }

    @Test
    void newerVersionAsksForAnUpgrade() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        bytes[8] = (byte) (PlanFile.FORMAT_VERSION + 1);   // the version is outside the checksummed body
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bytes));
        assertEquals("plan format version 2 is newer than this Stride supports (1); upgrade Stride", e.problem());
    }

    @Test
    void otherFilesAreNotPlans() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8};
        for (byte[] other : List.of(png, "{\"plan\": true}".getBytes(StandardCharsets.UTF_8), new byte[0], new byte[] {'S', 'T', 'X'})) {
            var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(other));
            assertTrue(e.problem().startsWith("not a Stride plan file"), e.problem());
        }
        byte[] good = PlanFile.toBytes(trainingPlan(DType.F32));
        good[3] = 'X';
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(good));
        assertTrue(e.problem().startsWith("not a Stride plan file"), e.problem());
    }

    @Test
    void checksumMismatchSaysCorrupted() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        bytes[bytes.length - 1] ^= 1;
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bytes));
        assertEquals("checksum mismatch: file is corrupted", e.problem());
    }

    // ------------------------------------------------------------ hostile content behind a valid checksum

    @Test
    void hugeCountIsRejectedWithoutAllocating() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        // Body: dtype "F32" (4 + 3 bytes), training flag (1 byte), then the value count.
        int at = PlanFile.HEADER_BYTES + 8;
        putI32(bytes, at, Integer.MAX_VALUE);
        reseal(bytes);
        long before = allocatedBytes();
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bytes));
        long allocated = allocatedBytes() - before;
        assertTrue(e.problem().startsWith("value count 2147483647 at offset 8 is impossible"), e.problem());
        assertTrue(allocated < (1 << 20), "decoding allocated " + allocated + " bytes");
    }

    @Property(tries = 400)
    void hostileIntegersAreRejectedCleanly(@ForAll long seed) {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        Random r = new Random(seed);
        int[] nasty = {Integer.MAX_VALUE, Integer.MIN_VALUE, -1, 0, 1, 2, 1 << 20, 1 << 30, r.nextInt()};
        for (int k = 1 + r.nextInt(2); k > 0; k--)
            putI32(bytes, PlanFile.HEADER_BYTES + r.nextInt(bytes.length - PlanFile.HEADER_BYTES - 3), nasty[r.nextInt(nasty.length)]);
        decodeResealed(bytes);
    }

    @Property(tries = 400)
    void hostileByteEditsAreRejectedCleanly(@ForAll long seed) {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F64));
        Random r = new Random(seed);
        for (int k = 1 + r.nextInt(3); k > 0; k--)
            bytes[PlanFile.HEADER_BYTES + r.nextInt(bytes.length - PlanFile.HEADER_BYTES)] = (byte) r.nextInt(256);
        decodeResealed(bytes);
    }

    /**
     * Either the edit was harmless (a tensor byte, an attribute that still fits) or the loader says what is wrong
     * through one of its explicit checks, not its catch-all, and without allocating beyond the file's scale.
     */
    private static void decodeResealed(byte[] bytes) {
        reseal(bytes);
        long before = allocatedBytes();
        try {
            PlanFile.fromBytes(bytes);
        } catch (PlanFormatException e) {
            assertFalse(e.problem().startsWith("inconsistent content"), "an explicit check missed: " + e.getMessage());
        }
        long allocated = allocatedBytes() - before;
        assertTrue(allocated < (32 << 20), "decoding a " + bytes.length + "-byte file allocated " + allocated + " bytes");
    }

    @Test
    void unknownOpClassIsRejected() {
        var e = assertRejected(replaceString(PlanFile.toBytes(trainingPlan(DType.F32)), "Affine", "Affine2"));
        assertTrue(e.problem().contains("unknown op class 'Affine2'"), e.problem());
    }

    @Test
    void classesThatAreNotOpRecordsAreRejected() {
        // Broadcast is a helper class in the op package, not a record; Plan is a record outside the package.
        var e = assertRejected(replaceString(PlanFile.toBytes(trainingPlan(DType.F32)), "Affine", "Broadcast"));
        assertTrue(e.problem().contains("dev.stride.graph.op.Broadcast is not a public record implementing dev.stride.graph.Op"), e.problem());
        e = assertRejected(replaceString(PlanFile.toBytes(trainingPlan(DType.F32)), "Affine", "Plan"));
        assertTrue(e.problem().contains("unknown op class 'Plan'"), e.problem());
        for (String name : List.of("dev.stride.graph.Plan", "../Affine", "java.lang.Runtime", "")) {
            e = assertRejected(replaceString(PlanFile.toBytes(trainingPlan(DType.F32)), "Affine", name));
            assertTrue(e.problem().contains("is not a simple class name"), e.problem());
        }
    }

    @Test
    void componentTypeMismatchIsRejected() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        int at = indexOf(bytes, str("scale"), 0) + str("scale").length;
        assertEquals(3, bytes[at], "Affine.scale is stored with the double tag");
        bytes[at] = 2;    // long
        var e = assertRejected(reseal(bytes));
        assertTrue(e.problem().contains("component 'scale' is stored as long, the record declares double"), e.problem());
    }

    @Test
    void enumConstantThatDoesNotExistIsRejected() {
        var e = assertRejected(replaceString(PlanFile.toBytes(trainingPlan(DType.F32)), "MUL", "MODULO"));
        assertTrue(e.problem().contains("'MODULO' is not a constant of Kind"), e.problem());
    }

    @Test
    void aFileWrittenBeforeAnOpGrewAnAttributeLoadsThroughItsEarlierConstructor() throws Exception {
        // Unary gained beta after plans holding only (fn, alpha) were written: make such a file.
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 2, 3);
        b.output("y", b.apply("act", new Unary(Unary.Fn.LEAKY_RELU, 0.125, 0.5), x));
        byte[] old = dropLastComponent(PlanFile.toBytes(Compiler.compile(b.build())), "Unary", "beta");
        Plan q = PlanFile.fromBytes(old);
        assertEquals(new Unary(Unary.Fn.LEAKY_RELU, 0.125, 0), q.graph().nodes().getFirst().op());

        // Without a public constructor over the stored components the file is still refused.
        var e = assertRejected(dropLastComponent(PlanFile.toBytes(trainingPlan(DType.F32)), "Affine", "shift"));
        assertTrue(e.problem().contains("file has 1 components for Affine, the record has 2"), e.problem());
    }

    /** Removes the op's last component, a double named {@code name}, decrements its count, and reseals. */
    private static byte[] dropLastComponent(byte[] file, String op, String name) {
        int countAt = indexOf(file, str(op), PlanFile.HEADER_BYTES) + str(op).length;
        putI32(file, countAt, getI32(file, countAt) - 1);
        byte[] component = concat(str(name), new byte[] {3});   // name, the double tag, then 8 bytes of value
        int at = indexOf(file, component, countAt);
        int end = at + component.length + 8;
        return reseal(concat(Arrays.copyOf(file, at), Arrays.copyOfRange(file, end, file.length)));
    }

    @Test
    void storedShapesThatLieAreRejected() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        byte[] pattern = concat(str("wide"), str("NODE"));
        int dims = indexOf(bytes, pattern, 0) + pattern.length;
        assertEquals(3, getI32(bytes, dims), "rank of wide");
        assertEquals(3, getI32(bytes, dims + 12), "last dimension of wide");
        putI32(bytes, dims + 12, 4);
        var e = assertRejected(reseal(bytes));
        assertTrue(e.problem().contains("node 'wide' (BroadcastTo {dims=[4, 2, 3]}) with inputs [2, 3]"), e.problem());
        assertTrue(e.problem().contains("file says outputs [[4, 2, 4]], the op infers [[4, 2, 3]]"), e.problem());
    }

    @Test
    void attributesTheShapeRuleRejectsAreRejected() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        // BroadcastTo dims [4, 2, 3] -> [4, 2, 5]: [2, 3] does not broadcast to it.
        byte[] pattern = concat(str("dims"), new byte[] {6});
        int arr = indexOf(bytes, pattern, indexOf(bytes, str("BroadcastTo"), 0)) + pattern.length;
        assertEquals(3, getI32(bytes, arr + 12));
        putI32(bytes, arr + 12, 5);
        var e = assertRejected(reseal(bytes));
        assertTrue(e.problem().contains("input shape [2, 3] does not broadcast to [4, 2, 5]"), e.problem());
    }

    @Test
    void valueIdsOutOfRangeAreRejected() {
        byte[] bytes = PlanFile.toBytes(trainingPlan(DType.F32));
        int at = indexOf(bytes, str("prediction"), 0) + str("prediction").length;
        putI32(bytes, at, 1000);
        var e = assertRejected(reseal(bytes));
        assertTrue(e.problem().contains("output 'prediction' refers to value id 1000 of"), e.problem());
        putI32(bytes, at, -5);
        e = assertRejected(reseal(bytes));
        assertTrue(e.problem().contains("refers to value id -5"), e.problem());
    }

    // -------------------------------------------------- inconsistent plans, written by the (trusting) writer

    @Test
    void scheduleMustBeATopologicalOrderOfDistinctNodes() {
        Plan p = trainingPlan(DType.F32);
        int[] reversed = p.schedule().clone();
        for (int i = 0; i < reversed.length / 2; i++) {
            int t = reversed[i];
            reversed[i] = reversed[reversed.length - 1 - i];
            reversed[reversed.length - 1 - i] = t;
        }
        assertProblem(with(p, reversed, p.memory()), "schedule is not a topological order");
        int[] twice = Arrays.copyOf(p.schedule(), p.schedule().length + 1);
        twice[twice.length - 1] = twice[0];
        assertProblem(with(p, twice, p.memory()), "twice");
        assertProblem(with(p, new int[] {0, 9999}, p.memory()), "schedule step 1 names node 9999");
        int[] withoutLast = Arrays.copyOf(p.schedule(), p.schedule().length - 1);
        assertProblem(with(p, withoutLast, p.memory()), "never runs its producer");
    }

    @Test
    void memoryPlanMustPlaceEveryUsedValueSafely() {
        Plan p = trainingPlan(DType.F32);
        MemoryPlan m = p.memory();
        Graph g = p.graph();
        int x = g.value("x").id();

        assertProblem(with(p, p.schedule(), edit(m, x, -1, m.bytes()[x])), "'x' is used but has no buffer");
        assertProblem(with(p, p.schedule(), edit(m, x, m.offset()[x], m.bytes()[x] + 4)), "needs 24 bytes, the memory plan gives it 28");
        assertProblem(with(p, p.schedule(), edit(m, x, m.offset()[x] + 8, m.bytes()[x])), "is not 64-byte aligned");
        assertProblem(with(p, p.schedule(), edit(m, x, m.arenaBytes(), m.bytes()[x])), "runs past the end of its arena");
        assertProblem(with(p, p.schedule(), new MemoryPlan(m.offset(), m.bytes(), m.firstStep(), m.lastStep(),
                Long.MAX_VALUE - 63, m.naiveArenaBytes(), m.persistentBytes())), "larger than its values need");
        assertProblem(with(p, p.schedule(), new MemoryPlan(m.offset(), m.bytes(), m.firstStep(), m.lastStep(),
                m.arenaBytes(), m.naiveArenaBytes(), -1)), "negative region size");

        int loss = g.value("loss").id();
        int[] last = m.lastStep().clone();
        last[loss] = m.firstStep()[loss];
        assertProblem(with(p, p.schedule(), new MemoryPlan(m.offset(), m.bytes(), m.firstStep(), last, m.arenaBytes(),
                m.naiveArenaBytes(), m.persistentBytes())), "'loss' is live from step");

        // Two arena values live at the same step moved onto the same bytes.
        int[] pair = liveTogether(p);
        long[] offset = m.offset().clone();
        offset[pair[1]] = offset[pair[0]];
        assertProblem(with(p, p.schedule(), new MemoryPlan(offset, m.bytes(), m.firstStep(), m.lastStep(), m.arenaBytes(),
                m.naiveArenaBytes(), m.persistentBytes())), "while both are live");

        // Two persistent values on the same bytes.
        int w = g.value("w").id(), c = g.value("c").id();
        offset = m.offset().clone();
        offset[c] = offset[w];
        assertProblem(with(p, p.schedule(), new MemoryPlan(offset, m.bytes(), m.firstStep(), m.lastStep(), m.arenaBytes(),
                m.naiveArenaBytes(), m.persistentBytes())), "of the persistent region");
    }

    @Test
    void storedTensorsMustMatchTheirValues() {
        Plan p = trainingPlan(DType.F32);
        Map<String, byte[]> t = new LinkedHashMap<>(p.tensors());
        t.put("w", new byte[5]);
        assertProblem(p.withTensors(t), "stored tensor 'w' has 5 bytes; shape [3] in F32 needs 12");
        t = new LinkedHashMap<>(p.tensors());
        t.put("ghost", new byte[4]);
        assertProblem(p.withTensors(t), "stored tensor 'ghost' is not a parameter or state");
        t = new LinkedHashMap<>(p.tensors());
        t.put("x", new byte[24]);
        assertProblem(p.withTensors(t), "stored tensor 'x' is not a parameter or state");
    }

    @Test
    void everyNodeHasOneAlgorithmChoice() {
        Plan p = trainingPlan(DType.F32);
        Plan q = new Plan(p.graph(), p.schedule(), p.memory(), p.target(), p.targetInfo(),
                p.algorithms().subList(1, p.algorithms().size()), p.tensors());
        assertProblem(q, "algorithm choices for");
    }

    // ------------------------------------------------------------------------------------------- helpers

    /**
     * y = (x * w + c) broadcast to [4, 2, 3]; loss = sum(y^2); one SGD step on w and c and a step counter:
     * every op kind, params, state, updates, and stored tensors.
     */
    static Plan trainingPlan(DType dt) {
        var b = new GraphBuilder(dt, true);
        Value x = b.input("x", 2, 3);
        Value w = b.param("w", Shape.of(3), Init.fanInUniform());
        Value c = b.param("c", Shape.of(2, 1), Init.constant(0.25));
        Value steps = b.state("steps", Shape.SCALAR, Init.zeros());
        Value y = b.apply("mul", new Binary(Binary.Kind.MUL), x, w);
        y = b.apply("add", new Binary(Binary.Kind.ADD), y, c);
        Value wide = b.apply("wide", new BroadcastTo(new int[] {4, 2, 3}), y);
        Value loss = b.apply("loss", new SumTo(new int[0]), b.apply("sq", new Binary(Binary.Kind.MUL), wide, wide));
        Map<Value, Value> grads = Autodiff.gradients(b, loss, List.of(w, c));
        for (Value p : List.of(w, c)) {
            Value step = b.apply("lr", new Affine(0.01, 0), grads.get(p));
            b.update(p, b.apply("sgd", new Binary(Binary.Kind.SUB), p, step));
        }
        b.update(steps, b.apply("count", new Affine(1, 1), steps));
        b.output("loss", loss);
        b.output("prediction", y);
        var target = new Compiler.Target("reference", Map.of("isa", "test", "width", "8"),
                n -> n.op() instanceof Binary ? "direct" : "");
        return withRandomTensors(Compiler.compile(b.build(), target), 7);
    }

    static Plan withRandomTensors(Plan p, long seed) {
        Random r = new Random(seed);
        Map<String, byte[]> t = new LinkedHashMap<>();
        for (Value v : p.graph().persistent()) {
            byte[] data = new byte[Math.toIntExact(v.shape().size() * p.graph().dtype().bytes)];
            r.nextBytes(data);
            t.put(v.name(), data);
        }
        return p.withTensors(t);
    }

    static void assertSamePlan(Plan p, Plan q) {
        Graph a = p.graph(), b = q.graph();
        assertEquals(a.dtype(), b.dtype());
        assertEquals(a.training(), b.training());
        assertEquals(a.values(), b.values());
        assertEquals(a.nodes().size(), b.nodes().size());
        for (int i = 0; i < a.nodes().size(); i++) {
            Node n = a.nodes().get(i), m = b.nodes().get(i);
            assertEquals(n.id(), m.id());
            assertEquals(n.name(), m.name());
            assertEquals(n.inputs(), m.inputs());
            assertEquals(n.outputs(), m.outputs());
            assertSameOp(n.op(), m.op());
        }
        assertEquals(List.copyOf(a.inits().entrySet()), List.copyOf(b.inits().entrySet()));
        assertEquals(List.copyOf(a.outputs().entrySet()), List.copyOf(b.outputs().entrySet()));
        assertEquals(a.updates(), b.updates());
        assertArrayEquals(p.schedule(), q.schedule());
        MemoryPlan m = p.memory(), n = q.memory();
        assertArrayEquals(m.offset(), n.offset());
        assertArrayEquals(m.bytes(), n.bytes());
        assertArrayEquals(m.firstStep(), n.firstStep());
        assertArrayEquals(m.lastStep(), n.lastStep());
        assertEquals(m.arenaBytes(), n.arenaBytes());
        assertEquals(m.naiveArenaBytes(), n.naiveArenaBytes());
        assertEquals(m.persistentBytes(), n.persistentBytes());
        assertEquals(p.target(), q.target());
        assertEquals(List.copyOf(p.targetInfo().entrySet()), List.copyOf(q.targetInfo().entrySet()));
        assertEquals(p.algorithms(), q.algorithms());
        assertEquals(List.copyOf(p.tensors().keySet()), List.copyOf(q.tensors().keySet()));
        for (String k : p.tensors().keySet()) assertArrayEquals(p.tensors().get(k), q.tensors().get(k), k);
    }

    private static void assertSameOp(Op a, Op b) {
        assertEquals(a.getClass(), b.getClass());
        for (RecordComponent c : a.getClass().getRecordComponents()) {
            try {
                Object x = c.getAccessor().invoke(a), y = c.getAccessor().invoke(b);
                assertTrue(Objects.deepEquals(x, y), a.kind() + "." + c.getName() + ": " + x + " vs " + y);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
        }
    }

    private static Plan with(Plan p, int[] schedule, MemoryPlan m) {
        return new Plan(p.graph(), schedule, m, p.target(), p.targetInfo(), p.algorithms(), p.tensors());
    }

    private static MemoryPlan edit(MemoryPlan m, int id, long offset, long bytes) {
        long[] o = m.offset().clone(), b = m.bytes().clone();
        o[id] = offset;
        b[id] = bytes;
        return new MemoryPlan(o, b, m.firstStep(), m.lastStep(), m.arenaBytes(), m.naiveArenaBytes(), m.persistentBytes());
    }

    /** Two placed arena values live at a common step, the second no larger than the first. */
    private static int[] liveTogether(Plan p) {
        MemoryPlan m = p.memory();
        List<Value> arena = new ArrayList<>();
        for (Value v : p.graph().values()) if (!v.persistent() && m.placed(v.id()) && m.bytes()[v.id()] > 0) arena.add(v);
        for (Value a : arena)
            for (Value b : arena)
                if (a != b && m.overlapInTime(a.id(), b.id()) && m.bytes()[b.id()] <= m.bytes()[a.id()]
                        && m.offset()[a.id()] != m.offset()[b.id()])
                    return new int[] {a.id(), b.id()};
        throw new AssertionError("no two values live together");
    }

    private static void assertProblem(Plan p, String expected) {
        var e = assertRejected(PlanFile.toBytes(p));
        assertTrue(e.problem().contains(expected), "expected '" + expected + "' in: " + e.problem());
    }

    private static PlanFormatException assertRejected(byte[] bytes) {
        var e = assertThrows(PlanFormatException.class, () -> PlanFile.fromBytes(bytes));
        assertEquals("plan bytes", e.source());
        assertFalse(e.problem().startsWith("inconsistent content"), "an explicit check missed: " + e.getMessage());
        return e;
    }

    /** Replaces the first occurrence of a length-prefixed string, shifting the rest, and reseals the file. */
    private static byte[] replaceString(byte[] file, String from, String to) {
        byte[] a = str(from), b = str(to);
        int at = indexOf(file, a, PlanFile.HEADER_BYTES);
        byte[] out = concat(concat(Arrays.copyOf(file, at), b), Arrays.copyOfRange(file, at + a.length, file.length));
        return reseal(out);
    }

    /** Recomputes the body length and checksum in the header, as a forger would. */
    private static byte[] reseal(byte[] file) {
        int body = file.length - PlanFile.HEADER_BYTES;
        CRC32C crc = new CRC32C();
        crc.update(file, PlanFile.HEADER_BYTES, body);
        putI32(file, 12, (int) crc.getValue());
        putI32(file, 16, body);
        putI32(file, 20, 0);
        return file;
    }

    private static byte[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[4 + b.length];
        putI32(out, 0, b.length);
        System.arraycopy(b, 0, out, 4, b.length);
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return fail("pattern not found");
    }

    private static void putI32(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static int getI32(byte[] b, int at) {
        int v = 0;
        for (int i = 3; i >= 0; i--) v = v << 8 | (b[at + i] & 0xFF);
        return v;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
