package dev.stride.zoo;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Node;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;

/**
 * Where a classifier's training step spends its time on a backend, node by node (a profiling aid, not a test):
 * {@code java ... dev.stride.zoo.ProfileStep [lenet5|small-cnn] [batch] [threads] [backend]}.
 */
public final class ProfileStep {
    public static void main(String[] args) {
        String model = args.length > 0 ? args[0] : "small-cnn";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        String backend = args.length > 3 ? args[3] : "cpu";
        java.util.function.BiFunction<dev.stride.graph.GraphBuilder, dev.stride.graph.Value, dev.stride.graph.Value> net =
                model.equals("lenet5") ? LeNet5::logits : SmallCnn::logits;
        Plan plan = Classifier.trainingPlan(net, Shape.of(batch, 1, 28, 28), DType.F32,
                TrainSpec.of(new Optimizer.Sgd(0.9, 5e-4, true)), Backend.named(backend).target());
        float[] x = new float[batch * 784], y = new float[batch];
        Random r = new Random(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < batch; i++) y[i] = r.nextInt(10);
        Map<String, Tensor> in = Map.of(Classifier.IMAGES, Tensor.of(Shape.of(batch, 1, 28, 28), x),
                Classifier.LABELS, Tensor.of(Shape.of(batch), y), Classifier.LR, Tensor.scalar(DType.F32, 0.01));
        try (Session s = Session.open(plan, backend, SessionOptions.defaults().withThreads(threads))) {
            for (int i = 0; i < 20; i++) s.run(in);
            s.profile(true);
            int runs = 30;
            long t0 = System.nanoTime();
            for (int i = 0; i < runs; i++) s.run(in);
            double ms = (System.nanoTime() - t0) / 1e6 / runs;
            long[] ns = s.nodeNanos();
            System.out.printf("%s batch %d, %d threads, %s: %.2f ms per step, %.1f GFLOP/s (%.1f MFLOP)%n", model, batch,
                    threads, backend, ms, plan.flops() / ms / 1e6, plan.flops() / 1e6);
            Integer[] ids = plan.scheduledNodes().stream().map(Node::id).toArray(Integer[]::new);
            Arrays.sort(ids, Comparator.comparingLong((Integer id) -> ns.length > id ? ns[id] : 0).reversed());
            for (int k = 0; k < Math.min(25, ids.length); k++) {
                Node n = plan.graph().nodes().get(ids[k]);
                double nodeMs = ns.length > ids[k] ? ns[ids[k]] / 1e6 / runs : 0;
                long f = n.op().flops(n.inputShapes(), n.outputShapes());
                System.out.printf("  %7.3f ms %6.1f GFLOP/s  %-28s %-26s %s %s%n", nodeMs, nodeMs > 0 ? f / nodeMs / 1e6 : 0,
                        n.name(), n.op().kind(), s.algorithm(n.id()), n.outputShapes());
            }
        }
    }
}
