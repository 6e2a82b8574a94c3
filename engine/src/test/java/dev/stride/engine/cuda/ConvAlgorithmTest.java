package dev.stride.engine.cuda;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The convolution algorithm entries of cuda plans: the text round trip, errors, and the tuned-machine check. */
class ConvAlgorithmTest {
    static final String H100 = ConvAlgorithm.machine("NVIDIA H100 80GB HBM3", "9.24.0");

    @Property(tries = 200)
    void engineEntriesRoundTrip(@ForAll @LongRange(min = 0, max = 100_000) long engine,
                                @ForAll @IntRange(min = 0, max = 6) int knobCount, @ForAll long seed,
                                @ForAll boolean withMachine, @ForAll boolean fusedBias, @ForAll boolean fusedRelu) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ConvAlgorithm.Knob> knobs = new ArrayList<>();
        for (int i = 0; i < knobCount; i++) knobs.add(new ConvAlgorithm.Knob(r.nextInt(50), r.nextLong(-3, 1 << 20)));
        ConvAlgorithm a = ConvAlgorithm.engine(engine, knobs, fusedBias, fusedRelu, withMachine ? H100 : "");
        String entry = a.entry();
        assertTrue(entry.startsWith("cudnn:engine=" + engine + ";knobs="), entry);
        assertEquals(a, ConvAlgorithm.parse(entry));
        assertEquals(a, ConvAlgorithm.parse(entry + "+relu"), "a fusion suffix is not part of the algorithm");
    }

    @Test
    void theWrittenFormIsReadable() {
        var a = ConvAlgorithm.engine(28, List.of(new ConvAlgorithm.Knob(2, 3), new ConvAlgorithm.Knob(3, 0)), false, H100);
        assertEquals("cudnn:engine=28;knobs=2:3,3:0;for=NVIDIA H100 80GB HBM3,cudnn 9.24.0", a.entry());
        assertEquals("cudnn:engine=0;knobs=", ConvAlgorithm.engine(0, List.of(), false, "").entry());
        assertEquals("cudnn:engine=5;knobs=17:64;fused=bias;for=" + H100,
                ConvAlgorithm.engine(5, List.of(new ConvAlgorithm.Knob(17, 64)), true, "").on(H100).entry());
        assertEquals("cudnn:engine=5;knobs=;fused=bias,relu;for=" + H100,
                ConvAlgorithm.engine(5, List.of(), true, true, H100).entry());
        assertEquals("cudnn:engine=5;knobs=;fused=relu", ConvAlgorithm.engine(5, List.of(), false, true, "").entry());
    }

    @Test
    void theFollowersOfAConvolutionAreReadFromItsEntry() {
        assertEquals(ConvAlgorithm.Followers.NONE, ConvAlgorithm.followers(""));
        assertEquals(new ConvAlgorithm.Followers(false, true), ConvAlgorithm.followers("cudnn+relu"));
        assertEquals(new ConvAlgorithm.Followers(true, false), ConvAlgorithm.followers("direct+bn"));
        assertEquals(new ConvAlgorithm.Followers(true, true),
                ConvAlgorithm.followers("cudnn:engine=5;knobs=;fused=bias;for=" + H100 + "+bn+relu"));
        assertEquals(ConvAlgorithm.Followers.NONE, ConvAlgorithm.followers("cudnn:engine=5;knobs=;fused=bias,relu"));
        assertEquals("+bn+relu", new ConvAlgorithm.Followers(true, true).suffix());
        var bn = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.followers("im2col+bn+leaky_relu"));
        assertEquals("the cuda backend fuses a batch norm (inference) and a ReLU into a convolution, not"
                + " '+bn+leaky_relu' of entry 'im2col+bn+leaky_relu': compile the plan for the cuda target", bn.getMessage());
        var fused = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("cudnn:engine=5;knobs=;fused=bn"));
        assertTrue(fused.getMessage().contains("'fused=bn' is not fused=bias, fused=relu or fused=bias,relu"), fused.getMessage());
    }

    @Test
    void heuristicAndDirectEntries() {
        assertSame(ConvAlgorithm.HEURISTIC, ConvAlgorithm.parse(""));
        assertSame(ConvAlgorithm.HEURISTIC, ConvAlgorithm.parse("cudnn"));
        assertSame(ConvAlgorithm.DIRECT_KERNEL, ConvAlgorithm.parse("direct"));
        assertSame(ConvAlgorithm.DIRECT_KERNEL, ConvAlgorithm.parse("direct+relu"));
        assertEquals("cudnn", ConvAlgorithm.HEURISTIC.entry());
        assertEquals("direct", ConvAlgorithm.DIRECT_KERNEL.entry());
    }

    @Test
    void malformedEntriesSayWhy() {
        var other = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("im2col"));
        assertTrue(other.getMessage().startsWith("not a cuda convolution algorithm: 'im2col'"), other.getMessage());
        var noKnobs = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("cudnn:engine=3"));
        assertEquals("malformed cuDNN engine entry 'cudnn:engine=3': no 'knobs=' after the engine index",
                noKnobs.getMessage());
        var badKnob = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("cudnn:engine=3;knobs=2=1"));
        assertEquals("malformed cuDNN engine entry 'cudnn:engine=3;knobs=2=1': knob '2=1' is not <type>:<value>",
                badKnob.getMessage());
        var negative = assertThrows(IllegalArgumentException.class, () -> ConvAlgorithm.parse("cudnn:engine=-1;knobs="));
        assertTrue(negative.getMessage().contains("negative engine index -1"), negative.getMessage());
        var extra = assertThrows(IllegalArgumentException.class,
                () -> ConvAlgorithm.parse("cudnn:engine=1;knobs=;for=x;y"));
        assertTrue(extra.getMessage().endsWith("unexpected 'y'"), extra.getMessage());
        var order = assertThrows(IllegalArgumentException.class,
                () -> ConvAlgorithm.parse("cudnn:engine=1;knobs=;for=x;fused=bias"));
        assertTrue(order.getMessage().endsWith("unexpected 'fused=bias'"), order.getMessage());
    }

    /** A tuned engine is reused on the machine it was measured on only; heuristic entries anywhere. */
    @Test
    void tunedEnginesAreReusedOnlyOnTheirMachine() {
        var tuned = ConvAlgorithm.engine(28, List.of(new ConvAlgorithm.Knob(2, 3)), false, H100);
        assertNull(tuned.mismatch(H100));
        String otherGpu = ConvAlgorithm.machine("NVIDIA A100-SXM4-40GB", "9.24.0");
        assertEquals("the plan's cuDNN engines were tuned on NVIDIA H100 80GB HBM3,cudnn 9.24.0; this session runs on"
                + " NVIDIA A100-SXM4-40GB,cudnn 9.24.0: they are chosen again by cuDNN's heuristics (re-tune with"
                + " CudnnAutotuner for the fastest)", tuned.mismatch(otherGpu));
        String otherCudnn = ConvAlgorithm.machine("NVIDIA H100 80GB HBM3", "9.10.2");
        assertTrue(tuned.mismatch(otherCudnn).contains("this session runs on NVIDIA H100 80GB HBM3,cudnn 9.10.2"));
        assertTrue(ConvAlgorithm.engine(28, List.of(), false, "").mismatch(H100).contains("tuned on an unrecorded machine"));
        assertNull(ConvAlgorithm.HEURISTIC.mismatch(otherGpu));
        assertNull(ConvAlgorithm.DIRECT_KERNEL.mismatch(otherGpu));
    }
}
