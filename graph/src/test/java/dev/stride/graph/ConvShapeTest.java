package dev.stride.graph;

import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvShapeTest {

    /**
     * Output size counted rather than computed: the number of window positions i >= 0 whose last tap
     * i*s + d*(k-1) still lies inside the padded input of n + p0 + p1 pixels (0 when none fits).
     */
    static int countWindows(int n, int p0, int p1, int k, int d, int s) {
        int count = 0;
        for (int i = 0; (long) i * s + (long) d * (k - 1) <= n + p0 + p1 - 1; i++) count++;
        return count;
    }

    private static String convHeightRule(int h, int pt, int pb, int d, int k, int s) {
        long out = Math.floorDiv((long) h + pt + pb - (long) d * (k - 1) - 1, s) + 1;
        return String.format("output height = floor((H + padTop + padBottom - dilationH*(kH-1) - 1)/strideH) + 1"
                + " = floor((%d + %d + %d - %d*(%d-1) - 1)/%d) + 1 = %d, must be >= 1", h, pt, pb, d, k, s, out);
    }

    private static String convWidthRule(int w, int pl, int pr, int d, int k, int s) {
        long out = Math.floorDiv((long) w + pl + pr - (long) d * (k - 1) - 1, s) + 1;
        return String.format("output width = floor((W + padLeft + padRight - dilationW*(kW-1) - 1)/strideW) + 1"
                + " = floor((%d + %d + %d - %d*(%d-1) - 1)/%d) + 1 = %d, must be >= 1", w, pl, pr, d, k, s, out);
    }

    @Property(tries = 400)
    void conv2dShapeFollowsTheFormulaOrNamesTheRuleBroken(
            @ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 8) int c,
            @ForAll @IntRange(min = 1, max = 8) int o, @ForAll @IntRange(min = 1, max = 4) int groups,
            @ForAll @IntRange(min = 1, max = 12) int h, @ForAll @IntRange(min = 1, max = 12) int w,
            @ForAll @IntRange(min = 1, max = 5) int kh, @ForAll @IntRange(min = 1, max = 5) int kw,
            @ForAll @IntRange(min = 1, max = 4) int sh, @ForAll @IntRange(min = 1, max = 4) int sw,
            @ForAll @IntRange(min = 0, max = 3) int pt, @ForAll @IntRange(min = 0, max = 3) int pl,
            @ForAll @IntRange(min = 0, max = 3) int pb, @ForAll @IntRange(min = 0, max = 3) int pr,
            @ForAll @IntRange(min = 1, max = 3) int dh, @ForAll @IntRange(min = 1, max = 3) int dw,
            @ForAll boolean bias) {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", n, c, h, w);
        Value wt = b.input("w", o, Math.max(1, c / groups), kh, kw);
        Value bs = bias ? b.input("b", o) : null;
        ConvSpec spec = ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr).dilation(dh, dw).groups(groups);
        int ho = countWindows(h, pt, pb, kh, dh, sh), wo = countWindows(w, pl, pr, kw, dw, sw);
        if (c % groups != 0) {
            var e = assertThrows(GraphException.class, () -> b.conv2d(x, wt, bs, spec));
            assertTrue(e.getMessage().contains("input channels C = " + c + " must be divisible by groups = " + groups),
                    e.getMessage());
        } else if (o % groups != 0) {
            var e = assertThrows(GraphException.class, () -> b.conv2d(x, wt, bs, spec));
            assertTrue(e.getMessage().contains("O = w.dim(0) = " + o + " must be divisible by groups = " + groups),
                    e.getMessage());
        } else if (ho < 1) {
            var e = assertThrows(GraphException.class, () -> b.conv2d(x, wt, bs, spec));
            assertTrue(e.getMessage().contains(convHeightRule(h, pt, pb, dh, kh, sh)), e.getMessage());
        } else if (wo < 1) {
            var e = assertThrows(GraphException.class, () -> b.conv2d(x, wt, bs, spec));
            assertTrue(e.getMessage().contains(convWidthRule(w, pl, pr, dw, kw, sw)), e.getMessage());
        } else {
            Value y = b.conv2d(x, wt, bs, spec);
            assertEquals(Shape.of(n, o, ho, wo), y.shape());
            Conv2d op = new Conv2d(sh, sw, pt, pl, pb, pr, dh, dw, groups);
            List<Shape> ins = bias ? List.of(x.shape(), wt.shape(), bs.shape()) : List.of(x.shape(), wt.shape());
            long macs = (long) n * o * ho * wo * (c / groups) * kh * kw;
            assertEquals(2 * macs + (bias ? (long) n * o * ho * wo : 0), op.flops(ins, List.of(y.shape())));
            // The gradient ops recover the input and weight shapes from the output's.
            assertEquals(x.shape(), op.backwardData(h, w).inferShapes(List.of(y.shape(), wt.shape())).getFirst());
            assertEquals(wt.shape(), op.backwardFilter(kh, kw).inferShapes(List.of(x.shape(), y.shape())).getFirst());
        }
    }

    @Test
    void outputSizeMessageEvaluatesTheFormula() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 3, 5, 5);
        var e = assertThrows(GraphException.class, () -> b.conv2d("conv1", x, 8, 7, ConvSpec.defaults()));
        String m = e.getMessage();
        assertTrue(m.contains("node 'conv1' (Conv2d"), m);
        assertTrue(m.contains("[1, 3, 5, 5], [8, 3, 7, 7], [8]"), m);
        assertTrue(m.contains("output height = floor((H + padTop + padBottom - dilationH*(kH-1) - 1)/strideH) + 1"
                + " = floor((5 + 0 + 0 - 1*(7-1) - 1)/1) + 1 = -1, must be >= 1"), m);
    }

    @Test
    void badAttributesAndShapesAreReportedWithTheirNumbers() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 2, 4, 8, 8);
        Value w = b.input("w", 6, 2, 3, 3);
        assertMessage(() -> b.conv2d(x, w, null, ConvSpec.defaults().stride(0, 1)),
                "stride must be >= 1, got strideH = 0, strideW = 1");
        assertMessage(() -> b.conv2d(x, w, null, ConvSpec.defaults().dilation(1, 0)),
                "dilation must be >= 1, got dilationH = 1, dilationW = 0");
        assertMessage(() -> b.conv2d(x, w, null, ConvSpec.defaults().pad(0, -1, 0, 0)),
                "padding must be >= 0, got padTop = 0, padLeft = -1");
        assertMessage(() -> b.conv2d(x, w, null, ConvSpec.defaults().groups(0)), "groups must be >= 1, got 0");
        assertMessage(() -> b.conv2d(x, w, null, ConvSpec.defaults()),
                "weight dimension 1 must be C/groups = 4/1 = 4, got 2");
        assertMessage(() -> b.conv2d(x, w, b.input("b5", 5), ConvSpec.defaults().groups(2)),
                "bias must have shape [6] (one per output channel), got [5]");
        assertMessage(() -> b.conv2d(b.input("x3", 4, 8, 8), w, null, ConvSpec.defaults()),
                "input x must have rank 4 [N, C, H, W], got [4, 8, 8]");
        // With groups = 2 the same tensors are valid.
        assertEquals(Shape.of(2, 6, 6, 6), b.conv2d(x, w, null, ConvSpec.defaults().groups(2)).shape());
        var e = assertThrows(GraphException.class, () -> b.conv2d("bad", b.input("x2", 4, 8), 3, 3, null));
        assertTrue(e.getMessage().contains("must have rank 4"), e.getMessage());
    }

    private static void assertMessage(Runnable r, String expected) {
        var e = assertThrows(GraphException.class, r::run);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Property(tries = 300)
    void samePaddingGivesCeilOfSizeOverStride(
            @ForAll @IntRange(min = 1, max = 20) int h, @ForAll @IntRange(min = 1, max = 20) int w,
            @ForAll @IntRange(min = 1, max = 6) int kh, @ForAll @IntRange(min = 1, max = 6) int kw,
            @ForAll @IntRange(min = 1, max = 5) int sh, @ForAll @IntRange(min = 1, max = 5) int sw,
            @ForAll @IntRange(min = 1, max = 3) int dh, @ForAll @IntRange(min = 1, max = 3) int dw) {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, h, w);
        Value y = b.conv2d("c", x, 3, kh, kw, ConvSpec.defaults().stride(sh, sw).dilation(dh, dw).padSame());
        assertEquals(Shape.of(1, 3, (h + sh - 1) / sh, (w + sw - 1) / sw), y.shape());
        Conv2d op = (Conv2d) b.build0().nodes().getLast().op();
        int th = Math.max(((h + sh - 1) / sh - 1) * sh + (kh - 1) * dh + 1 - h, 0);
        int tw = Math.max(((w + sw - 1) / sw - 1) * sw + (kw - 1) * dw + 1 - w, 0);
        // SAME_UPPER: the odd pixel goes to the bottom / right.
        assertEquals(List.of(th / 2, tw / 2, th - th / 2, tw - tw / 2),
                List.of(op.padTop(), op.padLeft(), op.padBottom(), op.padRight()));
    }

    @Property(tries = 300)
    void convTranspose2dShapeFollowsTheFormulaOrNamesTheRuleBroken(
            @ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 6) int cin,
            @ForAll @IntRange(min = 1, max = 3) int coutPerGroup, @ForAll @IntRange(min = 1, max = 3) int groups,
            @ForAll @IntRange(min = 1, max = 7) int h, @ForAll @IntRange(min = 1, max = 7) int w,
            @ForAll @IntRange(min = 1, max = 4) int kh, @ForAll @IntRange(min = 1, max = 4) int kw,
            @ForAll @IntRange(min = 1, max = 3) int sh, @ForAll @IntRange(min = 1, max = 3) int sw,
            @ForAll @IntRange(min = 0, max = 3) int pt, @ForAll @IntRange(min = 0, max = 3) int pb,
            @ForAll @IntRange(min = 0, max = 2) int pl, @ForAll @IntRange(min = 0, max = 2) int pr,
            @ForAll @IntRange(min = 0, max = 2) int oph, @ForAll @IntRange(min = 0, max = 2) int opw,
            @ForAll @IntRange(min = 1, max = 3) int dh, @ForAll @IntRange(min = 1, max = 3) int dw) {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", n, cin, h, w);
        Value wt = b.input("w", cin, coutPerGroup, kh, kw);
        Value bias = b.input("b", coutPerGroup * groups);
        ConvSpec spec = ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr).dilation(dh, dw).groups(groups)
                .outputPadding(oph, opw);
        long ho = (long) (h - 1) * sh - pt - pb + (long) dh * (kh - 1) + oph + 1;
        long wo = (long) (w - 1) * sw - pl - pr + (long) dw * (kw - 1) + opw + 1;
        if (oph >= sh && oph >= dh) {
            assertMessage(() -> b.convTranspose2d(x, wt, bias, spec), String.format(
                    "outputPaddingH = %d must be smaller than strideH = %d or dilationH = %d", oph, sh, dh));
        } else if (opw >= sw && opw >= dw) {
            assertMessage(() -> b.convTranspose2d(x, wt, bias, spec), String.format(
                    "outputPaddingW = %d must be smaller than strideW = %d or dilationW = %d", opw, sw, dw));
        } else if (cin % groups != 0) {
            assertMessage(() -> b.convTranspose2d(x, wt, bias, spec),
                    "input channels Cin = " + cin + " must be divisible by groups = " + groups);
        } else if (ho < 1) {
            assertMessage(() -> b.convTranspose2d(x, wt, bias, spec), String.format(
                    "output height = (H-1)*strideH - padTop - padBottom + dilationH*(kH-1) + outputPaddingH + 1"
                            + " = (%d-1)*%d - %d - %d + %d*(%d-1) + %d + 1 = %d, must be >= 1",
                    h, sh, pt, pb, dh, kh, oph, ho));
        } else if (wo < 1) {
            assertMessage(() -> b.convTranspose2d(x, wt, bias, spec), "output width = (W-1)*strideW");
        } else {
            Value y = b.convTranspose2d(x, wt, bias, spec);
            assertEquals(Shape.of(n, coutPerGroup * groups, (int) ho, (int) wo), y.shape());
            // It is the adjoint of a convolution taking y's size back to x's, whenever that convolution exists.
            ConvTranspose2d op = (ConvTranspose2d) b.build0().nodes().getLast().op();
            boolean adjointExists = (oph < sh || oph - pb <= sh - 1) && (opw < sw || opw - pr <= sw - 1);
            if (adjointExists) {
                Conv2d adj = op.adjointConv();
                assertEquals(x.shape(), adj.inferShapes(List.of(y.shape(), wt.shape())).getFirst());
                if (oph < sh) assertEquals(pb, adj.padBottom());
            } else {
                assertThrows(GraphException.class, op::adjointConv);
            }
        }
    }

    @Property(tries = 200)
    void transposedSamePaddingMultipliesBySize(
            @ForAll @IntRange(min = 1, max = 12) int h, @ForAll @IntRange(min = 1, max = 5) int k,
            @ForAll @IntRange(min = 1, max = 4) int s, @ForAll @IntRange(min = 1, max = 3) int d) {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, h, h + 1);
        Value y = b.convTranspose2d("up", x, 3, k, ConvSpec.defaults().stride(s).dilation(d).padSame());
        assertEquals(Shape.of(1, 3, h * s, (h + 1) * s), y.shape());
    }

    @Test
    void dslCreatesScopedParametersAndNamesTheNode() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 2, 6, 9, 9);
        Value y, z, t;
        try (var s = b.scope("block")) {
            y = b.conv2d("conv", x, 8, 3, 1, ConvSpec.defaults().groups(2).pad(1, 0, 1, 0));
            z = b.conv2d("pw", y, 4, 1, ConvSpec.defaults().bias(false));
            t = b.convTranspose2d("up", z, 6, 2, ConvSpec.defaults().stride(2).groups(2));
        }
        assertEquals(Shape.of(2, 8, 9, 9), y.shape());
        assertEquals("block/conv", y.name());
        assertEquals(Shape.of(8, 3, 3, 1), b.value("block/conv/weight").shape());
        assertEquals(Shape.of(8), b.value("block/conv/bias").shape());
        assertEquals(Init.kaimingNormal(), b.build0().inits().get(b.value("block/conv/weight")));
        assertEquals(Init.zeros(), b.build0().inits().get(b.value("block/conv/bias")));
        assertEquals(Shape.of(4, 8, 1, 1), b.value("block/pw/weight").shape());
        assertThrows(IllegalArgumentException.class, () -> b.value("block/pw/bias"));
        assertEquals(Shape.of(2, 6, 18, 18), t.shape());
        assertEquals(Shape.of(4, 3, 2, 2), b.value("block/up/weight").shape());
        assertEquals(Shape.of(6), b.value("block/up/bias").shape());
        assertEquals(List.of("block/conv/weight", "block/conv/bias", "block/pw/weight", "block/up/weight",
                "block/up/bias"), b.params().stream().map(Value::name).toList());
        assertMessage(() -> b.convTranspose2d("bad", z, 5, 2, ConvSpec.defaults().groups(2)),
                "output channels 5 must be divisible by groups = 2");
    }

    @Test
    void gradientOpsCheckTheirShapes() {
        Conv2d conv = new Conv2d(2, 2, 1, 1, 1, 1, 1, 1, 1);
        Shape x = Shape.of(2, 3, 7, 7), w = Shape.of(4, 3, 3, 3), y = conv.inferShapes(List.of(x, w)).getFirst();
        assertEquals(Shape.of(2, 4, 4, 4), y);
        // An 8x8 input also gives 4x4 outputs: the data gradient needs the input size it carries.
        assertEquals(Shape.of(2, 3, 8, 8), conv.backwardData(8, 8).inferShapes(List.of(y, w)).getFirst());
        var e = assertThrows(ShapeException.class, () -> conv.backwardData(9, 7).inferShapes(List.of(y, w)));
        assertTrue(e.getMessage().contains("dy spatial size 4x4 must equal the convolution's output size 5x4"
                + " for input 9x7 and kernel 3x3"), e.getMessage());
        var f = assertThrows(ShapeException.class,
                () -> conv.backwardFilter(5, 3).inferShapes(List.of(x, y)));
        assertTrue(f.getMessage().contains("dy spatial size 4x4 must equal the convolution's output size 3x4"),
                f.getMessage());
        assertThrows(ShapeException.class,
                () -> conv.backwardFilter(3, 3).inferShapes(List.of(Shape.of(1, 3, 7, 7), y)));
        assertEquals(List.of(Shape.of(4)), new BiasGrad().inferShapes(List.of(y)));
        assertEquals(List.of(y), new BiasBroadcast(y.dims()).inferShapes(List.of(Shape.of(4))));
        assertThrows(ShapeException.class, () -> new BiasBroadcast(y.dims()).inferShapes(List.of(Shape.of(3))));
        assertThrows(ShapeException.class, () -> new BiasGrad().inferShapes(List.of(Shape.of(5))));
        assertEquals(2L * 2 * 4 * 4 * 4 * 3 * 3 * 3,
                new Conv2dBackwardFilter(2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 3).flops(List.of(x, y), List.of(w)));
        assertEquals(2L * 2 * 4 * 4 * 4 * 3 * 3 * 3,
                new Conv2dBackwardData(2, 2, 1, 1, 1, 1, 1, 1, 1, 7, 7).flops(List.of(y, w), List.of(x)));
    }

    @Test
    void specWithersReturnNewSpecsAndPadSameIsReplacedByExplicitPadding() {
        ConvSpec d = ConvSpec.defaults();
        assertEquals(List.of(1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0), List.of(d.strideH(), d.strideW(), d.padTop(),
                d.padLeft(), d.padBottom(), d.padRight(), d.dilationH(), d.dilationW(), d.groups(),
                d.outputPaddingH(), d.outputPaddingW()));
        assertTrue(d.hasBias());
        ConvSpec s = d.stride(2).padSame();
        assertNotEquals(d, s);
        assertEquals(1, d.strideH());
        assertTrue(s.isPadSame());
        ConvSpec p = s.pad(1);
        assertFalse(p.isPadSame());
        assertEquals(List.of(1, 1, 1, 1), List.of(p.padTop(), p.padLeft(), p.padBottom(), p.padRight()));
        assertEquals(d.stride(3, 3), d.stride(3));
        assertEquals(new Conv2d(2, 3, 1, 2, 3, 4, 2, 1, 1),
                d.stride(2, 3).pad(1, 2, 3, 4).dilation(2, 1).conv2d(10, 10, 3, 3));
    }
}
