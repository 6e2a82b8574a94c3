package dev.stride.tools;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.onnx.OnnxImportException;
import dev.stride.onnx.OnnxTensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code stride run FILE --input NAME=T.pb ...}: runs a plan once on inputs read from ONNX TensorProto files (or
 * simple .npy files), prints each output's shape and first values, and with {@code --output DIR} writes them as
 * {@code output_K.pb} in the graph's output order.
 */
final class RunCommand {
    private RunCommand() {}

    static final String USAGE = """
            usage: stride run FILE --input NAME=T.pb [--input ...] [--output DIR] [--backend NAME]
              --input    an input tensor: an ONNX TensorProto (.pb, float or double) or a NumPy .npy file
                         (little-endian float32/float64, C order)
              --output   writes every output as DIR/output_K.pb (K = position among the plan's outputs)
              --backend  the backend to run on (default: the one the plan was compiled for)
            """;

    static int run(String[] args) throws IOException {
        Path planFile = null, outDir = null;
        String backend = null;
        Map<String, Path> inputs = new LinkedHashMap<>();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--input", "-i" -> {
                        String[] kv = ImportCommand.pair(ImportCommand.value(args, ++i, a), a);
                        inputs.put(kv[0], Path.of(kv[1]));
                    }
                    case "--output" -> outDir = Path.of(ImportCommand.value(args, ++i, a));
                    case "--backend" -> backend = ImportCommand.value(args, ++i, a);
                    case "-h", "--help" -> { System.out.print(USAGE); return 0; }
                    default -> {
                        if (a.startsWith("-") || planFile != null) throw new IllegalArgumentException("unexpected argument '" + a + "'");
                        planFile = Path.of(a);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("stride run: " + e.getMessage());
            System.err.print(USAGE);
            return 2;
        }
        if (planFile == null) { System.err.print(USAGE); return 2; }
        Plan plan = PlanFile.load(planFile);
        Map<String, Tensor> feed = new LinkedHashMap<>();
        try {
            for (var e : inputs.entrySet()) feed.put(e.getKey(), readTensor(e.getValue()));
        } catch (OnnxImportException | IllegalArgumentException | ArithmeticException e) {
            System.err.println("stride run: " + e.getMessage());
            return 1;
        }
        Map<String, Tensor> out;
        try (Session s = Session.open(plan, backend != null ? backend : plan.target(), SessionOptions.defaults())) {
            long t0 = System.nanoTime();
            out = s.run(feed);
            System.out.printf(Locale.ROOT, "ran in %.1f ms on %s%n", (System.nanoTime() - t0) / 1e6, s.backend().name());
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("stride run: " + e.getMessage());
            return 1;
        }
        if (outDir != null) Files.createDirectories(outDir);
        int k = 0;
        for (var e : out.entrySet()) {
            Tensor t = e.getValue();
            System.out.println(e.getKey() + " " + t.shape() + " " + first(t, 8));
            if (outDir != null) {
                Path f = outDir.resolve("output_" + k + ".pb");
                OnnxTensors.write(f, t, e.getKey());
                System.out.println("  written to " + f);
            }
            k++;
        }
        return 0;
    }

    private static String first(Tensor t, int n) {
        List<String> v = new ArrayList<>();
        for (long i = 0; i < Math.min(n, t.size()); i++) v.add(String.format(Locale.ROOT, "%.6g", t.get(i)));
        return "[" + String.join(", ", v) + (t.size() > n ? ", ..." : "") + "]";
    }

    static Tensor readTensor(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        if (f.getFileName().toString().endsWith(".npy")) return readNpy(b, f);
        return OnnxTensors.read(b);
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** NumPy's .npy format, versions 1 to 3: a magic, a header dict, then the raw array. */
    static Tensor readNpy(byte[] b, Path f) {
        if (b.length < 10 || (b[0] & 0xFF) != 0x93 || !new String(b, 1, 5, StandardCharsets.ISO_8859_1).equals("NUMPY"))
            throw new IllegalArgumentException(f + ": not a .npy file");
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int major = b[6];
        long headerLen = major == 1 ? bb.getShort(8) & 0xFFFF : bb.getInt(8) & 0xFFFFFFFFL;
        int start = major == 1 ? 10 : 12;
        if (start + headerLen > b.length) throw new IllegalArgumentException(f + ": truncated .npy header");
        String header = new String(b, start, (int) headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), o = ORDER.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) throw new IllegalArgumentException(f + ": unreadable .npy header " + header.trim());
        if (o.group(1).equals("True")) throw new IllegalArgumentException(f + ": Fortran-order arrays are not supported");
        String descr = d.group(1);
        int size = switch (descr) {
            case "<f4" -> 4;
            case "<f8" -> 8;
            default -> throw new IllegalArgumentException(f + ": dtype " + descr + " (float32 '<f4' or float64 '<f8' only)");
        };
        int[] dims = s.group(1).isBlank() ? new int[0] : java.util.Arrays.stream(s.group(1).split(","))
                .map(String::trim).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        Shape shape = Shape.of(dims);
        int data = (int) (start + headerLen);
        if ((long) data + shape.size() * size != b.length)
            throw new IllegalArgumentException(f + ": " + (b.length - data) + " data bytes for shape " + shape + " of " + descr);
        bb.position(data);
        int n = Math.toIntExact(shape.size());
        if (size == 4) {
            float[] v = new float[n];
            bb.asFloatBuffer().get(v);
            return Tensor.of(shape, v);
        }
        double[] v = new double[n];
        bb.asDoubleBuffer().get(v);
        return Tensor.of(shape, v);
    }
}
