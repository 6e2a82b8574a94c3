package dev.stride.zoo.data;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchesTest {
    /** Without dropLast an epoch is a permutation: every index exactly once, full batches then one partial. */
    @Property(tries = 200)
    void epochIsAPermutationCutIntoBatches(@ForAll @IntRange(min = 0, max = 300) int size,
                                           @ForAll @IntRange(min = 1, max = 40) int batchSize,
                                           @ForAll long seed, @ForAll @IntRange(min = 0, max = 1000) int epoch) {
        var batches = new Batches(size, batchSize, false, seed);
        List<int[]> e = batches.epoch(epoch);
        assertEquals((size + batchSize - 1) / batchSize, e.size());
        assertEquals(e.size(), batches.count());
        int[] seen = new int[size];
        for (int b = 0; b < e.size(); b++) {
            int expected = b < e.size() - 1 || size % batchSize == 0 ? batchSize : size % batchSize;
            assertEquals(expected, e.get(b).length, "batch " + b);
            for (int i : e.get(b)) seen[i]++;
        }
        for (int i = 0; i < size; i++) assertEquals(1, seen[i], "index " + i);
    }

    /** dropLast removes exactly the partial batch; the full batches are those of the same epoch without it. */
    @Property(tries = 200)
    void dropLastDropsOnlyThePartialBatch(@ForAll @IntRange(min = 0, max = 300) int size,
                                          @ForAll @IntRange(min = 1, max = 40) int batchSize,
                                          @ForAll long seed, @ForAll @IntRange(min = 0, max = 1000) int epoch) {
        var keep = new Batches(size, batchSize, false, seed).epoch(epoch);
        var drop = new Batches(size, batchSize, true, seed);
        List<int[]> d = drop.epoch(epoch);
        assertEquals(size / batchSize, d.size());
        assertEquals(d.size(), drop.count());
        for (int b = 0; b < d.size(); b++) {
            assertEquals(batchSize, d.get(b).length);
            assertArrayEquals(keep.get(b), d.get(b), "batch " + b);
        }
        assertEquals(size % batchSize == 0 ? 0 : 1, keep.size() - d.size());
        // Distinct indices within the kept part, all in range.
        boolean[] seen = new boolean[size];
        for (int[] batch : d) {
            for (int i : batch) {
                assertFalse(seen[i], "index " + i + " twice");
                seen[i] = true;
            }
        }
    }

    @Property(tries = 50)
    void sameSeedAndEpochGiveTheSameOrderOthersDiffer(@ForAll long seed, @ForAll @IntRange(min = 0, max = 1000) int epoch) {
        int size = 200;
        var a = new Batches(size, 16, false, seed);
        var b = new Batches(size, 16, false, seed);
        int[] e = flatten(a.epoch(epoch));
        // Epoch e is the same whatever ran before it.
        b.epoch(epoch + 1);
        assertArrayEquals(e, flatten(b.epoch(epoch)));
        // 200! orders: a collision between two epochs or two seeds means the epoch or seed is not mixed in.
        assertFalse(Arrays.equals(e, flatten(a.epoch(epoch + 1))), "epochs " + epoch + " and " + (epoch + 1));
        assertFalse(Arrays.equals(e, flatten(new Batches(size, 16, false, seed + 1).epoch(epoch))), "seeds");
        // Shuffled, not the identity.
        int fixed = 0;
        for (int i = 0; i < size; i++) if (e[i] == i) fixed++;
        assertTrue(fixed < 10, fixed + " fixed points of 200");
    }

    @Test
    void shuffleIsRoughlyUniform() {
        // Where does index 0 land over 5000 epochs of 10? Each of the 10 positions ~500 times (sd ~21).
        var batches = new Batches(10, 10, false, 99);
        int[] position = new int[10];
        for (int e = 0; e < 5000; e++) {
            int[] order = batches.epoch(e).get(0);
            for (int k = 0; k < 10; k++) if (order[k] == 0) position[k]++;
        }
        for (int k = 0; k < 10; k++) assertTrue(position[k] > 400 && position[k] < 600, Arrays.toString(position));
    }

    /** count() is ceil or floor of size / batchSize over the whole int range, including sizes near 2^31. */
    @Property(tries = 300)
    void countMatchesTheQuotient(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int size,
                                 @ForAll @IntRange(min = 1, max = Integer.MAX_VALUE) int batchSize) {
        long ceil = ((long) size + batchSize - 1) / batchSize;
        assertEquals(ceil, new Batches(size, batchSize, false, 0).count(), size + " / " + batchSize);
        assertEquals(size / batchSize, new Batches(size, batchSize, true, 0).count(), size + " / " + batchSize);
    }

    @Test
    void countAtTheTopOfTheIntRange() {
        int max = Integer.MAX_VALUE;
        assertEquals(33554432, new Batches(max, 64, false, 0).count());   // ceil((2^31 - 1) / 64) = 2^25
        assertEquals(33554431, new Batches(max, 64, true, 0).count());
        assertEquals(1, new Batches(max, max, false, 0).count());
        assertEquals(2, new Batches(max, max - 1, false, 0).count());
    }

    @Test
    void hugeBatchSizeMeansOneBatch() {
        List<int[]> e = new Batches(3, Integer.MAX_VALUE, false, 5).epoch(0);
        assertEquals(1, e.size());
        assertArrayEquals(new int[] {0, 1, 2}, Arrays.stream(e.get(0)).sorted().toArray());
        assertEquals(List.of(), new Batches(3, Integer.MAX_VALUE, true, 5).epoch(0));
    }

    @Test
    void edgeSizes() {
        assertEquals(List.of(), new Batches(0, 4, false, 1).epoch(0));
        assertEquals(List.of(), new Batches(3, 4, true, 1).epoch(0));
        assertEquals(1, new Batches(3, 4, false, 1).epoch(0).size());
        assertEquals(4, new Batches(3, 4, false, 1).batchSize());
        assertThrows(IllegalArgumentException.class, () -> new Batches(-1, 4, false, 1));
        assertThrows(IllegalArgumentException.class, () -> new Batches(4, 0, false, 1));
    }

    @Test
    void oneHotWritesOnesAtTheLabels() {
        float[] out = new float[4 * 3];
        Arrays.fill(out, 7f);   // stale values from a previous batch must be cleared
        Batches.oneHot(new float[] {2, 0, 1, 9}, 3, 3, out);
        assertArrayEquals(new float[] {0, 0, 1, 1, 0, 0, 0, 1, 0, 7, 7, 7}, out);
        assertThrows(IllegalArgumentException.class, () -> Batches.oneHot(new float[] {3}, 1, 3, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> Batches.oneHot(new float[] {-1}, 1, 3, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> Batches.oneHot(new float[] {0.5f}, 1, 3, new float[3]));
    }

    private static int[] flatten(List<int[]> batches) {
        return batches.stream().flatMapToInt(Arrays::stream).toArray();
    }
}
