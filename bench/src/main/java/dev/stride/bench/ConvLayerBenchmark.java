package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One convolution layer on the cpu backend with its algorithm forced: every distinct conv layer of ResNet-18,
 * VGG-16 and MobileNet v1 ({@link ConvLayers}, shapes read from the zoo's graphs at input size {@code size}), for
 * every algorithm of the cpu backend's Conv2d, batch 1 and 8, 1 and 2 threads.
 *
 * <p>A combination that cannot run fails its trial in setup with the reason (JMH prints it and goes on): the
 * algorithm does not apply to the layer (Winograd needs 3x3 stride 1, gemm1x1 a 1x1 stride-1 layer, depthwise
 * groups = channels), or the cpu backend has no kernel for it yet. {@link Suite} leaves those out beforehand and
 * lists them. {@code -p algorithm=reference} measures the reference kernel the cpu backend falls back to.
 *
 * <p>A call is one run of {@link ConvLayers#plan}: the convolution alone (with its bias for VGG's layers), no input
 * copy, no output copy. {@code flop} counts {@code Plan.flops()}, the direct convolution's 2 x multiply-adds, also
 * for Winograd, which does fewer multiplications: its GFLOP/s are "effective".
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ConvLayerBenchmark {
    /** Printed by {@code ConvLayers.main} at 224; ConvLayerParamsTest checks the list is complete. */
    @Param({"resnet18:conv1", "resnet18:layer1.0.conv1", "resnet18:layer2.0.conv1", "resnet18:layer2.0.conv2",
            "resnet18:layer2.0.downsample.0", "resnet18:layer3.0.conv1", "resnet18:layer3.0.conv2",
            "resnet18:layer3.0.downsample.0", "resnet18:layer4.0.conv1", "resnet18:layer4.0.conv2",
            "resnet18:layer4.0.downsample.0",
            "vgg16:features.0", "vgg16:features.2", "vgg16:features.5", "vgg16:features.7", "vgg16:features.10",
            "vgg16:features.12", "vgg16:features.17", "vgg16:features.19", "vgg16:features.24",
            "mobilenet_v1:conv1", "mobilenet_v1:conv_dw_1", "mobilenet_v1:conv_pw_1", "mobilenet_v1:conv_dw_2",
            "mobilenet_v1:conv_pw_2", "mobilenet_v1:conv_dw_3", "mobilenet_v1:conv_pw_3", "mobilenet_v1:conv_dw_4",
            "mobilenet_v1:conv_pw_4", "mobilenet_v1:conv_dw_5", "mobilenet_v1:conv_pw_5", "mobilenet_v1:conv_dw_6",
            "mobilenet_v1:conv_pw_6", "mobilenet_v1:conv_dw_7", "mobilenet_v1:conv_pw_7", "mobilenet_v1:conv_dw_12",
            "mobilenet_v1:conv_pw_12", "mobilenet_v1:conv_dw_13", "mobilenet_v1:conv_pw_13"})
    public String layer;

    @Param({"im2col", "gemm1x1", "winograd-f2x3", "winograd-f4x3", "depthwise"})
    public String algorithm;

    @Param({"1", "8"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    /** Input side of the network the layer is taken from; smaller for smoke runs. */
    @Param({"224"})
    public int size;

    private Session session;
    private long flops;
    private final Map<String, Tensor> none = Map.of();

    @Setup(Level.Trial)
    public void setUp() {
        ConvLayers.Layer l = ConvLayers.find(layer, size);
        session = ConvLayers.open(l, batch, algorithm, threads);   // throws, saying why, when it cannot run
        flops = session.plan().flops();
        System.out.println("# " + l.key() + " " + l.describe() + ", batch " + batch + ", " + algorithm + ", "
                + threads + " thread(s): " + flops + " FLOP per call");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (session != null) session.close();
    }

    @Benchmark
    public Map<String, Tensor> conv(FlopCounter counter) {
        counter.flop += flops;
        return session.run(none);
    }
}
