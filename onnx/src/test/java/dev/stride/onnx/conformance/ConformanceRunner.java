package dev.stride.onnx.conformance;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.onnx.ImportedModel;
import dev.stride.onnx.OnnxImportException;
import dev.stride.onnx.OnnxImporter;
import dev.stride.onnx.OnnxTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs one conformance case on one backend: import (binding the inputs the importer needs at import time from the
 * data set), compile for the backend, run every data set, compare every output within {@link Tolerance}. A model
 * outside the engine's scope is UNSUPPORTED with the importer's reason; anything else that goes wrong is a FAIL.
 */
final class ConformanceRunner {
    private ConformanceRunner() {}

    enum Status { PASS, FAIL, UNSUPPORTED }

    record Outcome(ConformanceCase test, String backend, Status status, String detail, double seconds) {}

    /** The onnx-light input: float32 arange(n).reshape(1, 3, 224, 224) / n, n = 150528 (ONNX's dummy data). */
    static Tensor lightInput() {
        int n = 3 * 224 * 224;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) i / n;
        return Tensor.of(Shape.of(1, 3, 224, 224), v);
    }

    static Outcome run(ConformanceCase c, Backend backend) {
        long t0 = System.nanoTime();
        Tolerance tol = Tolerance.of(c);
        double worst = 0;
        try {
            byte[] model = Files.readAllBytes(c.model());
            List<String> feeds = OnnxImporter.feedInputs(model);
            Set<String> atImport = OnnxImporter.importTimeInputs(model);
            for (ConformanceCase.DataSet ds : c.dataSets()) {
                OnnxImporter.Options options = OnnxImporter.Options.defaults();
                Map<String, Tensor> inputs = new LinkedHashMap<>();
                if (c.suite().equals("onnx-light")) {
                    inputs.put(feeds.getFirst(), lightInput());
                } else {
                    if (ds.inputs().size() != feeds.size())
                        return done(c, backend, Status.FAIL, ds.name() + ": " + ds.inputs().size()
                                + " input files for the graph inputs " + feeds, t0);
                    for (int k = 0; k < feeds.size(); k++) {
                        byte[] bytes = Files.readAllBytes(ds.inputs().get(k));
                        String name = feeds.get(k);
                        if (atImport.contains(name) || !OnnxTensors.isFloat(bytes)) {
                            options = options.constant(name, bytes);
                        } else {
                            Tensor t = OnnxTensors.read(bytes);
                            inputs.put(name, t);
                            options = options.inputShape(name, t.shape().dims());
                        }
                    }
                }
                for (var e : inputs.entrySet()) options = options.inputShape(e.getKey(), e.getValue().shape().dims());
                ImportedModel m = OnnxImporter.importModel(model, options);
                Plan plan = m.compile(backend.target());
                Map<String, Tensor> feed = new LinkedHashMap<>();
                for (String name : m.inputNames()) feed.put(name, inputs.get(name));
                Map<String, Tensor> out;
                try (Session s = Session.open(plan, backend.name(), SessionOptions.defaults())) {
                    out = s.run(feed);
                }
                if (ds.outputs().size() != m.outputNames().size())
                    return done(c, backend, Status.FAIL, ds.name() + ": " + ds.outputs().size()
                            + " expected outputs for the graph outputs " + m.outputNames(), t0);
                for (int k = 0; k < ds.outputs().size(); k++) {
                    String name = m.outputNames().get(k);
                    Tensor want = OnnxTensors.read(Files.readAllBytes(ds.outputs().get(k)));
                    Tensor got = out.get(name);
                    if (!got.shape().equals(want.shape()))
                        return done(c, backend, Status.FAIL, ds.name() + " output '" + name + "': shape "
                                + got.shape() + ", expected " + want.shape(), t0);
                    for (long i = 0; i < want.size(); i++) {
                        double a = got.get(i), e = want.get(i);
                        if (!tol.close(a, e))
                            return done(c, backend, Status.FAIL, String.format("%s output '%s' element %d: %s, "
                                    + "expected %s (|diff| %.3g > atol %.0e + rtol %.0e * |expected|)", ds.name(),
                                    name, i, a, e, Math.abs(a - e), tol.atol(), tol.rtol()), t0);
                        if (!Double.isNaN(e)) worst = Math.max(worst, Math.abs(a - e));
                    }
                }
            }
            return done(c, backend, Status.PASS, String.format("max |diff| %.3g over %d data set(s)", worst,
                    c.dataSets().size()), t0);
        } catch (OnnxImportException e) {
            return done(c, backend, e.unsupported() ? Status.UNSUPPORTED : Status.FAIL, e.getMessage(), t0);
        } catch (IOException | RuntimeException e) {
            return done(c, backend, Status.FAIL, e.toString(), t0);
        }
    }

    private static Outcome done(ConformanceCase c, Backend b, Status s, String detail, long t0) {
        return new Outcome(c, b.name(), s, detail, (System.nanoTime() - t0) / 1e9);
    }
}
