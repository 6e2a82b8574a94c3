package dev.stride.engine.cuda;

import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The mapping of Stride's convolution nodes to cuDNN's terms, without cuDNN: which tensor plays x, w and y for
 * each pass, and the padding arrays, checked against cuDNN's documented size rule
 * out = floor((in + pre + post - dilation (k - 1) - 1) / stride) + 1 and against Stride's own shape rules.
 */
class ConvProblemTest {
    /** The node {@code op} makes of inputs with these shapes (the first an input, the others parameters). */
    static Node node(Op op, Shape... inputs) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value[] in = new Value[inputs.length];
        in[0] = b.input("in0", inputs[0]);
        for (int i = 1; i < inputs.length; i++) in[i] = b.param("in" + i, inputs[i], Init.zeros());
        b.output("out", b.apply("node", op, in));
        return b.build().nodes().getFirst();
    }

    static long[] dims(Shape s) { return Arrays.stream(s.dims()).asLongStream().toArray(); }

    /** cuDNN's rule holds on both spatial axes, the filter's channels give the groups, pre is the start padding. */
    static void assertCudnnGeometry(ConvProblem p, ConvCase k) {
        for (int a = 0; a < 2; a++) {
            long expect = ConvProblem.outputSize(p.x()[2 + a], p.prePadding()[a], p.postPadding()[a], p.w()[2 + a],
                    p.dilations()[a], p.strides()[a]);
            assertEquals(p.y()[2 + a], expect, "axis " + a + " of " + p);
        }
        assertEquals(p.x()[0], p.y()[0], "batch");
        assertEquals(p.w()[0], p.y()[1], "filter rows are y's channels");
        assertEquals(k.groups(), p.x()[1] / p.w()[1], "groups = C / w[1]");
        assertEquals(0, p.x()[1] % p.w()[1]);
        assertArrayEquals(new long[] {k.pt(), k.pl()}, p.prePadding());
        assertArrayEquals(new long[] {k.sh(), k.sw()}, p.strides());
        assertArrayEquals(new long[] {k.dh(), k.dw()}, p.dilations());
        // Symmetric wherever that keeps the output size; the graph's own end padding otherwise.
        long[] end = {k.pb(), k.pr()};
        for (int a = 0; a < 2; a++) {
            long symmetric = ConvProblem.outputSize(p.x()[2 + a], p.prePadding()[a], p.prePadding()[a], p.w()[2 + a],
                    p.dilations()[a], p.strides()[a]);
            assertEquals(symmetric == p.y()[2 + a] ? p.prePadding()[a] : end[a], p.postPadding()[a], "post padding, axis " + a);
        }
    }

    @Property(tries = 300)
    void forwardNodeIsTheForwardPass(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        Node n = k.bias() ? node(k.conv(), k.x(), k.weight(), Shape.of(k.o())) : node(k.conv(), k.x(), k.weight());
        ConvProblem p = ConvProblem.of(n);
        assertEquals(ConvProblem.Pass.FORWARD, p.pass());
        assertArrayEquals(dims(k.x()), p.x());
        assertArrayEquals(dims(k.weight()), p.w());
        assertArrayEquals(dims(n.output().shape()), p.y());
        assertArrayEquals(p.y(), p.outputDims());
        assertEquals(k.bias(), p.bias());
        assertArrayEquals(new long[] {1, k.o(), 1, 1}, p.biasDims());
        assertCudnnGeometry(p, k);
        long ho = p.y()[2], wo = p.y()[3];
        assertEquals((long) k.n() * k.o() * ho * wo * (k.c() / k.groups()) * k.kh() * k.kw(), p.multiplyAdds());
    }

    @Property(tries = 200)
    void dataGradientNodeIsTheBackwardDataPass(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        Shape y = k.output();
        Conv2dBackwardData op = k.conv().backwardData(k.h(), k.w());
        ConvProblem p = ConvProblem.of(node(op, y, k.weight()));
        assertEquals(ConvProblem.Pass.BACKWARD_DATA, p.pass());
        assertArrayEquals(dims(k.x()), p.x(), "dx plays x");
        assertArrayEquals(dims(y), p.y(), "dy plays y");
        assertArrayEquals(p.x(), p.outputDims());
        assertCudnnGeometry(p, k);
    }

    @Property(tries = 200)
    void filterGradientNodeIsTheBackwardFilterPass(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        Conv2dBackwardFilter op = k.conv().backwardFilter(k.kh(), k.kw());
        ConvProblem p = ConvProblem.of(node(op, k.x(), k.output()));
        assertEquals(ConvProblem.Pass.BACKWARD_FILTER, p.pass());
        assertArrayEquals(dims(k.weight()), p.w(), "dw plays w");
        assertArrayEquals(p.w(), p.outputDims());
        assertCudnnGeometry(p, k);
    }

    /**
     * A transposed convolution is the data pass of its adjoint convolution: its input plays dy, its output dx,
     * also when the output padding reaches the stride (the adjoint's end padding is lowered).
     */
    @Property(tries = 300)
    void transposedConvolutionIsTheAdjointsDataPass(@ForAll long seed, @ForAll boolean withBias) {
        ConvCase k = ConvCase.draw(seed);
        int oph = (int) Math.floorMod(seed >>> 7, Math.max(k.sh(), k.dh()));
        int opw = (int) Math.floorMod(seed >>> 13, Math.max(k.sw(), k.dw()));
        ConvTranspose2d t = k.transposed(oph, opw);
        Shape in = k.output();                       // the transposed convolution's input: the adjoint's y
        Node n;
        try {
            n = withBias ? node(t, in, k.weight(), Shape.of(k.weight().dim(1) * k.groups())) : node(t, in, k.weight());
            t.adjointConv();
        } catch (ShapeException | GraphException e) {
            Assume.that(false);                      // outside what the op accepts: nothing to map
            return;
        }
        ConvProblem p = ConvProblem.of(n);
        assertEquals(ConvProblem.Pass.BACKWARD_DATA, p.pass());
        assertArrayEquals(dims(n.output().shape()), p.x(), "the output plays dx");
        assertArrayEquals(dims(in), p.y(), "the input plays dy");
        assertEquals(withBias, p.bias());
        assertArrayEquals(new long[] {1, n.output().shape().dim(1), 1, 1}, p.biasDims(), "bias on the output channels");
        for (int a = 0; a < 2; a++)
            assertEquals(p.y()[2 + a], ConvProblem.outputSize(p.x()[2 + a], p.prePadding()[a], p.postPadding()[a],
                    p.w()[2 + a], p.dilations()[a], p.strides()[a]), "axis " + a + " of " + p);
        assertEquals(k.groups(), p.x()[1] / p.w()[1]);
    }

    /** Worked cases of the end padding: only the output size counts. */
    @Test
    void endPaddingBecomesSymmetricOnlyWhenTheOutputSizeStays() {
        // H 6, k 3, s 2, top 1, bottom 0: floor((6+1+0-3)/2)+1 = 3 = floor((6+1+1-3)/2)+1: symmetric 1.
        assertEquals(1, ConvProblem.endPadding(6, 1, 0, 3, 1, 2, 3));
        // H 5: floor((5+1+0-3)/2)+1 = 2, but floor((5+1+1-3)/2)+1 = 3: keeps 0.
        assertEquals(0, ConvProblem.endPadding(5, 1, 0, 3, 1, 2, 2));
        // A large end padding that adds rows stays.
        assertEquals(4, ConvProblem.endPadding(5, 0, 4, 3, 1, 1, 7));
    }

    @Test
    void packedStridesAreRowMajor() {
        assertArrayEquals(new long[] {60, 20, 5, 1}, ConvProblem.packedStrides(new long[] {2, 3, 4, 5}));
        assertArrayEquals(new long[] {1, 1, 1, 1}, ConvProblem.packedStrides(new long[] {1, 1, 1, 1}));
    }

    @Test
    void otherOpsAreRefused() {
        Node dense = node(new dev.stride.graph.op.Dense(), Shape.of(2, 3), Shape.of(4, 3));
        var e = assertThrows(IllegalArgumentException.class, () -> ConvProblem.of(dense));
        assertEquals("not a convolution: Dense", e.getMessage());
    }
}
