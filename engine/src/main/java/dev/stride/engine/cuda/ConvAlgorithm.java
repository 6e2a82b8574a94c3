package dev.stride.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The algorithm entry of a convolution node on the cuda backend, as a plan records it and as a session reports
 * what ran:
 * <ul>
 *   <li>{@code ""} or {@value #CUDNN}: cuDNN, the engine configuration chosen by its heuristics (mode A) when the
 *       session loads; on the emulated device, the direct kernel;
 *   <li>{@code cudnn:engine=<global index>;knobs=<type>:<value>,...[;fused=bias|relu|bias,relu];for=<GPU>,cudnn <version>}:
 *       that engine configuration, measured fastest by {@link CudnnAutotuner} on that GPU with that cuDNN, reused
 *       when the session runs on the same GPU and cuDNN, chosen again by the heuristics (with a notice) otherwise.
 *       {@code fused=...}: the pointwise nodes the engine's cuDNN graph holds after the convolution (the bias add,
 *       the ReLU of a {@code +relu} node); what it does not hold, a kernel applies after it. The entry names
 *       the GPU because a kernel sees its node's entry, not the plan's target facts;
 *   <li>{@value #DIRECT}: the portable direct kernel (conv.cu), always; a session also reports it where cuDNN
 *       refused the configuration.
 * </ul>
 * A node that absorbs the nodes after it ({@link CudaAlgorithms}) has their {@link Followers#suffix()} after its
 * entry: {@code +bn} (a batch norm in inference mode), {@code +relu}, or {@code +bn+relu}.
 * Knob types and values are cuDNN's own numbers ({@code cudnnBackendKnobType_t}), in the order cuDNN lists them.
 *
 * @param engine    the engine's global index, -1 for the heuristic and direct entries
 * @param fusedBias the engine's graph adds the bias (a forward convolution with a bias input)
 * @param fusedRelu the engine's graph applies the ReLU of a {@code +relu} node
 * @param tunedOn   the GPU and cuDNN version the engine was measured on ("NVIDIA H100 80GB HBM3,cudnn 9.24.0"), or ""
 */
public record ConvAlgorithm(Kind kind, long engine, List<Knob> knobs, boolean fusedBias, boolean fusedRelu,
                            String tunedOn) {
    public static final String CUDNN = "cudnn";
    public static final String DIRECT = "direct";
    private static final String ENGINE_PREFIX = "cudnn:engine=";

    public enum Kind { HEURISTIC, ENGINE, DIRECT }

    /** One knob choice of an engine configuration. */
    public record Knob(int type, long value) {}

    public ConvAlgorithm {
        knobs = List.copyOf(knobs);
        if (tunedOn.contains(";")) throw new IllegalArgumentException("';' in the tuning target '" + tunedOn + "'");
    }

    public static final ConvAlgorithm HEURISTIC = new ConvAlgorithm(Kind.HEURISTIC, -1, List.of(), false, false, "");
    public static final ConvAlgorithm DIRECT_KERNEL = new ConvAlgorithm(Kind.DIRECT, -1, List.of(), false, false, "");

    public static ConvAlgorithm engine(long engine, List<Knob> knobs, boolean fusedBias, String tunedOn) {
        return engine(engine, knobs, fusedBias, false, tunedOn);
    }

    public static ConvAlgorithm engine(long engine, List<Knob> knobs, boolean fusedBias, boolean fusedRelu,
                                       String tunedOn) {
        return new ConvAlgorithm(Kind.ENGINE, engine, knobs, fusedBias, fusedRelu, tunedOn);
    }

    /** The same engine configuration, recorded as measured on {@code machine}. */
    public ConvAlgorithm on(String machine) {
        return new ConvAlgorithm(kind, engine, knobs, fusedBias, fusedRelu, machine);
    }

    /**
     * The nodes a convolution kernel computes after the convolution because the plan fused them into it: a batch
     * norm in inference mode, then a ReLU.
     */
    public record Followers(boolean bn, boolean relu) {
        public static final Followers NONE = new Followers(false, false);

        public boolean any() { return bn || relu; }

        /** What follows the node's algorithm entry: "", "+bn", "+relu" or "+bn+relu". */
        public String suffix() { return (bn ? "+bn" : "") + (relu ? "+relu" : ""); }
    }

    /**
     * The followers a node's entry names after its algorithm; fails on a fusion no cuda convolution kernel applies
     * (a plan compiled for another target).
     */
    public static Followers followers(String entry) {
        int plus = entry.indexOf('+');
        if (plus < 0) return Followers.NONE;
        String suffix = entry.substring(plus);
        for (Followers f : new Followers[] {new Followers(true, false), new Followers(false, true), new Followers(true, true)})
            if (f.suffix().equals(suffix)) return f;
        throw new IllegalArgumentException("the cuda backend fuses a batch norm (inference) and a ReLU into a"
                + " convolution, not '" + suffix + "' of entry '" + entry + "': compile the plan for the cuda target");
    }

    /** The plan entry. */
    public String entry() {
        return switch (kind) {
            case HEURISTIC -> CUDNN;
            case DIRECT -> DIRECT;
            case ENGINE -> {
                StringBuilder s = new StringBuilder(ENGINE_PREFIX).append(engine).append(";knobs=");
                for (int i = 0; i < knobs.size(); i++) {
                    if (i > 0) s.append(',');
                    s.append(knobs.get(i).type()).append(':').append(knobs.get(i).value());
                }
                if (fusedBias || fusedRelu)
                    s.append(";fused=").append(fusedBias && fusedRelu ? "bias,relu" : fusedBias ? "bias" : "relu");
                if (!tunedOn.isEmpty()) s.append(";for=").append(tunedOn);
                yield s.toString();
            }
        };
    }

    @Override public String toString() { return entry(); }

    /**
     * Reads an entry; fails with the reason for anything else. Fusion suffixes ({@code +relu}) a chooser may append
     * are not part of the algorithm and are ignored here.
     */
    public static ConvAlgorithm parse(String entry) {
        String e = entry;
        int plus = e.indexOf('+');
        if (plus >= 0) e = e.substring(0, plus);
        if (e.isEmpty() || e.equals(CUDNN)) return HEURISTIC;
        if (e.equals(DIRECT)) return DIRECT_KERNEL;
        if (!e.startsWith(ENGINE_PREFIX))
            throw new IllegalArgumentException("not a cuda convolution algorithm: '" + entry + "' (expected '', 'cudnn',"
                    + " 'direct' or 'cudnn:engine=<index>;knobs=<type>:<value>,...[;fused=...][;for=<gpu>,cudnn <version>]')");
        String[] parts = e.substring(ENGINE_PREFIX.length()).split(";", -1);
        try {
            long engine = Long.parseLong(parts[0]);
            if (engine < 0) throw new NumberFormatException("negative engine index " + engine);
            if (parts.length < 2 || !parts[1].startsWith("knobs="))
                throw new IllegalArgumentException("no 'knobs=' after the engine index");
            List<Knob> knobs = new ArrayList<>();
            String list = parts[1].substring("knobs=".length());
            if (!list.isEmpty()) {
                for (String kv : list.split(",", -1)) {
                    int colon = kv.indexOf(':');
                    if (colon < 0) throw new IllegalArgumentException("knob '" + kv + "' is not <type>:<value>");
                    knobs.add(new Knob(Integer.parseInt(kv.substring(0, colon)), Long.parseLong(kv.substring(colon + 1))));
                }
            }
            int at = 2;
            boolean fusedBias = false, fusedRelu = false;
            if (at < parts.length && parts[at].startsWith("fused=")) {
                switch (parts[at++].substring("fused=".length())) {
                    case "bias" -> fusedBias = true;
                    case "relu" -> fusedRelu = true;
                    case "bias,relu" -> fusedBias = fusedRelu = true;
                    default -> throw new IllegalArgumentException("'" + parts[at - 1]
                            + "' is not fused=bias, fused=relu or fused=bias,relu");
                }
            }
            String tunedOn = "";
            if (at < parts.length && parts[at].startsWith("for=")) tunedOn = parts[at++].substring("for=".length());
            if (at < parts.length)
                throw new IllegalArgumentException("unexpected '" + String.join(";", List.of(parts).subList(at, parts.length)) + "'");
            return engine(engine, knobs, fusedBias, fusedRelu, tunedOn);
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("malformed cuDNN engine entry '" + entry + "': " + ex.getMessage(), ex);
        }
    }

    /** What an engine entry records of the machine it was measured on: "<GPU name>,cudnn <major.minor.patch>". */
    public static String machine(String gpu, String cudnnVersion) {
        return gpu.replace(';', ' ') + ",cudnn " + cudnnVersion;
    }

    /**
     * Whether a tuned engine configuration may be reused on {@code here} ({@link #machine} of this session's GPU
     * and cuDNN): null if so, otherwise the notice a session prints when it chooses again. Heuristic and direct
     * entries are machine-independent.
     */
    public String mismatch(String here) {
        if (kind != Kind.ENGINE || tunedOn.equals(here)) return null;
        return String.format(Locale.ROOT, "the plan's cuDNN engines were tuned on %s; this session runs on %s: they are"
                + " chosen again by cuDNN's heuristics (re-tune with CudnnAutotuner for the fastest)",
                tunedOn.isEmpty() ? "an unrecorded machine" : tunedOn, here);
    }
}
