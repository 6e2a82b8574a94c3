package dev.stride.engine.cuda;

import dev.stride.cuda.cudnn.Cudnn;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Engine configurations of a {@link CudnnConvGraph}: those cuDNN's heuristics rank, and the one a tuned
 * {@link ConvAlgorithm} entry names, rebuilt from its engine index and knobs. Execution plans are made from them.
 * A configuration is described back as a {@link ConvAlgorithm} (engine index and knob choices) for the plan.
 *
 * <p>{@link Policy} filters configurations by cuDNN's numerical notes: by default Stride keeps float32 semantics
 * (no TF32 tensor-core math, no down-converted inputs, no reduced-precision reductions) and determinism (no
 * engine cuDNN marks non-deterministic), like its other backends; {@code -Dstride.cuda.tf32=true} and
 * {@code -Dstride.cuda.nondeterministic=true} allow those engines.
 */
final class CudnnEngines {
    private CudnnEngines() {}

    /** Which engines are acceptable, by their numerical notes. */
    record Policy(boolean tf32, boolean nondeterministic) {
        static Policy fromSystemProperties() {
            return new Policy(Boolean.getBoolean("stride.cuda.tf32"), Boolean.getBoolean("stride.cuda.nondeterministic"));
        }

        /** Null when an engine with these notes is acceptable, otherwise the first note that rules it out. */
        String refuses(int[] notes) {
            for (int n : notes) {
                if (!tf32 && (n == Cudnn.CUDNN_NUMERICAL_NOTE_TENSOR_CORE() || n == Cudnn.CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS()
                        || n == Cudnn.CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION()))
                    return "reduced-precision math (numerical note " + n + "; allow with -Dstride.cuda.tf32=true)";
                if (!nondeterministic && n == Cudnn.CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC())
                    return "non-deterministic (allow with -Dstride.cuda.nondeterministic=true)";
            }
            return null;
        }

        String describe() {
            return (tf32 ? "TF32 allowed" : "float32 math") + ", " + (nondeterministic ? "non-deterministic allowed" : "deterministic");
        }
    }

    /** A finalized engine configuration with what the plan records of it. */
    record Config(CudnnDescriptor descriptor, ConvAlgorithm algorithm, int[] notes) {}

    /**
     * The configurations cuDNN's heuristics return in {@code mode} (CUDNN_HEUR_MODE_A, or _FALLBACK), best first,
     * without those {@code policy} refuses (closed here); {@code refused} collects why each was left out. The caller
     * closes the descriptors of the returned ones. Needs a device (the graph's handle).
     */
    static List<Config> heuristics(CudnnConvGraph g, int mode, Policy policy, String machine, List<String> refused) {
        List<Config> kept = new ArrayList<>();
        try (CudnnDescriptor heur = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR())) {
            heur.descriptors(Cudnn.CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH(), g.graph)
                    .enumerated(Cudnn.CUDNN_ATTR_ENGINEHEUR_MODE(), Cudnn.CUDNN_TYPE_HEUR_MODE(), mode)
                    .finish();
            int n = (int) heur.count(Cudnn.CUDNN_ATTR_ENGINEHEUR_RESULTS(), Cudnn.CUDNN_TYPE_BACKEND_DESCRIPTOR());
            if (n == 0) return kept;
            CudnnDescriptor[] configs = heur.getDescriptors(Cudnn.CUDNN_ATTR_ENGINEHEUR_RESULTS(),
                    Cudnn.CUDNN_BACKEND_ENGINECFG_DESCRIPTOR(), n);
            for (CudnnDescriptor cfg : configs) {
                try {
                    Config c = describe(cfg, g.fusedBias, g.fusedRelu, machine);
                    String why = policy.refuses(c.notes());
                    if (why == null) {
                        kept.add(c);
                        continue;
                    }
                    refused.add("engine " + c.algorithm().engine() + ": " + why);
                } catch (RuntimeException e) {
                    refused.add("a configuration that cannot be read: " + e.getMessage());
                }
                cfg.close();
            }
        } catch (RuntimeException e) {
            for (Config c : kept) c.descriptor().close();
            throw e;
        }
        return kept;
    }

    /** Engine index, knob choices and numerical notes of a finalized configuration. */
    static Config describe(CudnnDescriptor cfg, boolean fusedBias, boolean fusedRelu, String machine) {
        CudnnDescriptor[] engine = cfg.getDescriptors(Cudnn.CUDNN_ATTR_ENGINECFG_ENGINE(),
                Cudnn.CUDNN_BACKEND_ENGINE_DESCRIPTOR(), 1);
        try {
            if (engine.length != 1) throw new IllegalStateException("an engine configuration without an engine");
            long index = engine[0].getLong(Cudnn.CUDNN_ATTR_ENGINE_GLOBAL_INDEX());
            int[] notes = engine[0].getEnums(Cudnn.CUDNN_ATTR_ENGINE_NUMERICAL_NOTE(), Cudnn.CUDNN_TYPE_NUMERICAL_NOTE(),
                    Cudnn.CUDNN_NUMERICAL_NOTE_TYPE_COUNT());
            List<ConvAlgorithm.Knob> knobs = new ArrayList<>();
            int nk = (int) cfg.count(Cudnn.CUDNN_ATTR_ENGINECFG_KNOB_CHOICES(), Cudnn.CUDNN_TYPE_BACKEND_DESCRIPTOR());
            if (nk > 0) {
                CudnnDescriptor[] choices = cfg.getDescriptors(Cudnn.CUDNN_ATTR_ENGINECFG_KNOB_CHOICES(),
                        Cudnn.CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR(), nk);
                try {
                    for (CudnnDescriptor k : choices) {
                        int[] type = k.getEnums(Cudnn.CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE(), Cudnn.CUDNN_TYPE_KNOB_TYPE(), 1);
                        knobs.add(new ConvAlgorithm.Knob(type[0], k.getLong(Cudnn.CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE())));
                    }
                } finally {
                    for (CudnnDescriptor k : choices) k.close();
                }
            }
            return new Config(cfg, ConvAlgorithm.engine(index, knobs, fusedBias, fusedRelu, machine), notes);
        } finally {
            for (CudnnDescriptor e : engine) e.close();
        }
    }

    /**
     * The engine of a tuned entry on this graph, finalized: fails when this cuDNN has no such engine for the graph
     * (an entry from another version, or for another problem). Works without a device.
     */
    static CudnnDescriptor engine(CudnnConvGraph g, long index) {
        CudnnDescriptor e = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_ENGINE_DESCRIPTOR());
        try {
            return e.descriptors(Cudnn.CUDNN_ATTR_ENGINE_OPERATION_GRAPH(), g.graph)
                    .longs(Cudnn.CUDNN_ATTR_ENGINE_GLOBAL_INDEX(), index)
                    .finish();
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
    }

    /** The knob types {@code engine} accepts (its knob infos), in cuDNN's order. Works without a device. */
    static List<Integer> knobTypes(CudnnDescriptor engine) {
        List<Integer> types = new ArrayList<>();
        int n = (int) engine.count(Cudnn.CUDNN_ATTR_ENGINE_KNOB_INFO(), Cudnn.CUDNN_TYPE_BACKEND_DESCRIPTOR());
        if (n == 0) return types;
        CudnnDescriptor[] infos = engine.getDescriptors(Cudnn.CUDNN_ATTR_ENGINE_KNOB_INFO(),
                Cudnn.CUDNN_BACKEND_KNOB_INFO_DESCRIPTOR(), n);
        try {
            for (CudnnDescriptor k : infos) {
                int[] t = k.getEnums(Cudnn.CUDNN_ATTR_KNOB_INFO_TYPE(), Cudnn.CUDNN_TYPE_KNOB_TYPE(), 1);
                if (t.length == 1) types.add(t[0]);
            }
        } finally {
            for (CudnnDescriptor k : infos) k.close();
        }
        return types;
    }

    /**
     * The configuration a tuned entry names: its engine with its knob choices, finalized (finalizing checks that
     * the engine supports the graph on this device, so it needs one). Knob types the engine does not have are
     * refused before cuDNN sees them.
     */
    static Config config(CudnnConvGraph g, ConvAlgorithm a) {
        if (a.kind() != ConvAlgorithm.Kind.ENGINE) throw new IllegalArgumentException("not an engine entry: " + a);
        List<CudnnDescriptor> owned = new ArrayList<>();
        try {
            CudnnDescriptor engine = g.own(engine(g, a.engine()));
            List<Integer> accepted = knobTypes(engine);
            List<CudnnDescriptor> choices = new ArrayList<>();
            for (ConvAlgorithm.Knob k : a.knobs()) {
                if (!accepted.contains(k.type()))
                    throw new IllegalArgumentException("cuDNN engine " + a.engine() + " has no knob of type " + k.type()
                            + " (its knobs: " + accepted + ")");
                CudnnDescriptor c = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR());
                owned.add(c);
                c.enumerated(Cudnn.CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE(), Cudnn.CUDNN_TYPE_KNOB_TYPE(), k.type())
                        .longs(Cudnn.CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE(), k.value())
                        .finish();
                choices.add(c);
            }
            CudnnDescriptor cfg = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_ENGINECFG_DESCRIPTOR());
            owned.add(cfg);
            cfg.descriptors(Cudnn.CUDNN_ATTR_ENGINECFG_ENGINE(), engine);
            if (!choices.isEmpty()) cfg.descriptors(Cudnn.CUDNN_ATTR_ENGINECFG_KNOB_CHOICES(), choices.toArray(CudnnDescriptor[]::new));
            cfg.finish();
            owned.remove(cfg);
            for (CudnnDescriptor c : owned) g.own(c);   // the knob choices live as long as the graph
            owned.clear();
            int[] notes = engine.getEnums(Cudnn.CUDNN_ATTR_ENGINE_NUMERICAL_NOTE(), Cudnn.CUDNN_TYPE_NUMERICAL_NOTE(),
                    Cudnn.CUDNN_NUMERICAL_NOTE_TYPE_COUNT());
            return new Config(cfg, a, notes);
        } finally {
            for (CudnnDescriptor c : owned) c.close();
        }
    }

    /** The execution plan of a configuration on {@code handle} (the session's cuDNN handle). Needs a device. */
    static CudnnDescriptor plan(MemorySegment handle, Config c) {
        CudnnDescriptor p = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR());
        try {
            return p.pointers(Cudnn.CUDNN_ATTR_EXECUTION_PLAN_HANDLE(), Cudnn.CUDNN_TYPE_HANDLE(), handle)
                    .descriptors(Cudnn.CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG(), c.descriptor())
                    .finish();
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Bytes of workspace an execution plan needs. */
    static long workspace(CudnnDescriptor plan) {
        return plan.getLong(Cudnn.CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE());
    }
}
