package dev.stride.engine.cpu;

import dev.stride.graph.op.Affine;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Cpu kernels for elementwise ops: Unary and its backward, Binary, Affine, Fill, BroadcastTo, SumTo, BiasBroadcast, PRelu. */
final class ElementwiseKernels {
    private ElementwiseKernels() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    static void register(CpuKernelRegistry r) {
        r.register(Affine.class, (op, node) -> {
            MemorySegment x = node.in(0), y = node.out(0);
            long n = y.byteSize() / 4;
            float a = (float) op.scale(), c = (float) op.shift();
            VectorSpecies<Float> s = VectorConfig.SPECIES;
            boolean simd = VectorConfig.SIMD;
            return ctx -> {
                long i = 0;
                if (simd) {
                    FloatVector va = FloatVector.broadcast(s, a), vc = FloatVector.broadcast(s, c);
                    for (long end = n - s.length(); i <= end; i += s.length())
                        FloatVector.fromMemorySegment(s, x, i * 4, NATIVE).fma(va, vc).intoMemorySegment(y, i * 4, NATIVE);
                }
                for (; i < n; i++) y.setAtIndex(F, i, Math.fma(x.getAtIndex(F, i), a, c)); // scalar tail
            };
        });
    }
}
