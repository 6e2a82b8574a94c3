package dev.stride.engine.cpu;

import dev.stride.graph.Compiler;
import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Value;
import dev.stride.graph.op.Unary;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Helpers of the convolution kernel tests: a target that forces algorithms, raw buffers, a direct oracle. */
final class ConvTesting {
    private ConvTesting() {}

    /**
     * The cpu target with fusion, whose algorithm for each op class in {@code forced} is the given one (other ops
     * as the heuristic chooses): how a test makes sure the kernel under test is the one that runs.
     */
    static Compiler.Target forcing(Map<Class<? extends Op>, String> forced) {
        return new Compiler.Target(CpuBackend.NAME, CpuBackend.info(), new CpuAlgorithms(CpuBackend.kernels(), true,
                n -> forced.containsKey(n.op().getClass()) ? forced.get(n.op().getClass()) : ConvChooser.choose(n)));
    }

    /** A native float buffer, shared (pool threads read it), filled uniform in [-1, 1). */
    static MemorySegment random(long floats, Random r) {
        MemorySegment s = Arena.ofAuto().allocate(floats * 4, 64);
        for (long i = 0; i < floats; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() * 2 - 1));
        return s;
    }

    static MemorySegment zeros(long floats) { return Arena.ofAuto().allocate(Math.max(1, floats) * 4, 64); }

    static float[] floats(MemorySegment s) { return s.toArray(ValueLayout.JAVA_FLOAT); }

    /**
     * The correlation out[n][o][oy][ox] = sum over c, ky, kx of in[n][c][oy*s + rowOff + ky*d][ox*s + colOff + kx*d]
     * * w(o, c, ky, kx), zero outside the input, in double: w(o, c, ky, kx) = w[o][c][ky][kx], or with
     * {@code rotated} w[c][o][kH-1-ky][kW-1-kx] (the data gradient's filter). Groups: channels c of group o / (O/g).
     */
    static double[] correlate(float[] in, int n, int c, int h, int w, float[] wt, int o, int kh, int kw, int ho, int wo,
                              int rowOff, int colOff, int stride, int dil, int groups, boolean rotated) {
        double[] out = new double[n * o * ho * wo];
        int cg = c / groups, og = o / groups;
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        double s = 0;
                        int grp = oc / og;
                        for (int icl = 0; icl < cg; icl++) {
                            int ic = grp * cg + icl;
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int iy = oy * stride + rowOff + ky * dil, ix = ox * stride + colOff + kx * dil;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    double wv = rotated ? wt[((ic * o + oc) * kh + kh - 1 - ky) * kw + kw - 1 - kx]
                                            : wt[((oc * cg + icl) * kh + ky) * kw + kx];
                                    s += in[((b * c + ic) * h + iy) * w + ix] * wv;
                                }
                        }
                        out[((b * o + oc) * ho + oy) * wo + ox] = s;
                    }
        return out;
    }

    /** Fails unless every |got - want| <= atol + rtol |want|. */
    static void assertClose(float[] got, double[] want, Tolerances.Tol tol, String what) {
        if (got.length != want.length) throw new AssertionError(what + ": " + got.length + " values, want " + want.length);
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= tol.atol() + tol.rtol() * Math.abs(want[i])))
                throw new AssertionError(what + ": at " + i + " got " + got[i] + ", want " + want[i] + " (|err| " + err
                        + ", tolerance " + tol + ")");
        }
    }

    /**
     * Buffers for every value of {@code g}, random in [-1, 1) ({@code positive}: in [0.1, 1.1), for variances),
     * outputs zero: what a test binds a kernel to without a program.
     */
    static Map<Integer, MemorySegment> buffers(Graph g, Random r, String... positive) {
        Map<Integer, MemorySegment> m = new HashMap<>();
        List<String> pos = List.of(positive);
        for (Value v : g.values()) {
            MemorySegment s = v.kind() == Value.Kind.NODE ? zeros(v.shape().size()) : random(v.shape().size(), r);
            if (pos.contains(v.name()))
                for (long i = 0; i < v.shape().size(); i++)
                    s.setAtIndex(ValueLayout.JAVA_FLOAT, i, Math.abs(s.getAtIndex(ValueLayout.JAVA_FLOAT, i)) + 0.1f);
            m.put(v.id(), s);
        }
        return m;
    }

    /** {@code head} bound as a program would bind it, with {@code fused} (in order) fused into it. */
    static CpuNode bind(Node head, List<Node> fused, Map<Integer, MemorySegment> buffers, CpuRuntime rt, String algorithm) {
        MemorySegment[] in = head.inputs().stream().map(v -> buffers.get(v.id())).toArray(MemorySegment[]::new);
        MemorySegment[] out = head.outputs().stream().map(v -> buffers.get(v.id())).toArray(MemorySegment[]::new);
        List<MemorySegment[]> fusedIn = new ArrayList<>();
        for (Node f : fused) fusedIn.add(f.inputs().stream().map(v -> buffers.get(v.id())).toArray(MemorySegment[]::new));
        if (!fused.isEmpty()) out[0] = buffers.get(fused.getLast().outputs().getFirst().id());
        return new CpuNode(head, algorithm, in, out, fused, fusedIn, rt);
    }

    /** A fusable activation in double, as the reference kernel computes it. */
    static double activate(Unary.Fn fn, double alpha, double y) {
        return switch (fn) {
            case RELU -> Math.max(y, 0);
            case LEAKY_RELU -> y < 0 ? alpha * y : y;
            case ELU -> y <= 0 ? alpha * Math.expm1(y) : y;
            case SIGMOID -> 1 / (1 + Math.exp(-y));
            case TANH -> Math.tanh(y);
            default -> throw new IllegalArgumentException("not fusable: " + fn);
        };
    }
}
