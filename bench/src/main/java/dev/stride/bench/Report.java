package dev.stride.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Reads JMH's JSON results ({@code -rf json -rff results.json}) and prints a Markdown table: per benchmark and
 * parameters, the median time per call in ms, the FLOPs per call and GFLOP/s (from the {@code flop} counter, see
 * {@link FlopCounter}), and the fraction of the FMA peak ({@link FmaPeakBenchmark} in the same file: 1-thread
 * results against its {@code oneThread} median, 2-thread results against {@code twoThreads}).
 *
 * <p>Medians are over the measured iterations of all forks: a neighbour's burst drags a mean down, the median says
 * what a quiet iteration gets. In throughput mode the median time per call is 1 / (median calls per ms). The
 * FLOPs of a Winograd convolution are the direct convolution's (what {@code Plan.flops()} counts), so its GFLOP/s are
 * "effective": the rate a direct convolution would need to match it, possibly above the peak.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.stride.bench.Report bench/results.json</pre>
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws IOException {
        if (args.length >= 2 && args[0].equals("--gpu")) {
            List<Path> files = new ArrayList<>();
            for (int i = 1; i < args.length; i++) files.add(Path.of(args[i]));
            gpu(files, System.out);
            return;
        }
        if (args.length != 1) {
            System.err.println("usage: java -cp benchmarks.jar dev.stride.bench.Report results.json\n"
                    + "       java -cp benchmarks.jar dev.stride.bench.Report --gpu gpu-stride.json gpu-torch.json ...");
            System.exit(2);
        }
        print(Path.of(args[0]), System.out);
    }

    /**
     * The GPU results of {@link GpuBenchmark} and {@code bench/python/torch_peer.py} (same JSON schema, one file per
     * runner) side by side: per case and batch, each runner's median ms and images/s, and the time of the first
     * runner over each other's (below 1: the first is faster). Cases one runner skipped show its reason.
     */
    public static void gpu(List<Path> files, PrintStream out) throws IOException {
        List<String> runners = new ArrayList<>();
        List<Map<String, Map<?, ?>>> byCase = new ArrayList<>();
        List<String> order = new ArrayList<>();
        Map<String, String> shapes = new LinkedHashMap<>();
        for (Path f : files) {
            if (!(Json.parse(Files.readString(f)) instanceof Map<?, ?> doc))
                throw new IOException(f + ": not a GPU benchmark result (no top-level object)");
            String runner = String.valueOf(doc.get("runner"));
            runners.add(runner);
            out.printf("%s: %s%s; settings %s%n", runner, doc.get("device") == null ? "no GPU" : doc.get("device"),
                    doc.get("unavailable") != null ? " (" + doc.get("unavailable") + ")" : "",
                    doc.get("settings"));
            Map<String, Map<?, ?>> cases = new LinkedHashMap<>();
            if (doc.get("results") instanceof List<?> results)
                for (Object o : results) {
                    if (!(o instanceof Map<?, ?> r)) continue;
                    String key = r.get("case") + " @" + (long) number(r.get("batch"));
                    cases.put(key, r);
                    if (!order.contains(key)) order.add(key);
                    if (r.get("shape") != null) shapes.putIfAbsent(key, String.valueOf(r.get("shape")));
                }
            byCase.add(cases);
        }
        out.println();
        StringBuilder head = new StringBuilder("| case | batch |");
        StringBuilder rule = new StringBuilder("| --- | ---: |");
        for (String r : runners) {
            head.append(' ').append(r).append(" ms | ").append(r).append(" images/s |");
            rule.append(" ---: | ---: |");
        }
        for (int i = 1; i < runners.size(); i++) {
            head.append(' ').append(runners.getFirst()).append(" / ").append(runners.get(i)).append(" time |");
            rule.append(" ---: |");
        }
        head.append(" note |");
        rule.append(" --- |");
        out.println(head);
        out.println(rule);
        for (String key : order) {
            int at = key.lastIndexOf(" @");
            StringBuilder row = new StringBuilder("| ").append(key, 0, at).append(" | ").append(key.substring(at + 2)).append(" |");
            List<String> notes = new ArrayList<>();
            if (shapes.containsKey(key)) notes.add(shapes.get(key));
            double[] ms = new double[runners.size()];
            for (int i = 0; i < runners.size(); i++) {
                Map<?, ?> r = byCase.get(i).get(key);
                ms[i] = r == null || r.get("skipped") != null ? Double.NaN : number(r.get("median_ms"));
                double ips = r == null || r.get("skipped") != null ? Double.NaN : number(r.get("images_per_s"));
                row.append(' ').append(fmt(ms[i], 3)).append(" | ").append(fmt(ips, 1)).append(" |");
                if (r == null) notes.add(runners.get(i) + ": not run");
                else if (r.get("skipped") != null) notes.add(runners.get(i) + " skipped: " + r.get("skipped"));
                if (r != null && r.get("algorithm") != null) notes.add(runners.get(i) + " " + r.get("algorithm"));
            }
            for (int i = 1; i < runners.size(); i++) row.append(' ').append(fmt(ms[0] / ms[i], 2)).append(" |");
            row.append(' ').append(String.join("; ", notes).replace('|', '/')).append(" |");
            out.println(row);
        }
    }

    /** One benchmark result, reduced to what the table shows. */
    record Row(String benchmark, Map<String, String> params, int threads, double medianMs, double flopPerCall,
               double gflops) {}

    public static void print(Path json, PrintStream out) throws IOException {
        Object parsed = Json.parse(Files.readString(json));
        if (!(parsed instanceof List<?> results)) throw new IOException(json + ": not a JMH JSON result (no top-level array)");
        List<Row> rows = new ArrayList<>();
        double[] peak = new double[3];                            // median GFLOP/s by thread count
        for (Object o : results) {
            Row r = row(o);
            String method = r.benchmark().substring(r.benchmark().lastIndexOf('.') + 1);
            if (r.benchmark().contains("FmaPeakBenchmark.")) {
                if (method.equals("oneThread")) peak[1] = r.gflops();
                if (method.equals("twoThreads")) peak[2] = r.gflops();
            }
            rows.add(r);
        }
        if (peak[1] > 0 || peak[2] > 0)
            out.printf(Locale.ROOT, "FMA peak (median): %s GFLOP/s on 1 thread, %s on 2%n%n", fmt(peak[1], 1), fmt(peak[2], 1));
        else
            out.printf("No FmaPeakBenchmark in %s: no fraction of peak.%n%n", json);
        out.println("| benchmark | params | threads | median ms | MFLOP/call | GFLOP/s | % of peak | note |");
        out.println("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
        for (Row r : rows) {
            String shortName = r.benchmark().replaceFirst("^dev\\.stride\\.bench\\.", "");
            boolean isPeak = shortName.startsWith("FmaPeakBenchmark.");
            double p = r.threads() < peak.length ? peak[r.threads()] : 0;
            StringJoiner params = new StringJoiner(" ");
            r.params().forEach((k, v) -> { if (!k.equals("threads")) params.add(k + "=" + v); });
            out.printf(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %s | %s |%n", shortName, params, r.threads(),
                    isPeak ? "" : fmt(r.medianMs(), 3), isPeak ? "" : fmt(r.flopPerCall() / 1e6, 1), fmt(r.gflops(), 1),
                    !isPeak && p > 0 && !Double.isNaN(r.gflops()) ? fmt(100 * r.gflops() / p, 1) : "",
                    note(r, isPeak));
        }
    }

    private static String note(Row r, boolean isPeak) {
        if (isPeak) return "the peak";
        List<String> notes = new ArrayList<>();
        String layer = r.params().get("layer");
        if (layer != null) notes.add(layerShape(layer, r.params().get("size")));
        String algorithm = r.params().getOrDefault("algorithm", "");
        if (algorithm.startsWith("winograd")) notes.add("effective GFLOP/s (direct-conv FLOPs)");
        notes.removeIf(String::isEmpty);
        return String.join("; ", notes);
    }

    /** Distinct conv layers by "network@size", each network's graph built once per report. */
    private static final Map<String, List<ConvLayers.Layer>> LAYERS = new HashMap<>();

    /** The layer's shape as {@link ConvLayers.Layer#describe()} gives it, or "" when the key is unknown. */
    private static String layerShape(String key, String size) {
        int colon = key.indexOf(':');
        if (colon < 0) return "";
        try {
            int side = size == null ? 224 : Integer.parseInt(size);
            List<ConvLayers.Layer> layers = LAYERS.computeIfAbsent(key.substring(0, colon) + "@" + side,
                    k -> ConvLayers.distinct(k.substring(0, k.indexOf('@')), side));
            for (ConvLayers.Layer l : layers) if (l.key().equals(key)) return l.describe();
        } catch (RuntimeException e) {
            // an unknown network or size: no shape
        }
        return "";
    }

    static Row row(Object o) throws IOException {
        if (!(o instanceof Map<?, ?> m)) throw new IOException("a JMH result is not an object: " + o);
        String benchmark = String.valueOf(m.get("benchmark"));
        Map<String, String> params = new LinkedHashMap<>();
        if (m.get("params") instanceof Map<?, ?> p) p.forEach((k, v) -> params.put(String.valueOf(k), String.valueOf(v)));
        int threads;
        if (params.containsKey("threads")) threads = Integer.parseInt(params.get("threads"));
        else if (benchmark.endsWith(".twoThreads")) threads = 2;
        else threads = 1;

        Map<?, ?> primary = (Map<?, ?>) m.get("primaryMetric");
        String unit = String.valueOf(primary.get("scoreUnit"));
        double medianMs = Double.NaN, callsPerNs = Double.NaN;
        double median = median(primary.get("rawData"));
        if (unit.startsWith("ops/")) {
            double perNs = nanosPer(unit.substring(4));
            medianMs = 1e-6 * perNs / median;                   // 1 / (calls per ns), in ms
            callsPerNs = number(primary.get("score")) / perNs;
        } else if (unit.endsWith("/op")) {
            medianMs = median * nanosPer(unit.substring(0, unit.length() - 3)) * 1e-6;
        }

        double gflops = Double.NaN, flopPerCall = Double.NaN;
        if (m.get("secondaryMetrics") instanceof Map<?, ?> sec && sec.get("flop") instanceof Map<?, ?> flop) {
            String fu = String.valueOf(flop.get("scoreUnit"));
            if (fu.startsWith("ops/")) {
                double perNs = nanosPer(fu.substring(4));
                gflops = median(flop.get("rawData")) / perNs;     // FLOP per ns = GFLOP/s
                flopPerCall = number(flop.get("score")) / perNs / callsPerNs;
            }
        }
        return new Row(benchmark, params, threads, medianMs, flopPerCall, gflops);
    }

    /** Nanoseconds in one JMH time unit. */
    private static double nanosPer(String unit) {
        return switch (unit) {
            case "ns" -> 1;
            case "us" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "min" -> 60e9;
            case "hr" -> 3600e9;
            default -> throw new IllegalArgumentException("unknown JMH time unit '" + unit + "'");
        };
    }

    /** Median of JMH's rawData (a list per fork of the iterations' scores), over all of them. */
    static double median(Object rawData) {
        List<Double> v = new ArrayList<>();
        if (rawData instanceof List<?> forks)
            for (Object fork : forks) if (fork instanceof List<?> it) for (Object x : it) v.add(number(x));
        v.removeIf(d -> d.isNaN());
        if (v.isEmpty()) return Double.NaN;
        v.sort(null);
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    private static double number(Object o) {
        if (o instanceof Number n) return n.doubleValue();
        try {
            return Double.parseDouble(String.valueOf(o));          // JMH writes "NaN" as a string
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String fmt(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return "-";
        if (decimals == 3 && Math.abs(v) >= 100) decimals = 1;       // keep big numbers readable
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** The JSON JMH writes: objects, arrays, strings, numbers, true/false/null. Nothing more is needed. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) { this.s = s; }

        static Object parse(String text) throws IOException {
            Json p = new Json(text);
            Object v = p.value();
            p.skip();
            if (p.i != p.s.length()) throw p.error("trailing characters");
            return v;
        }

        private IOException error(String what) { return new IOException("JSON: " + what + " at offset " + i); }

        private void skip() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }

        /** The next character, consumed. */
        private char next() throws IOException {
            if (i >= s.length()) throw error("unexpected end");
            return s.charAt(i++);
        }

        /** The next non-blank character, not consumed. */
        private char peek() throws IOException {
            skip();
            if (i >= s.length()) throw error("unexpected end");
            return s.charAt(i);
        }

        private Object value() throws IOException {
            char c = peek();
            switch (c) {
                case '{' -> {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    if (peek() == '}') { i++; return m; }
                    while (true) {
                        if (peek() != '"') throw error("object key expected");
                        String k = string();
                        if (peek() != ':') throw error("':' expected");
                        i++;
                        m.put(k, value());
                        char d = peek();
                        i++;
                        if (d == '}') return m;
                        if (d != ',') throw error("',' or '}' expected");
                    }
                }
                case '[' -> {
                    i++;
                    List<Object> a = new ArrayList<>();
                    if (peek() == ']') { i++; return a; }
                    while (true) {
                        a.add(value());
                        char d = peek();
                        i++;
                        if (d == ']') return a;
                        if (d != ',') throw error("',' or ']' expected");
                    }
                }
                case '"' -> { return string(); }
                default -> {
                    int start = i;
                    while (i < s.length() && ",}] \t\r\n".indexOf(s.charAt(i)) < 0) i++;
                    String t = s.substring(start, i);
                    return switch (t) {
                        case "true" -> Boolean.TRUE;
                        case "false" -> Boolean.FALSE;
                        case "null" -> null;
                        default -> {
                            try {
                                yield Double.parseDouble(t);
                            } catch (NumberFormatException e) {
                                i = start;
                                throw error("bad literal '" + t + "'");
                            }
                        }
                    };
                }
            }
        }

        private String string() throws IOException {
            StringBuilder b = new StringBuilder();
            i++;                                                    // the opening quote
            while (true) {
                char c = next();
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                char e = next();
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("unterminated \\u escape");
                        try {
                            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        i += 4;
                    }
                    default -> b.append(e);                        // \" \\ \/
                }
            }
        }
    }
}
