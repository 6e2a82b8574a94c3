package dev.stride.engine;

import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Upsample2d;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shared pooling windows ({@link PoolWindows}) and resampling taps ({@link ResampleTaps}) that every backend's
 * kernels read, on small cases worked out by hand (the kernels themselves are compared across backends elsewhere).
 */
class GeometryTablesTest {
    @Test
    void maxPoolingTapsLeaveOutPaddingAndFollowTheDilation() {
        // k 3, stride 2, pad 1 over 5 cells: windows start at -1, 1, 3.
        assertArrayEquals(new int[][] {{0, 1}, {1, 2, 3}, {3, 4}}, PoolWindows.taps(3, 5, 3, 2, 1, 1));
        // k 2, dilation 3: taps o and o + 3.
        assertArrayEquals(new int[][] {{0, 3}, {1, 4}}, PoolWindows.taps(2, 5, 2, 1, 0, 3));
    }

    @Test
    void averageBoxesClipToTheInputAndCountThePaddedWindow() {
        // k 3, stride 2, padding 1 on both sides of 5 cells: [-1, 2), [1, 4), [3, 6).
        PoolWindows.Boxes b = PoolWindows.average(5, 3, 3, 2, 1, 1);
        assertArrayEquals(new int[] {0, 1, 3}, b.lo());
        assertArrayEquals(new int[] {2, 4, 5}, b.hi());
        assertArrayEquals(new int[] {3, 3, 3}, b.padded());
        // Ceil mode, k 2, stride 2 over 5 cells with 1 of end padding: the last window [4, 6) has one real cell.
        PoolWindows.Boxes ceil = PoolWindows.average(5, 3, 2, 2, 0, 1);
        assertArrayEquals(new int[] {0, 2, 4}, ceil.lo());
        assertArrayEquals(new int[] {2, 4, 5}, ceil.hi());
        assertArrayEquals(new int[] {2, 2, 2}, ceil.padded());
        assertEquals(1, ceil.real(2));
        // Divisors of the 3 x 3 windows of ceil x ceil: padded 2 * 2 everywhere, or real cells only.
        assertArrayEquals(new double[] {4, 4, 4, 4, 4, 4, 4, 4, 4}, PoolWindows.divisors(ceil, ceil, true));
        assertArrayEquals(new double[] {4, 4, 2, 4, 4, 2, 2, 2, 1}, PoolWindows.divisors(ceil, ceil, false));
    }

    @Test
    void adaptiveBinsOverlapWhenTheSizesDoNotDivide() {
        // 5 cells into 3 bins: [floor(5o/3), ceil(5(o+1)/3)) = [0, 2), [1, 4), [3, 5).
        PoolWindows.Boxes b = PoolWindows.adaptive(5, 3);
        assertArrayEquals(new int[] {0, 1, 3}, b.lo());
        assertArrayEquals(new int[] {2, 4, 5}, b.hi());
        assertArrayEquals(new int[] {2, 3, 2}, b.padded());
        assertArrayEquals(new double[] {4, 6, 4, 6, 9, 6, 4, 6, 4}, PoolWindows.divisors(b, b, false));
    }

    @Test
    void upsamplingTaps() {
        // Nearest, 2 -> 5: floor(o * 2 / 5).
        ResampleTaps n = ResampleTaps.upsample(Upsample2d.Mode.NEAREST, 2, 5, false);
        assertArrayEquals(new int[] {0, 0, 0, 1, 1}, n.i0());
        assertArrayEquals(n.i0(), n.i1());
        assertArrayEquals(new double[] {1, 1, 1, 1, 1}, n.w0());
        // Bilinear, 2 -> 4, half-pixel centres: sources max(0, (o + 0.5) / 2 - 0.5) = 0, 0.25, 0.75, 1.25; the last
        // repeats the edge.
        ResampleTaps l = ResampleTaps.upsample(Upsample2d.Mode.BILINEAR, 2, 4, false);
        assertArrayEquals(new int[] {0, 0, 0, 1}, l.i0());
        assertArrayEquals(new int[] {1, 1, 1, 1}, l.i1());
        assertArrayEquals(new double[] {0, 0.25, 0.75, 0.25}, l.w1());
        assertArrayEquals(new double[] {1, 0.75, 0.25, 0.75}, l.w0());
        // Align corners, 3 -> 5: sources 0, 0.5, 1, 1.5, 2.
        ResampleTaps a = ResampleTaps.upsample(Upsample2d.Mode.BILINEAR, 3, 5, true);
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, a.i0());
        assertArrayEquals(new double[] {0, 0.5, 0, 0.5, 0}, a.w1());
        assertArrayEquals(new float[] {1, 0.5f, 1, 0.5f, 1}, a.w0f());
        assertArrayEquals(new long[] {0, 0, 1, 1, 2}, a.i0l());
    }

    @Test
    void resizeTapsInEachCoordinateMode() {
        // Linear, half pixel, 4 -> 2 (scale 0.5): sources 2o + 0.5.
        ResampleTaps down = ResampleTaps.resize(Resize2d.Mode.LINEAR, Resize2d.Coord.HALF_PIXEL,
                Resize2d.Nearest.ROUND_PREFER_FLOOR, 4, 2, 0.5);
        assertArrayEquals(new int[] {0, 2}, down.i0());
        assertArrayEquals(new int[] {1, 3}, down.i1());
        assertArrayEquals(new double[] {0.5, 0.5}, down.w1());
        // Linear, asymmetric, 3 -> 5 (scale 5/3): sources 0.6 o; 2.4 repeats the edge.
        ResampleTaps up = ResampleTaps.resize(Resize2d.Mode.LINEAR, Resize2d.Coord.ASYMMETRIC,
                Resize2d.Nearest.ROUND_PREFER_FLOOR, 3, 5, 5 / 3.0);
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, up.i0());
        assertArrayEquals(new int[] {1, 1, 2, 2, 2}, up.i1());
        double[] w1 = up.w1();
        double[] want = {0, 0.6, 0.2, 0.8, 0.4};
        for (int o = 0; o < 5; o++) assertEquals(want[o], w1[o], 1e-12, "w1 of output " + o);
        // Nearest, asymmetric, 2 -> 4 (scale 2): sources 0, 0.5, 1, 1.5; ties go down or up by the rounding mode.
        for (var mode : new Resize2d.Nearest[] {Resize2d.Nearest.ROUND_PREFER_FLOOR, Resize2d.Nearest.ROUND_PREFER_CEIL}) {
            ResampleTaps t = ResampleTaps.resize(Resize2d.Mode.NEAREST, Resize2d.Coord.ASYMMETRIC, mode, 2, 4, 2);
            assertArrayEquals(mode == Resize2d.Nearest.ROUND_PREFER_FLOOR ? new int[] {0, 0, 1, 1} : new int[] {0, 1, 1, 1},
                    t.i0(), mode.toString());
            assertArrayEquals(new double[] {0, 0, 0, 0}, t.w1());
        }
        // Align corners, 3 -> 5 (scale 5/3): sources o * 2 / 4.
        ResampleTaps ac = ResampleTaps.resize(Resize2d.Mode.LINEAR, Resize2d.Coord.ALIGN_CORNERS,
                Resize2d.Nearest.ROUND_PREFER_FLOOR, 3, 5, 5 / 3.0);
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, ac.i0());
    }
}
