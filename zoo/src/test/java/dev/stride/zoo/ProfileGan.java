package dev.stride.zoo;

import dev.stride.engine.Session;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.zoo.data.GeneratedDigits;
import dev.stride.zoo.generative.Dcgan;
import dev.stride.zoo.generative.GanTrainer;

import java.util.Arrays;
import java.util.Comparator;

/** Where a DCGAN iteration (D step + G step) spends its time, node by node: a profiling aid, not a test. */
public final class ProfileGan {
    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "cpu";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        var cfg = GanTrainer.Config.defaults().withBackend(backend).withThreads(threads);
        try (GanTrainer t = new GanTrainer(new Dcgan(Dcgan.Config.defaults()), new GeneratedDigits(640, 1), cfg)) {
            for (int i = 0; i < 3; i++) t.step();
            t.discriminatorSession().profile(true);
            t.generatorSession().profile(true);
            int runs = 5;
            long t0 = System.nanoTime();
            for (int i = 0; i < runs; i++) t.step();
            System.out.printf("DCGAN iteration: %.1f ms%n", (System.nanoTime() - t0) / 1e6 / runs);
            report("D step", t.discriminatorSession(), runs);
            report("G step", t.generatorSession(), runs);
        }
    }

    static void report(String what, Session s, int runs) {
        Plan plan = s.plan();
        long[] ns = s.nodeNanos();
        long total = Arrays.stream(ns).sum();
        System.out.printf("%s: %.1f ms in nodes%n", what, total / 1e6 / runs);
        Integer[] ids = plan.scheduledNodes().stream().map(Node::id).toArray(Integer[]::new);
        Arrays.sort(ids, Comparator.comparingLong((Integer id) -> ns[id]).reversed());
        for (int k = 0; k < Math.min(12, ids.length); k++) {
            Node n = plan.graph().nodes().get(ids[k]);
            double ms = ns[ids[k]] / 1e6 / runs;
            long f = n.op().flops(n.inputShapes(), n.outputShapes());
            System.out.printf("  %8.2f ms %6.1f GFLOP/s  %-30s %-24s %s %s%n", ms, f / ms / 1e6, n.name(), n.op().kind(),
                    s.algorithm(n.id()), n.outputShapes());
        }
    }
}
