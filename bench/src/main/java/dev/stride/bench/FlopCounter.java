package dev.stride.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Floating-point operations done, which JMH divides by the measured time: a benchmark adds its plan's
 * {@code Plan.flops()} per call, and JMH reports the counter as the secondary result {@code flop} in ops per the
 * benchmark's time unit ({@code ops/ns}, which is GFLOP/s, in the benchmarks of this package). {@link Report}
 * turns it into GFLOP/s and FLOPs per call.
 */
@AuxCounters(AuxCounters.Type.OPERATIONS)
@State(Scope.Thread)
public class FlopCounter {
    public long flop;

    @Setup(Level.Iteration)
    public void reset() { flop = 0; }
}
