package dev.stride.graph;

/**
 * Where every tensor of a plan lives. Inputs and node outputs share one arena, packed by lifetime; parameters
 * and state have their own persistent region. Indexed by value id; {@code offset = -1} for a value the
 * schedule never touches. Lifetimes are in schedule steps: inputs start at -1, values read by the caller
 * (outputs, update sources) end at {@code scheduleLength}.
 */
public record MemoryPlan(long[] offset, long[] bytes, int[] firstStep, int[] lastStep,
                         long arenaBytes, long naiveArenaBytes, long persistentBytes) {
    /** Buffers start on 64-byte boundaries: a cache line, and the widest vector load. */
    public static final int ALIGN = 64;

    public static long align(long n) { return (n + ALIGN - 1) & -ALIGN; }

    public boolean placed(int valueId) { return offset[valueId] >= 0; }

    /** Whether two arena values are live at the same schedule step. */
    public boolean overlapInTime(int a, int b) {
        return firstStep[a] <= lastStep[b] && firstStep[b] <= lastStep[a];
    }
}
