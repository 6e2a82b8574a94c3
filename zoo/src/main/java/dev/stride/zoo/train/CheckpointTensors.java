package dev.stride.zoo.train;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.io.BodyReader;
import dev.stride.graph.io.BodyWriter;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensor part every checkpoint shares (the classifier {@link Trainer}'s {@link Checkpoint}, the GAN trainer's):
 * how a set of named tensors is stored, read back with every count and size checked, and restored into sessions
 * with every name and shape checked against their plans.
 *
 * <p>Stored form: i32 count, then per tensor (str name, i32 rank + i32 dims, bytes data), {@code str} = i32 byte
 * count + UTF-8, {@code bytes} = i32 count + raw little-endian bytes in the checkpoint's dtype.
 */
public final class CheckpointTensors {
    private CheckpointTensors() {}

    // ---------------------------------------------------------------------------------------- file form

    /** The bytes {@link #write} takes for {@code m}. */
    public static long size(Map<String, Checkpoint.Entry> m) {
        long n = 4;
        for (var e : m.entrySet())
            n += 4 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4 + 4L * e.getValue().dims().length
                    + 4 + e.getValue().data().length;
        return n;
    }

    public static void write(BodyWriter b, Map<String, Checkpoint.Entry> m) {
        b.i32(m.size());
        for (var e : m.entrySet()) {
            b.str(e.getKey());
            b.ints(e.getValue().dims());
            b.bytes(e.getValue().data());
        }
    }

    /**
     * Reads a set that {@link #write} wrote; {@code what} names it in messages ("state", "best state"). A negative
     * dimension, data of the wrong size for the dims in {@code dtype}, or a name stored twice is a failure.
     */
    public static Map<String, Checkpoint.Entry> read(BodyReader<CheckpointFormatException> in, String what, DType dtype)
            throws CheckpointFormatException {
        int n = in.count(what + " tensor", 12);
        Map<String, Checkpoint.Entry> m = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = in.str(what + " tensor name");
            int[] dims = in.ints("rank of " + what + " tensor '" + name + "'");
            long elements = 1;
            for (int d : dims) {
                if (d < 0) throw in.fail(what + " tensor '" + name + "' has negative dimension " + d);
                elements = d == 0 || elements == 0 ? 0 : Math.min(elements * d, Integer.MAX_VALUE);
            }
            int at = in.position();
            byte[] data = in.bytes("data of " + what + " tensor '" + name + "'");
            if (data.length != elements * dtype.bytes)
                throw in.fail(what + " tensor '" + name + "' " + Arrays.toString(dims) + " at offset " + at + " has "
                        + data.length + " bytes; in " + dtype + " it needs " + elements * dtype.bytes);
            if (m.put(name, new Checkpoint.Entry(dims, data)) != null)
                throw in.fail(what + " tensor '" + name + "' is stored twice");
        }
        return m;
    }

    // ------------------------------------------------------------------------------------- sessions

    /** Entries for {@code values} (bytes by name, as {@link Session#snapshot} holds them), shaped as in {@code graph}. */
    public static Map<String, Checkpoint.Entry> entries(Graph graph, Map<String, byte[]> values) {
        Map<String, Checkpoint.Entry> m = new LinkedHashMap<>();
        values.forEach((name, data) -> m.put(name, new Checkpoint.Entry(graph.value(name).shape().dims(), data)));
        return m;
    }

    /**
     * The entries as byte arrays, after checking that each is a persistent tensor of at least one of
     * {@code graphs}, with the shape it has in every one that holds it. Messages start with {@code where} (which
     * names the file) and name the set ({@code what}) and the tensor.
     */
    public static Map<String, byte[]> check(Map<String, Checkpoint.Entry> entries, String where, String what,
                                            Graph... graphs) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (var e : entries.entrySet()) {
            String name = e.getKey();
            boolean found = false;
            for (Graph g : graphs) {
                if (!g.has(name) || !g.value(name).persistent()) continue;
                found = true;
                Shape shape = g.value(name).shape();
                if (!Arrays.equals(shape.dims(), e.getValue().dims()))
                    throw new IllegalArgumentException(where + "its " + what + " has '" + name + "' "
                            + Arrays.toString(e.getValue().dims()) + ", the model has " + shape);
            }
            if (!found)
                throw new IllegalArgumentException(where + "its " + what + " has '" + name
                        + "', which is not a parameter or state of the model");
            out.put(name, e.getValue().data());
        }
        return out;
    }

    /** Fails, naming what is missing, unless {@code names} covers every persistent tensor of {@code graphs}. */
    public static void requireComplete(Set<String> names, String where, Graph... graphs) {
        Set<String> missing = new TreeSet<>();
        for (Graph g : graphs)
            for (Value v : g.persistent()) if (!names.contains(v.name())) missing.add(v.name());
        if (!missing.isEmpty()) throw new IllegalArgumentException(where + "it lacks " + missing);
    }

    /**
     * Overwrites the session's persistent tensors named in {@code values} (bytes in the plan's dtype, shapes
     * checked by {@link #check}); names the session's plan does not hold are skipped.
     */
    public static void restore(Session session, Map<String, byte[]> values) {
        Graph graph = session.plan().graph();
        DType dtype = graph.dtype();
        for (var e : values.entrySet()) {
            if (!graph.has(e.getKey()) || !graph.value(e.getKey()).persistent()) continue;
            Tensor t = Tensor.zeros(dtype, graph.value(e.getKey()).shape());
            MemorySegment.copy(MemorySegment.ofArray(e.getValue()), 0, t.segment(), 0, e.getValue().length);
            session.set(e.getKey(), t);
        }
    }
}
