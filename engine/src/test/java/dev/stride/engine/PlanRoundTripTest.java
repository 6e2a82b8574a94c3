package dev.stride.engine;

import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.SumTo;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A plan that went through the plan file runs bit-identically to the plan it was made from: same outputs, same
 * parameters after further training steps, in float and double, from bytes and from a file on disk.
 */
class PlanRoundTripTest {

    /** Logistic-free regression: y = x * w + c (broadcast), loss = sum((y - t)^2), SGD on w and c, a step counter. */
    private static Plan trainingPlan(DType dt) {
        var b = new GraphBuilder(dt, true);
        Value x = b.input("x", 4, 3);
        Value t = b.input("t", 4, 3);
        Value w = b.param("w", Shape.of(3), Init.fanInUniform());
        Value c = b.param("c", Shape.of(4, 1), Init.constant(0.1));
        Value steps = b.state("steps", Shape.SCALAR, Init.zeros());
        Value y = b.apply("add", new Binary(Binary.Kind.ADD), b.apply("mul", new Binary(Binary.Kind.MUL), x, w), c);
        Value err = b.apply("err", new Binary(Binary.Kind.SUB), y, t);
        Value loss = b.apply("loss", new SumTo(new int[0]), b.apply("sq", new Binary(Binary.Kind.MUL), err, err));
        Map<Value, Value> grads = Autodiff.gradients(b, loss, List.of(w, c));
        for (Value p : List.of(w, c))
            b.update(p, b.apply("sgd", new Binary(Binary.Kind.SUB), p, b.apply("lr", new Affine(0.05, 0), grads.get(p))));
        b.update(steps, b.apply("count", new Affine(1, 1), steps));
        b.output("loss", loss);
        b.output("y", y);
        b.output("wide", b.apply("wide", new BroadcastTo(new int[] {2, 4, 3}), y));
        return Compiler.compile(b.build());
    }

    private static Map<String, Tensor> batch(DType dt, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String name : List.of("x", "t")) {
            Tensor v = Tensor.zeros(dt, Shape.of(4, 3));
            for (long i = 0; i < v.size(); i++) v.set(i, r.nextGaussian());
            m.put(name, v);
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void trainedPlanRunsBitIdenticallyAfterTheFile(DType dt, @TempDir Path dir) throws Exception {
        Plan snapshot;
        try (Session s = Session.open(trainingPlan(dt))) {
            s.run(batch(dt, 1));                        // one training step: parameters move off their init
            snapshot = s.snapshot();
        }
        Plan fromBytes = PlanFile.fromBytes(PlanFile.toBytes(snapshot));
        Path file = dir.resolve("trained.stride");
        PlanFile.save(snapshot, file);
        Plan fromFile = PlanFile.load(file);

        try (Session a = Session.open(snapshot); Session b = Session.open(fromBytes); Session c = Session.open(fromFile)) {
            assertFalse(bitsEqual(a.get("w"), Initializers.create(Init.fanInUniform(), "w", Shape.of(3), dt,
                    SessionOptions.defaults().seed())), "the training step changed w");
            for (int step = 2; step <= 4; step++) {     // several steps: outputs and the updated parameters agree
                Map<String, Tensor> in = batch(dt, step);
                Map<String, Tensor> oa = a.run(in), ob = b.run(in), oc = c.run(in);
                assertEquals(oa.keySet(), ob.keySet());
                for (String k : oa.keySet()) {
                    assertBitIdentical(oa.get(k), ob.get(k), k + " (bytes) at step " + step);
                    assertBitIdentical(oa.get(k), oc.get(k), k + " (file) at step " + step);
                }
                for (String k : List.of("w", "c", "steps")) {
                    assertBitIdentical(a.get(k), b.get(k), k + " (bytes) after step " + step);
                    assertBitIdentical(a.get(k), c.get(k), k + " (file) after step " + step);
                }
            }
            assertEquals(4.0, a.get("steps").item());
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void storedRandomTensorsSurviveTheFileExactly(DType dt) throws Exception {
        // Raw random bit patterns, NaN payloads and subnormals included: the file must not reinterpret them.
        Plan plan = trainingPlan(dt);
        Random r = new Random(99);
        Map<String, byte[]> stored = new LinkedHashMap<>();
        for (Value v : plan.graph().persistent()) {
            byte[] bytes = new byte[Math.toIntExact(v.shape().size() * dt.bytes)];
            r.nextBytes(bytes);
            stored.put(v.name(), bytes);
        }
        Plan withValues = plan.withTensors(stored);
        Plan loaded = PlanFile.fromBytes(PlanFile.toBytes(withValues));
        for (var e : stored.entrySet()) assertArrayEquals(e.getValue(), loaded.tensors().get(e.getKey()), e.getKey());

        // Finite values so that the outputs are comparable run to run.
        for (Value v : plan.graph().persistent()) {
            Tensor t = Tensor.zeros(dt, v.shape());
            for (long i = 0; i < t.size(); i++) t.set(i, r.nextGaussian());
            byte[] bytes = new byte[Math.toIntExact(t.segment().byteSize())];
            java.lang.foreign.MemorySegment.copy(t.segment(), 0, java.lang.foreign.MemorySegment.ofArray(bytes), 0, bytes.length);
            stored.put(v.name(), bytes);
        }
        withValues = plan.withTensors(stored);
        loaded = PlanFile.fromBytes(PlanFile.toBytes(withValues));
        try (Session a = Session.open(withValues); Session b = Session.open(loaded)) {
            Map<String, Tensor> in = batch(dt, 5);
            Map<String, Tensor> oa = a.run(in), ob = b.run(in);
            for (String k : oa.keySet()) assertBitIdentical(oa.get(k), ob.get(k), k);
        }
    }

    private static boolean bitsEqual(Tensor a, Tensor b) {
        return a.shape().equals(b.shape()) && a.dtype() == b.dtype() && a.segment().mismatch(b.segment()) == -1;
    }

    /** Same shape, dtype and raw bits (the segments hold the little-endian IEEE bits of every element). */
    private static void assertBitIdentical(Tensor a, Tensor b, String what) {
        assertEquals(a.shape(), b.shape(), what);
        assertEquals(a.dtype(), b.dtype(), what);
        long at = a.segment().mismatch(b.segment());
        if (at != -1) {
            long i = at / a.dtype().bytes;
            fail(what + ": element " + i + " differs: " + a.get(i) + " vs " + b.get(i));
        }
    }
}
