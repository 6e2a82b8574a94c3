package dev.stride.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The single-precision FMA throughput this machine gives to Java code: the ceiling every CPU kernel's GFLOP/s is
 * read against. Twelve independent accumulator chains of the preferred species, each step one vector FMA: enough
 * chains to cover FMA latency times FMA ports (4 cycles x 2 ports = 8 on Zen 3 and on Intel since Skylake), few
 * enough that the chains and the two operands stay in the 16 registers of AVX2 (no spills).
 *
 * <p>Read the {@code flop} counter: throughput in ops/ns of floating-point operations (an FMA counts 2), which is
 * GFLOP/s. {@code oneThread} is the peak of one core, {@code twoThreads} that of two.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FmaPeakBenchmark {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int CHAINS = 12;
    static final int STEPS = 4096;
    static final long FLOP_PER_CALL = 2L * CHAINS * STEPS * S.length();

    /** Floating-point operations done, which JMH divides by the measured time. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flop {
        public long flop;

        @Setup(Level.Iteration)
        public void reset() { flop = 0; }
    }

    // Fields, not constants, so the JIT cannot fold the chains. Each step adds x * y = 1e-3 to every chain: no
    // overflow and no denormals over the 4096 steps of a call.
    float x = 0.999f;
    float y = 1e-3f;

    @Benchmark
    @Threads(1)
    public float oneThread(Flop counter) {
        counter.flop += FLOP_PER_CALL;
        return chains();
    }

    @Benchmark
    @Threads(2)
    public float twoThreads(Flop counter) {
        counter.flop += FLOP_PER_CALL;
        return chains();
    }

    /*
     * acc = x * y + acc, the accumulating form, is what x86's vfmadd231ps does in place. The first version,
     * acc = acc * x + y, made C2 copy y into a fresh register before every FMA and spill chains to the stack: it
     * measured 85 GFLOP/s here, below the 96 of the GEMM micro-kernel, so it was not the peak.
     */
    private float chains() {
        FloatVector vx = FloatVector.broadcast(S, x), vy = FloatVector.broadcast(S, y);
        FloatVector a0 = vy, a1 = vy, a2 = vy, a3 = vy, a4 = vy, a5 = vy;
        FloatVector a6 = vy, a7 = vy, a8 = vy, a9 = vy, a10 = vy, a11 = vy;
        for (int i = 0; i < STEPS; i++) {
            a0 = vx.fma(vy, a0); a1 = vx.fma(vy, a1); a2 = vx.fma(vy, a2); a3 = vx.fma(vy, a3);
            a4 = vx.fma(vy, a4); a5 = vx.fma(vy, a5); a6 = vx.fma(vy, a6); a7 = vx.fma(vy, a7);
            a8 = vx.fma(vy, a8); a9 = vx.fma(vy, a9); a10 = vx.fma(vy, a10); a11 = vx.fma(vy, a11);
        }
        // Every chain feeds the result, so none is dead code.
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
