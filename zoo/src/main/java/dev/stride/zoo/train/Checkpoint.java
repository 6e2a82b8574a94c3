package dev.stride.zoo.train;

import dev.stride.graph.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Everything a {@link Trainer} needs to continue a run exactly where it was: the training session's persistent
 * tensors (parameters, optimizer moments and step counters such as {@code adam/t}, batch-norm running statistics),
 * the session's run counter (the position of dropout and noise streams), the position in the data (epoch and next
 * batch, the shuffle seed), the schedule's global step, the whole {@link TrainingLog}, the early-stopping state and,
 * when the trainer keeps one, the copy of the best epoch's tensors.
 *
 * <p>The file, little-endian, is a 24-byte header followed by the body, as a plan file:
 * <table>
 *   <caption>Header</caption>
 *   <tr><th>offset</th><th>bytes</th><th>field</th></tr>
 *   <tr><td>0</td><td>8</td><td>magic, ASCII {@code STRIDECK}</td></tr>
 *   <tr><td>8</td><td>4</td><td>format version, u32 ({@link #FORMAT_VERSION})</td></tr>
 *   <tr><td>12</td><td>4</td><td>CRC32C of the body, u32</td></tr>
 *   <tr><td>16</td><td>8</td><td>body length n, u64; the file is exactly 24 + n bytes</td></tr>
 * </table>
 * Body fields in order ({@code str} = i32 byte count + UTF-8; {@code bytes} = i32 count + raw bytes; f64 as raw
 * IEEE bits): str dtype; i32 batchSize; i32 batchesPerEpoch; i64 dataSeed; i32 topK; i64 sessionStep;
 * i64 globalStep; i32 epoch; i32 batch; u8 stoppedEarly; f64 runningLoss; str early-stopping metric; f64 best;
 * i32 bestEpoch; i32 epochsWithoutImprovement; i32 count + steps (i64 step, i32 epoch, f64 lr, f64 loss);
 * i32 count + epochs (i32 epoch, i64 lastStep, f64 trainLoss, f64 evalLoss, f64 accuracy, f64 topKAccuracy);
 * then two tensor sets, the state and the best state (possibly empty), each i32 count + (str name,
 * i32 rank + i32 dims, bytes data in the dtype).
 *
 * <p>Reading trusts nothing the checksum lets through: every count is checked against the bytes that remain
 * before anything is allocated for it, and every failure is a {@link CheckpointFormatException} naming the file.
 *
 * @param epoch the 0-based epoch in progress; {@code batch} is the next batch of it to train (0 at an epoch start)
 */
public record Checkpoint(DType dtype, int batchSize, int batchesPerEpoch, long dataSeed, int topK,
                         long sessionStep, long globalStep, int epoch, int batch, boolean stoppedEarly,
                         double runningLoss, EarlyStopping.Metric metric, EarlyStopping.Tracker tracker,
                         List<TrainingLog.Step> steps, List<TrainingLog.Epoch> epochs,
                         Map<String, Entry> state, Map<String, Entry> bestState) {

    /** One stored tensor: its shape and its little-endian bytes in the checkpoint's dtype. */
    public record Entry(int[] dims, byte[] data) {
        public Entry {
            dims = dims.clone();
        }

        @Override public int[] dims() { return dims.clone(); }
    }

    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = 24;
    /** A checkpoint is read into one array: just under 2 GiB. */
    static final int MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    private static final byte[] MAGIC = "STRIDECK".getBytes(StandardCharsets.US_ASCII);

    public Checkpoint {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(tracker, "tracker");
        steps = List.copyOf(steps);
        epochs = List.copyOf(epochs);
        state = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(state));
        bestState = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bestState));
    }

    // ---------------------------------------------------------------------------------------------- write

    /** Writes the checkpoint atomically (temporary file in the same directory, forced, renamed over {@code file}). */
    public void save(Path file) throws IOException { AtomicFiles.write(file, toBytes()); }

    public byte[] toBytes() {
        ByteBuffer body = ByteBuffer.allocate(Math.toIntExact(bodySize())).order(ByteOrder.LITTLE_ENDIAN);
        str(body, dtype.name());
        body.putInt(batchSize).putInt(batchesPerEpoch).putLong(dataSeed).putInt(topK);
        body.putLong(sessionStep).putLong(globalStep).putInt(epoch).putInt(batch);
        body.put((byte) (stoppedEarly ? 1 : 0)).putDouble(runningLoss);
        str(body, metric.name());
        body.putDouble(tracker.best()).putInt(tracker.bestEpoch()).putInt(tracker.epochsWithoutImprovement());
        body.putInt(steps.size());
        for (TrainingLog.Step s : steps) body.putLong(s.step()).putInt(s.epoch()).putDouble(s.lr()).putDouble(s.loss());
        body.putInt(epochs.size());
        for (TrainingLog.Epoch e : epochs)
            body.putInt(e.epoch()).putLong(e.lastStep()).putDouble(e.trainLoss()).putDouble(e.evalLoss())
                    .putDouble(e.accuracy()).putDouble(e.topKAccuracy());
        tensors(body, state);
        tensors(body, bestState);
        if (body.hasRemaining()) throw new AssertionError("checkpoint body size miscounted");

        CRC32C crc = new CRC32C();
        crc.update(body.array());
        ByteBuffer file = ByteBuffer.allocate(Math.addExact(HEADER_BYTES, body.capacity())).order(ByteOrder.LITTLE_ENDIAN);
        file.put(MAGIC).putInt(FORMAT_VERSION).putInt((int) crc.getValue()).putLong(body.capacity()).put(body.array());
        return file.array();
    }

    private long bodySize() {
        long n = strSize(dtype.name()) + 4 + 4 + 8 + 4 + 8 + 8 + 4 + 4 + 1 + 8 + strSize(metric.name()) + 8 + 4 + 4;
        n += 4 + 28L * steps.size() + 4 + 44L * epochs.size();
        n += tensorsSize(state) + tensorsSize(bestState);
        if (n > MAX_FILE_BYTES - HEADER_BYTES)
            throw new IllegalArgumentException("checkpoint of " + n + " bytes is larger than one file can hold ("
                    + MAX_FILE_BYTES + ")");
        return n;
    }

    private static long strSize(String s) { return 4 + s.getBytes(StandardCharsets.UTF_8).length; }

    private static long tensorsSize(Map<String, Entry> m) {
        long n = 4;
        for (var e : m.entrySet()) n += strSize(e.getKey()) + 4 + 4L * e.getValue().dims.length + 4 + e.getValue().data().length;
        return n;
    }

    private static void str(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.putInt(u.length).put(u);
    }

    private static void tensors(ByteBuffer b, Map<String, Entry> m) {
        b.putInt(m.size());
        for (var e : m.entrySet()) {
            str(b, e.getKey());
            b.putInt(e.getValue().dims.length);
            for (int d : e.getValue().dims) b.putInt(d);
            b.putInt(e.getValue().data().length).put(e.getValue().data());
        }
    }

    // ----------------------------------------------------------------------------------------------- read

    /** Reads and checks a checkpoint file; anything that does not make sense is a {@link CheckpointFormatException}. */
    public static Checkpoint load(Path file) throws IOException {
        String source = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE_BYTES) {
                byte[] head = readUpTo(ch, HEADER_BYTES);     // say what it is first; never allocate its size
                checkHeader(head, size, source);
                throw new CheckpointFormatException(source, "file is " + size + " bytes; a checkpoint holds at most "
                        + MAX_FILE_BYTES);
            }
            return decode(readUpTo(ch, (int) size), source);
        }
    }

    /** Decodes the bytes {@link #toBytes} made. */
    public static Checkpoint fromBytes(byte[] bytes) throws CheckpointFormatException {
        return decode(bytes, "checkpoint bytes");
    }

    /** Reads from the start until {@code max} bytes or the end of the file (it may shrink while we read). */
    private static byte[] readUpTo(FileChannel ch, int max) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(max);
        long pos = 0;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) break;
            pos += r;
        }
        return buf.position() == max ? buf.array() : Arrays.copyOf(buf.array(), buf.position());
    }

    /** Checks magic, version and length against a file of {@code fileSize} bytes; returns the body length. */
    private static long checkHeader(byte[] head, long fileSize, String source) throws CheckpointFormatException {
        int seen = Math.min(head.length, MAGIC.length);
        if (head.length == 0 || !Arrays.equals(head, 0, seen, MAGIC, 0, seen))
            throw new CheckpointFormatException(source, head.length == 0 ? "file is empty, not a Stride checkpoint"
                    : "not a Stride checkpoint (it does not start with \"STRIDECK\")");
        if (head.length < HEADER_BYTES)
            throw new CheckpointFormatException(source, "file is truncated: " + fileSize + " bytes, shorter than the "
                    + HEADER_BYTES + "-byte header");
        ByteBuffer h = ByteBuffer.wrap(head, 0, HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long version = Integer.toUnsignedLong(h.getInt(8));
        if (version > FORMAT_VERSION)
            throw new CheckpointFormatException(source, "checkpoint format version " + version
                    + " is newer than this Stride reads (" + FORMAT_VERSION + "); upgrade Stride");
        if (version < 1) throw new CheckpointFormatException(source, "checkpoint format version " + version + " is not valid");
        long body = h.getLong(16);
        long present = fileSize - HEADER_BYTES;
        if (body < 0 || body > present)
            throw new CheckpointFormatException(source, "file is truncated: header says the body is "
                    + Long.toUnsignedString(body) + " bytes, the file has " + present);
        if (body < present)
            throw new CheckpointFormatException(source, "file has " + (present - body) + " bytes after the " + body
                    + "-byte body the header announces");
        return body;
    }

    private static Checkpoint decode(byte[] file, String source) throws CheckpointFormatException {
        long bodyLength = checkHeader(file, file.length, source);
        CRC32C crc = new CRC32C();
        crc.update(file, HEADER_BYTES, (int) bodyLength);
        int stored = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(12);
        if ((int) crc.getValue() != stored)
            throw new CheckpointFormatException(source, "checksum mismatch: the file is corrupted");
        In in = new In(ByteBuffer.wrap(file, HEADER_BYTES, (int) bodyLength).slice().order(ByteOrder.LITTLE_ENDIAN), source);

        DType dtype = in.enumName(DType.class, "dtype");
        int batchSize = in.i32("batch size");
        int batchesPerEpoch = in.i32("batches per epoch");
        long dataSeed = in.i64("data seed");
        int topK = in.i32("top-k");
        long sessionStep = in.i64("session step");
        long globalStep = in.i64("global step");
        int epoch = in.i32("epoch");
        int batch = in.i32("batch");
        boolean stoppedEarly = in.bool("stopped-early flag");
        double runningLoss = in.f64("running loss");
        EarlyStopping.Metric metric = in.enumName(EarlyStopping.Metric.class, "early-stopping metric");
        var tracker = new EarlyStopping.Tracker(in.f64("best metric"), in.i32("best epoch"), in.i32("epochs without improvement"));
        if (batchSize < 1 || batchesPerEpoch < 1 || topK < 1 || sessionStep < 0 || globalStep < 0 || epoch < 0
                || batch < 0 || batch >= batchesPerEpoch || tracker.bestEpoch() < 0 || tracker.epochsWithoutImprovement() < 0)
            throw in.fail("impossible position: batch size " + batchSize + ", " + batchesPerEpoch
                    + " batches per epoch, top-" + topK + ", session step " + sessionStep + ", global step " + globalStep
                    + ", epoch " + epoch + ", batch " + batch + ", best epoch " + tracker.bestEpoch()
                    + ", epochs without improvement " + tracker.epochsWithoutImprovement());

        int ns = in.count("step record", 28);
        List<TrainingLog.Step> steps = new ArrayList<>(ns);
        for (int i = 0; i < ns; i++)
            steps.add(new TrainingLog.Step(in.i64("step"), in.i32("step epoch"), in.f64("step lr"), in.f64("step loss")));
        int ne = in.count("epoch record", 44);
        List<TrainingLog.Epoch> epochs = new ArrayList<>(ne);
        for (int i = 0; i < ne; i++)
            epochs.add(new TrainingLog.Epoch(in.i32("epoch"), in.i64("epoch last step"), in.f64("epoch train loss"),
                    in.f64("epoch eval loss"), in.f64("epoch accuracy"), in.f64("epoch top-k accuracy")));
        if (steps.size() != globalStep)
            throw in.fail("the log has " + steps.size() + " steps, the global step is " + globalStep);

        Map<String, Entry> state = in.tensors("state", dtype);
        Map<String, Entry> best = in.tensors("best state", dtype);
        if (in.b.hasRemaining())
            throw in.fail(in.b.remaining() + " unexpected bytes after the end of the content at offset " + in.b.position());
        return new Checkpoint(dtype, batchSize, batchesPerEpoch, dataSeed, topK, sessionStep, globalStep, epoch, batch,
                stoppedEarly, runningLoss, metric, tracker, steps, epochs, state, best);
    }

    /** A bounds-checked little-endian reader over the body; every failure names the body offset. */
    private static final class In {
        final ByteBuffer b;
        final String source;

        In(ByteBuffer b, String source) {
            this.b = b;
            this.source = source;
        }

        CheckpointFormatException fail(String problem) { return new CheckpointFormatException(source, problem); }

        private void need(long k, String what) throws CheckpointFormatException {
            if (b.remaining() < k) throw fail("body ends at offset " + b.position() + " in the middle of " + what);
        }

        int i32(String what) throws CheckpointFormatException { need(4, what); return b.getInt(); }

        long i64(String what) throws CheckpointFormatException { need(8, what); return b.getLong(); }

        double f64(String what) throws CheckpointFormatException { need(8, what); return b.getDouble(); }

        boolean bool(String what) throws CheckpointFormatException {
            need(1, what);
            int v = b.get() & 0xFF;
            if (v > 1) throw fail(what + " is " + v + " at offset " + (b.position() - 1) + "; a boolean is 0 or 1");
            return v == 1;
        }

        /** A count of elements of at least {@code minBytes} each, checked against what remains before any allocation. */
        int count(String what, int minBytes) throws CheckpointFormatException {
            int at = b.position();
            int n = i32(what + " count");
            if (n < 0 || (long) n * minBytes > b.remaining())
                throw fail(what + " count " + n + " at offset " + at + " is impossible: only " + b.remaining()
                        + " bytes remain");
            return n;
        }

        String str(String what) throws CheckpointFormatException {
            int n = count(what + " length", 1);
            int at = b.position();
            ByteBuffer slice = b.slice(at, n);
            b.position(at + n);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
            } catch (CharacterCodingException e) {
                throw fail(what + " at offset " + at + " is not valid UTF-8");
            }
        }

        <E extends Enum<E>> E enumName(Class<E> type, String what) throws CheckpointFormatException {
            String s = str(what);
            for (E e : type.getEnumConstants()) if (e.name().equals(s)) return e;
            throw fail(what + " '" + s + "' is not one of " + Arrays.toString(type.getEnumConstants()));
        }

        Map<String, Entry> tensors(String what, DType dtype) throws CheckpointFormatException {
            int n = count(what + " tensor", 12);
            Map<String, Entry> m = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                String name = str(what + " tensor name");
                int rank = count("rank of " + what + " tensor '" + name + "'", 4);
                int[] dims = new int[rank];
                long elements = 1;
                for (int k = 0; k < rank; k++) {
                    dims[k] = b.getInt();
                    if (dims[k] < 0) throw fail(what + " tensor '" + name + "' has negative dimension " + dims[k]);
                    elements = dims[k] == 0 || elements == 0 ? 0 : Math.min(elements * dims[k], Integer.MAX_VALUE);
                }
                int at = b.position();
                int len = count("data of " + what + " tensor '" + name + "'", 1);
                if (len != elements * dtype.bytes)
                    throw fail(what + " tensor '" + name + "' " + Arrays.toString(dims) + " at offset " + at + " has "
                            + len + " bytes; in " + dtype + " it needs " + elements * dtype.bytes);
                byte[] data = new byte[len];
                b.get(data);
                if (m.put(name, new Entry(dims, data)) != null) throw fail(what + " tensor '" + name + "' is stored twice");
            }
            return m;
        }
    }
}
