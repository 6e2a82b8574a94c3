package dev.stride.engine.cuda;

import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Transpose;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The layout family's cuda kernels against the reference ({@link CudaCrossBackend}: the emulated device by default,
 * the GPU with -Pgpu), to the bit against the float32 reference, forward and the gradient through autodiff (itself
 * made of layout ops: Transpose, Pad/Slice, PadBackward, GatherBackward): copies move floats unchanged, and the two
 * adding gradients sum each cell's sources in the reference's order. Each gradient op is also fed directly. Random
 * shapes and attributes reach size-1 and empty dimensions, negative axes and indices, repeated indices and pads
 * longer than the axis they mirror or wrap.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaLayoutKernelsTest {
    /** Against the float32 reference, forward and (through the loss's product and sum) every gradient. */
    private static CudaCrossBackend.Options exact(Integer... grads) {
        return CudaCrossBackend.Options.forward("exact").againstFloat32().withGradients(grads);
    }

    /** Random dims in [1, max], a size 1 now and then. */
    static int[] dims(Random r, int rank, int max) {
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(max);
        return d;
    }

    @Property(tries = 40)
    void transposeIsTheReferencesPermutation(@ForAll @IntRange(min = 0, max = 5) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 5));
        List<Integer> p = new ArrayList<>();
        for (int i = 0; i < rank; i++) p.add(i);
        java.util.Collections.shuffle(p, r);
        int[] perm = p.stream().mapToInt(Integer::intValue).toArray();
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("t", new Transpose(perm), x.getFirst())), seed, exact(0));
    }

    @Property(tries = 40)
    void sliceAndConcat(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll @IntRange(min = 1, max = 4) int parts,
                        @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 6));
        int[] starts = new int[rank], ends = new int[rank];
        for (int i = 0; i < rank; i++) {
            starts[i] = r.nextInt(s.dim(i) + 1);
            ends[i] = starts[i] + r.nextInt(s.dim(i) - starts[i] + 1);   // empty boxes too
        }
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("slice", new Slice(starts, ends), x.getFirst())),
                seed, exact(0));
        int axis = r.nextInt(rank);
        List<Shape> shapes = new ArrayList<>();
        for (int k = 0; k < parts; k++) shapes.add(s.with(axis, r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(4)));
        Integer[] all = new Integer[parts];
        for (int k = 0; k < parts; k++) all[k] = k;
        CudaCrossBackend.check(shapes, (b, x) -> List.of(b.apply("cat", new Concat(axis), x.toArray(Value[]::new))),
                seed, exact(all));
    }

    @Property(tries = 60)
    void padInEveryModeAndItsGradient(@ForAll Pad.Mode mode, @ForAll @IntRange(min = 0, max = 4) int rank,
                                      @ForAll long seed) {
        Random r = new Random(seed);
        Shape x = Shape.of(dims(r, rank, 4));
        int[] before = new int[rank], after = new int[rank];
        for (int i = 0; i < rank; i++) {
            // Longer than the axis now and then: reflect and wrap repeat as far as needed.
            before[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(2 * x.dim(i) + 2);
            after[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(2 * x.dim(i) + 2);
        }
        double value = r.nextGaussian();
        Pad pad = new Pad(before, after, value, mode);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pad", pad, v.getFirst())), seed, exact(0));
        Shape y = pad.inferShapes(List.of(x)).getFirst();
        CudaCrossBackend.check(List.of(y), (b, v) -> List.of(b.apply("pad_grad", new PadBackward(before, after, mode),
                v.getFirst())), seed, exact(0));
    }

    @Property(tries = 50)
    void gatherAndItsGradientWithRepeatedAndNegativeIndices(@ForAll @IntRange(min = 1, max = 4) int rank,
                                                            @ForAll @IntRange(min = 0, max = 2) int indexRank,
                                                            @ForAll long seed) {
        Random r = new Random(seed);
        Shape x = Shape.of(dims(r, rank, 5));
        int axis = r.nextInt(2 * rank) - rank;   // negative half the time
        int n = x.dim(axis < 0 ? axis + rank : axis);
        int[] indicesShape = dims(r, indexRank, 3);
        if (indexRank > 0 && r.nextInt(6) == 0) indicesShape[0] = 0;   // no indices at all
        long[] indices = new long[Arrays.stream(indicesShape).reduce(1, (a, c) -> a * c)];
        for (int j = 0; j < indices.length; j++) indices[j] = r.nextInt(2 * n) - n;   // in [-n, n): repeats likely
        Gather g = new Gather(axis, indices, indicesShape);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("gather", g, v.getFirst())), seed, exact(0));
        Shape dy = g.inferShapes(List.of(x)).getFirst();
        int a = axis < 0 ? axis + rank : axis;
        CudaCrossBackend.check(List.of(dy), (b, v) -> List.of(b.apply("gather_grad",
                new GatherBackward(a, indices, indicesShape, n), v.getFirst())), seed, exact(0));
    }

    /** PadBackward's table by hand: [1, 2, 3] reflect-padded by 2 in front and 4 behind is 3 2 [1 2 3] 2 1 2 3. */
    @Example
    void padBackwardListsEveryPositionThatCopiesACell() {
        long[] t = CudaLayoutKernels.padSources(Shape.of(3), Shape.of(9), new int[] {2}, Pad.Mode.REFLECT);
        assertEquals(3, t[0]);   // x dim
        assertEquals(1, t[1]);   // dy stride
        assertEquals(3, t[2]);   // the axis's offsets follow the head
        // Positions 0..8 copy cells 2 1 0 1 2 1 0 1 2: cell 0 <- {2, 6}, cell 1 <- {1, 3, 5, 7}, cell 2 <- {0, 4, 8}.
        assertArrayEquals(new long[] {7, 9, 13, 16, 2, 6, 1, 3, 5, 7, 0, 4, 8}, Arrays.copyOfRange(t, 3, t.length));
    }
}
