package dev.stride.graph;

import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Broadcast;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Properties of the memory planner on random DAGs of the core ops. Lifetimes are recomputed here from the graph
 * and the schedule, independently of the planner, so a planner that shortens a lifetime is caught too.
 */
class MemoryPlannerTest {

    @Property(tries = 300)
    void packingNeverLetsLiveValuesShareBytes(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int nodes,
                                              @ForAll boolean f64) {
        Graph g = randomGraph(seed, nodes, f64 ? DType.F64 : DType.F32);
        int[] schedule = Compiler.schedule(g);
        MemoryPlan m = MemoryPlanner.plan(g, schedule);
        int nv = g.values().size();
        int end = schedule.length;
        long elem = g.dtype().bytes;

        // The schedule: exactly the nodes the outputs and updates need, each once, producers first.
        BitSet needed = neededNodes(g);
        BitSet ran = new BitSet();
        for (int id : schedule) {
            assertTrue(needed.get(id), "schedule runs unneeded node " + g.nodes().get(id));
            assertTrue(!ran.get(id), "schedule runs " + g.nodes().get(id) + " twice");
            for (Value in : g.nodes().get(id).inputs())
                if (in.kind() == Value.Kind.NODE) assertTrue(ran.get(in.producer()), "not topological at " + id);
            ran.set(id);
        }
        assertEquals(needed, ran, "schedule misses needed nodes");

        // Real lifetimes: produced at its step (inputs before the first step), last read, or the end for
        // anything the caller reads after the run.
        int[] first = new int[nv], last = new int[nv];
        Arrays.fill(first, Integer.MAX_VALUE);
        Arrays.fill(last, Integer.MIN_VALUE);
        BitSet used = new BitSet();
        for (Value v : g.inputs()) { first[v.id()] = -1; last[v.id()] = -1; }
        for (int step = 0; step < end; step++) {
            Node n = g.nodes().get(schedule[step]);
            for (Value v : n.inputs()) { last[v.id()] = Math.max(last[v.id()], step); used.set(v.id()); }
            for (Value v : n.outputs()) { first[v.id()] = step; last[v.id()] = Math.max(last[v.id()], step); used.set(v.id()); }
        }
        List<Value> readAtEnd = new ArrayList<>(g.outputs().values());
        for (Graph.Update u : g.updates()) readAtEnd.add(u.source());
        for (Value v : readAtEnd) { last[v.id()] = end; used.set(v.id()); }

        List<Value> arena = new ArrayList<>(), persistent = new ArrayList<>();
        for (Value v : g.values()) {
            int id = v.id();
            if (v.persistent() || used.get(id) || v.kind() == Value.Kind.INPUT)
                assertTrue(m.placed(id), v + " is used but not placed");
            if (!m.placed(id)) continue;
            assertEquals(v.shape().size() * elem, m.bytes()[id], v + " bytes");
            assertEquals(0, m.offset()[id] % MemoryPlan.ALIGN, v + " offset " + m.offset()[id] + " not 64-aligned");
            if (v.persistent()) {
                persistent.add(v);
                assertTrue(m.offset()[id] + m.bytes()[id] <= m.persistentBytes(), v + " outside the persistent region");
            } else {
                arena.add(v);
                assertTrue(m.offset()[id] + m.bytes()[id] <= m.arenaBytes(), v + " outside the arena");
                if (used.get(id) || v.kind() == Value.Kind.INPUT) {
                    assertTrue(m.firstStep()[id] <= first[id] && m.lastStep()[id] >= last[id],
                            v + " live " + first[id] + ".." + last[id] + ", planned " + m.firstStep()[id] + ".." + m.lastStep()[id]);
                }
            }
        }
        for (Value v : readAtEnd)
            if (!v.persistent()) assertEquals(end, m.lastStep()[v.id()], v + " is read after the run");

        for (int i = 0; i < arena.size(); i++) {
            for (int j = i + 1; j < arena.size(); j++) {
                Value a = arena.get(i), b = arena.get(j);
                boolean liveTogether = first[a.id()] <= last[b.id()] && first[b.id()] <= last[a.id()];
                if (liveTogether && sharesBytes(m, a.id(), b.id()))
                    fail(a + " [" + first[a.id()] + ".." + last[a.id()] + "] and " + b + " [" + first[b.id()] + ".."
                            + last[b.id()] + "] are live together and share bytes at " + m.offset()[a.id()] + "/" + m.offset()[b.id()]);
            }
        }
        assertEquals(g.persistent().size(), persistent.size());
        for (int i = 0; i < persistent.size(); i++)
            for (int j = i + 1; j < persistent.size(); j++)
                assertTrue(!sharesBytes(m, persistent.get(i).id(), persistent.get(j).id()),
                        persistent.get(i) + " and " + persistent.get(j) + " overlap in the persistent region");

        long naive = 0;
        for (Value v : arena) naive += MemoryPlan.align(m.bytes()[v.id()]);
        assertEquals(naive, m.naiveArenaBytes(), "naive arena = every arena value laid end to end");
        assertTrue(m.arenaBytes() <= m.naiveArenaBytes(), "arena " + m.arenaBytes() + " > naive " + m.naiveArenaBytes());
    }

    @Test
    void chainReusesTwoBuffers() {
        // x -> a1 -> ... -> a10: at every step only the op's input and output are live, so two buffers suffice.
        var b = new GraphBuilder(DType.F32, false);
        Value v = b.input("x", 8, 8);
        for (int i = 0; i < 10; i++) v = b.apply("a", new Affine(2, 1), v);
        b.output("y", v);
        Graph g = b.build();
        int[] schedule = Compiler.schedule(g);
        MemoryPlan m = MemoryPlanner.plan(g, schedule);
        long one = MemoryPlan.align(8 * 8 * 4);
        assertEquals(11 * one, m.naiveArenaBytes());
        assertTrue(m.arenaBytes() < m.naiveArenaBytes());
        assertEquals(2 * one, m.arenaBytes());
    }

    @Test
    void unusedBranchIsNeitherScheduledNorPlaced() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 4);
        Value dead = b.apply("dead", new Affine(3, 0), x);
        b.output("y", b.apply("live", new Affine(2, 0), x));
        Graph g = b.build();
        int[] schedule = Compiler.schedule(g);
        assertArrayEquals(new int[] {1}, schedule);
        MemoryPlan m = MemoryPlanner.plan(g, schedule);
        assertTrue(!m.placed(dead.id()));
        assertEquals(2 * MemoryPlan.align(16), m.arenaBytes());   // x and y are both live at the one step
    }

    private static boolean sharesBytes(MemoryPlan m, int a, int b) {
        long a0 = m.offset()[a], a1 = a0 + m.bytes()[a], b0 = m.offset()[b], b1 = b0 + m.bytes()[b];
        return a0 < b1 && b0 < a1 && a1 > a0 && b1 > b0;
    }

    /** Reverse reachability from outputs and update sources. */
    private static BitSet neededNodes(Graph g) {
        BitSet neededValues = new BitSet(), nodes = new BitSet();
        for (Value v : g.outputs().values()) neededValues.set(v.id());
        for (Graph.Update u : g.updates()) neededValues.set(u.source().id());
        for (int i = g.nodes().size() - 1; i >= 0; i--) {
            Node n = g.nodes().get(i);
            if (n.outputs().stream().anyMatch(o -> neededValues.get(o.id()))) {
                nodes.set(i);
                for (Value in : n.inputs()) neededValues.set(in.id());
            }
        }
        return nodes;
    }

    // ------------------------------------------------------------------------------------------- generator

    /**
     * A random DAG of the core ops over 1-3 inputs and 0-3 persistent tensors: every new node reads random
     * earlier values (so fan-out is random and some branches are dead), a few values become outputs and about
     * half the persistent tensors get an update.
     */
    static Graph randomGraph(long seed, int nodes, DType dtype) {
        Random r = new Random(seed);
        var b = new GraphBuilder(dtype, r.nextBoolean());
        List<Value> pool = new ArrayList<>();
        int nIn = 1 + r.nextInt(3);
        for (int i = 0; i < nIn; i++) pool.add(b.input("in" + i, randomShape(r)));
        List<Value> persistent = new ArrayList<>();
        int nP = r.nextInt(4);
        for (int i = 0; i < nP; i++) {
            Value p = r.nextBoolean() ? b.param("p" + i, randomShape(r), Init.fanInUniform())
                    : b.state("s" + i, randomShape(r), Init.constant(r.nextDouble()));
            persistent.add(p);
            pool.add(p);
        }
        for (int k = 0; k < nodes; k++) {
            // Favour recent values a little, so chains form as well as wide fans.
            Value a = pool.get(r.nextInt(4) == 0 ? r.nextInt(pool.size()) : pool.size() - 1 - r.nextInt(Math.min(3, pool.size())));
            Value out = switch (r.nextInt(5)) {
                case 0 -> {
                    List<Value> partners = pool.stream().filter(v -> broadcasts(a.shape(), v.shape())).toList();
                    Value c = partners.get(r.nextInt(partners.size()));
                    Binary.Kind kind = Binary.Kind.values()[r.nextInt(4)];
                    yield r.nextBoolean() ? b.apply("bin", new Binary(kind), a, c) : b.apply("bin", new Binary(kind), c, a);
                }
                case 1 -> b.apply("affine", new Affine(r.nextDouble() * 2 - 1, r.nextDouble()), a);
                case 2 -> b.apply("fill", new Fill(randomShape(r).dims(), r.nextDouble()));
                case 3 -> b.apply("sum", new SumTo(reduced(r, a.shape())), a);
                default -> b.apply("bcast", new BroadcastTo(expanded(r, a.shape())), a);
            };
            pool.add(out);
        }
        int nOut = 1 + r.nextInt(3);
        for (int i = 0; i < nOut; i++) b.output("out" + i, pool.get(r.nextInt(pool.size())));
        for (Value p : persistent) {
            if (r.nextBoolean()) continue;
            List<Value> same = pool.stream().filter(v -> v.kind() == Value.Kind.NODE && v.shape().equals(p.shape())).toList();
            Value src = same.isEmpty() || r.nextInt(3) == 0 ? b.apply("upd", new Affine(0.5, 1), p)
                    : b.apply("upd", new Binary(Binary.Kind.ADD), p, same.get(r.nextInt(same.size())));
            b.update(p, src);
        }
        return b.build();
    }

    /**
     * Dimensions are >= 1: the planner gives a zero-size tensor a 64-byte arena slot but counts it as 0 in
     * naiveArenaBytes, so "arena <= naive" does not hold for graphs with empty tensors.
     */
    private static Shape randomShape(Random r) {
        int rank = r.nextInt(4);
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.nextInt(3) == 0 ? 1 : 1 + r.nextInt(5);
        return Shape.of(d);
    }

    private static boolean broadcasts(Shape a, Shape b) {
        try {
            Broadcast.shape(a, b);
            return true;
        } catch (ShapeException e) {
            return false;
        }
    }

    /** A shape that broadcasts to {@code s}: some leading dimensions dropped, some others set to 1. */
    private static int[] reduced(Random r, Shape s) {
        int drop = r.nextInt(s.rank() + 1);
        int[] d = Arrays.copyOfRange(s.dims(), drop, s.rank());
        for (int i = 0; i < d.length; i++) if (r.nextBoolean()) d[i] = 1;
        return d;
    }

    /** A shape {@code s} broadcasts to: up to two new leading dimensions, some size-1 dimensions widened. */
    private static int[] expanded(Random r, Shape s) {
        int extra = s.rank() >= 4 ? 0 : r.nextInt(Math.min(3, 5 - s.rank()));
        int[] d = new int[extra + s.rank()];
        for (int i = 0; i < extra; i++) d[i] = 1 + r.nextInt(3);
        for (int i = 0; i < s.rank(); i++) d[extra + i] = s.dim(i) == 1 && r.nextBoolean() ? 1 + r.nextInt(4) : s.dim(i);
        return d;
    }
}
