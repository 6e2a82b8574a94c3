package dev.stride.graph;

import dev.stride.graph.io.AtomicFile;
import dev.stride.graph.io.BodyReader;
import dev.stride.graph.io.BodyWriter;
import dev.stride.graph.io.FramedFile;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The plan file: a {@link Plan} as a versioned, checksummed binary (the {@code .stride} AOT artefact).
 *
 * <p>Everything is little-endian. A file is the 24-byte header every Stride binary file has ({@link FramedFile}):
 * magic, ASCII {@code STRIDEPL}; u32 format version ({@link #FORMAT_VERSION}); u32 CRC32C of the body; u64 body
 * length n; then the n-byte body, and nothing after it.
 *
 * <p>The body is a sequence of fields. Primitive encodings: {@code i32}, {@code i64}, {@code f64} (raw IEEE bits,
 * so NaN payloads survive), {@code bool} (one byte, 0 or 1), {@code str} (i32 byte count, then UTF-8),
 * {@code list<T>} (i32 count, then the elements), {@code bytes} (i32 count, then raw bytes).
 * <table>
 *   <caption>Body, in order</caption>
 *   <tr><th>field</th><th>encoding</th></tr>
 *   <tr><td>dtype</td><td>str: {@link DType} name</td></tr>
 *   <tr><td>training</td><td>bool</td></tr>
 *   <tr><td>values, in id order</td><td>list of (str name, str {@link Value.Kind} name, list&lt;i32&gt; dims,
 *       i32 producer node id or -1, i32 output index)</td></tr>
 *   <tr><td>inits</td><td>list of (i32 value id, str {@link Init.Kind} name, f64 value)</td></tr>
 *   <tr><td>nodes, in id order</td><td>list of (str name, op, list&lt;i32&gt; input value ids,
 *       list&lt;i32&gt; output value ids)</td></tr>
 *   <tr><td>op</td><td>str simple name of a record class in {@code dev.stride.graph.op}; i32 component count;
 *       per record component: str name, u8 type tag, value (never null). Tags: 1 int (i32),
 *       2 long (i64), 3 double (f64), 4 boolean (bool), 5 String (str), 6 int[] (list&lt;i32&gt;),
 *       7 long[] (list&lt;i64&gt;), 8 double[] (list&lt;f64&gt;), 9 enum (str constant name). A file may store
 *       fewer components than the record declares when the record has a public constructor over exactly the
 *       leading ones: an op that grew a trailing attribute keeps its earlier canonical constructor, which reads
 *       the plans written before and supplies the default</td></tr>
 *   <tr><td>outputs</td><td>list of (str name, i32 value id)</td></tr>
 *   <tr><td>updates</td><td>list of (i32 target value id, i32 source value id)</td></tr>
 *   <tr><td>schedule</td><td>list&lt;i32&gt; node ids</td></tr>
 *   <tr><td>memory plan</td><td>list&lt;i64&gt; offset, list&lt;i64&gt; bytes, list&lt;i32&gt; firstStep,
 *       list&lt;i32&gt; lastStep (each one per value), i64 arenaBytes, i64 naiveArenaBytes,
 *       i64 persistentBytes</td></tr>
 *   <tr><td>target</td><td>str backend name; list of (str key, str value) target info</td></tr>
 *   <tr><td>algorithms</td><td>list&lt;str&gt;, one per node</td></tr>
 *   <tr><td>tensors</td><td>list of (str persistent value name, bytes little-endian data in the dtype)</td></tr>
 * </table>
 *
 * <p>Loading trusts nothing the checksum lets through: a file can be hand-crafted with a valid CRC. Every count is
 * checked against the bytes that remain before anything is allocated for it; ops are looked up only in
 * {@code dev.stride.graph.op} and must be records implementing {@link Op}; every op's shape rule is re-run on the
 * loaded input shapes and must reproduce the stored output shapes; the schedule must be a topological order and
 * the memory plan must place every value the schedule touches, inside its region, without two values that are
 * live at the same time sharing a byte. Anything else is a {@link PlanFormatException} naming the file and the
 * problem. A plan file is limited to what one Java array holds (just under 2 GiB).
 */
public final class PlanFile {
    private PlanFile() {}

    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = FramedFile.HEADER_BYTES;

    /** Magic, version, checksum and length: the framing plan files share with checkpoints. */
    private static final FramedFile<PlanFormatException> FRAME =
            new FramedFile<>("STRIDEPL", FORMAT_VERSION, "plan", "plan file", PlanFormatException::new);
    private static final String OP_PACKAGE = "dev.stride.graph.op";
    private static final String IN_MEMORY = "plan bytes";

    // Component type tags.
    private static final int T_INT = 1, T_LONG = 2, T_DOUBLE = 3, T_BOOLEAN = 4, T_STRING = 5,
            T_INTS = 6, T_LONGS = 7, T_DOUBLES = 8, T_ENUM = 9;
    private static final String[] TAG_NAMES =
            {"(none)", "int", "long", "double", "boolean", "String", "int[]", "long[]", "double[]", "enum"};

    /** What the codec needs of an op record class, computed once per class (reflection is slow per call). */
    private record RecordInfo(RecordComponent[] components, Class<?>[] types, int[] tags, Constructor<?> constructor) {
        static final ClassValue<RecordInfo> CACHE = new ClassValue<>() {
            @Override protected RecordInfo computeValue(Class<?> c) {
                RecordComponent[] rc = c.getRecordComponents();
                Class<?>[] types = new Class<?>[rc.length];
                int[] tags = new int[rc.length];
                for (int i = 0; i < rc.length; i++) {
                    types[i] = rc[i].getType();
                    tags[i] = tagOf(types[i]);
                }
                Constructor<?> k;
                try {
                    k = c.getDeclaredConstructor(types);
                } catch (NoSuchMethodException e) {
                    k = null;
                }
                return new RecordInfo(rc, types, tags, k);
            }
        };

        static RecordInfo of(Class<?> recordClass) { return CACHE.get(recordClass); }

        /**
         * The constructor for a file that stores only the first {@code count} components: the canonical one, or
         * for fewer components the public constructor over exactly the leading component types, which an op that
         * grew trailing components keeps so that plans written before still load (it supplies the defaults).
         * {@code null} when there is none.
         */
        Constructor<?> constructorFor(Class<?> recordClass, int count) {
            if (count == types.length) return constructor;
            if (count < 0 || count > types.length) return null;
            try {
                return recordClass.getConstructor(Arrays.copyOf(types, count));
            } catch (NoSuchMethodException e) {
                return null;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ save

    /**
     * Writes the plan to {@code file} atomically: a temporary file in the same directory is written and forced to
     * disk, then moved over {@code file}, so a reader sees the old plan or the new one, never half of one.
     */
    public static void save(Plan plan, Path file) throws IOException {
        AtomicFile.write(file, toBytes(plan));
    }

    /** The plan file's bytes: header and body. */
    public static byte[] toBytes(Plan plan) {
        BodyWriter o = FRAME.writer(4096);
        writeBody(plan, o);
        return FRAME.toBytes(o);
    }

    private static void writeBody(Plan plan, BodyWriter o) {
        Graph g = plan.graph();
        o.str(g.dtype().name());
        o.bool(g.training());

        o.i32(g.values().size());
        for (int i = 0; i < g.values().size(); i++) {
            Value v = g.values().get(i);
            if (v.id() != i) throw new IllegalArgumentException("value " + v.name() + " has id " + v.id() + " at index " + i);
            o.str(v.name());
            o.str(v.kind().name());
            o.ints(v.shape().dims());
            o.i32(v.producer());
            o.i32(v.outputIndex());
        }

        o.i32(g.inits().size());
        for (var e : g.inits().entrySet()) {
            o.i32(e.getKey().id());
            o.str(e.getValue().kind().name());
            o.f64(e.getValue().value());
        }

        o.i32(g.nodes().size());
        for (Node n : g.nodes()) {
            o.str(n.name());
            writeOp(n, o);
            o.ints(n.inputs().stream().mapToInt(Value::id).toArray());
            o.ints(n.outputs().stream().mapToInt(Value::id).toArray());
        }

        o.i32(g.outputs().size());
        for (var e : g.outputs().entrySet()) {
            o.str(e.getKey());
            o.i32(e.getValue().id());
        }

        o.i32(g.updates().size());
        for (Graph.Update u : g.updates()) {
            o.i32(u.target().id());
            o.i32(u.source().id());
        }

        o.ints(plan.schedule());

        MemoryPlan m = plan.memory();
        o.longs(m.offset());
        o.longs(m.bytes());
        o.ints(m.firstStep());
        o.ints(m.lastStep());
        o.i64(m.arenaBytes());
        o.i64(m.naiveArenaBytes());
        o.i64(m.persistentBytes());

        o.str(plan.target());
        o.i32(plan.targetInfo().size());
        for (var e : plan.targetInfo().entrySet()) {
            o.str(e.getKey());
            o.str(e.getValue());
        }

        o.i32(plan.algorithms().size());
        for (String a : plan.algorithms()) o.str(a);

        o.i32(plan.tensors().size());
        for (var e : plan.tensors().entrySet()) {
            o.str(e.getKey());
            o.bytes(e.getValue());
        }
    }

    private static void writeOp(Node n, BodyWriter o) {
        Class<?> c = n.op().getClass();
        if (!c.isRecord() || !c.getName().equals(OP_PACKAGE + "." + c.getSimpleName()))
            throw new IllegalArgumentException("node '" + n.name() + "': op class " + c.getName()
                    + " cannot be stored; ops must be top-level records in " + OP_PACKAGE);
        o.str(c.getSimpleName());
        RecordInfo info = RecordInfo.of(c);
        RecordComponent[] rc = info.components();
        o.i32(rc.length);
        for (int i = 0; i < rc.length; i++) {
            RecordComponent k = rc[i];
            Object v;
            try {
                v = k.getAccessor().invoke(n.op());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("node '" + n.name() + "': cannot read " + c.getSimpleName() + "."
                        + k.getName(), e);
            }
            int tag = info.tags()[i];
            if (tag < 0)
                throw new IllegalArgumentException("node '" + n.name() + "': op " + c.getSimpleName() + " component '"
                        + k.getName() + "' has type " + k.getType().getName() + ", which a plan file cannot hold");
            if (v == null)
                throw new IllegalArgumentException("node '" + n.name() + "': op " + c.getSimpleName() + " component '"
                        + k.getName() + "' is null; op attributes must not be null");
            o.str(k.getName());
            o.u8(tag);
            switch (tag) {
                case T_INT -> o.i32((Integer) v);
                case T_LONG -> o.i64((Long) v);
                case T_DOUBLE -> o.f64((Double) v);
                case T_BOOLEAN -> o.bool((Boolean) v);
                case T_STRING -> o.str((String) v);
                case T_INTS -> o.ints((int[]) v);
                case T_LONGS -> o.longs((long[]) v);
                case T_DOUBLES -> o.doubles((double[]) v);
                case T_ENUM -> o.str(((Enum<?>) v).name());
                default -> throw new AssertionError(tag);
            }
        }
    }

    /** The tag a component of this declared type is stored with; -1 for a type plan files cannot hold. */
    private static int tagOf(Class<?> t) {
        if (t == int.class) return T_INT;
        if (t == long.class) return T_LONG;
        if (t == double.class) return T_DOUBLE;
        if (t == boolean.class) return T_BOOLEAN;
        if (t == String.class) return T_STRING;
        if (t == int[].class) return T_INTS;
        if (t == long[].class) return T_LONGS;
        if (t == double[].class) return T_DOUBLES;
        if (t.isEnum()) return T_ENUM;
        return -1;
    }

    // ------------------------------------------------------------------------------------------------ load

    /** Reads and validates a plan file; every failure to make sense of it is a {@link PlanFormatException}. */
    public static Plan load(Path file) throws IOException {
        return decode(FRAME.read(file));
    }

    /** Decodes and validates a plan from the bytes {@link #toBytes} made. */
    public static Plan fromBytes(byte[] bytes) throws PlanFormatException {
        return decode(FRAME.open(bytes, IN_MEMORY));
    }

    private static Plan decode(BodyReader<PlanFormatException> in) throws PlanFormatException {
        try {
            return readBody(in);
        } catch (PlanFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            // Last line of defence: content that slipped past an explicit check must still be reported as a bad
            // file, not as whatever broke. The explicit checks above should make this unreachable.
            throw in.fail("inconsistent content: " + e, e);
        }
    }

    private static Plan readBody(BodyReader<PlanFormatException> in) throws PlanFormatException {
        DType dtype = in.enumName(DType.class, "dtype");
        boolean training = in.bool("training flag");

        // Values: the fields as stored; their producers are checked once the nodes are known.
        int nv = in.count("value", 20);
        List<Value> values = new ArrayList<>(nv);
        Set<String> valueNames = new HashSet<>();
        for (int id = 0; id < nv; id++) {
            String name = in.str("name of value " + id);
            if (!valueNames.add(name)) throw in.fail("duplicate tensor name '" + name + "'");
            Value.Kind kind = in.enumName(Value.Kind.class, "kind of value '" + name + "'");
            int[] dims = in.ints("rank of value '" + name + "'");
            Shape shape = shape(in, dims, dtype, "value '" + name + "'");
            int producer = in.i32("producer of value '" + name + "'");
            int outputIndex = in.i32("output index of value '" + name + "'");
            if (kind == Value.Kind.NODE ? producer < 0 || outputIndex < 0 : producer != -1 || outputIndex != 0)
                throw in.fail("value '" + name + "' (" + kind + ") has producer " + producer + " and output index "
                        + outputIndex + (kind == Value.Kind.NODE ? "; a node output needs both >= 0"
                        : "; only node outputs have a producer"));
            values.add(new Value(id, name, shape, kind, producer, outputIndex));
        }

        int ni = in.count("init", 16);
        Map<Value, Init> inits = new LinkedHashMap<>();
        for (int i = 0; i < ni; i++) {
            Value v = value(in, values, in.i32("init value id"), "init " + i);
            Init.Kind kind = in.enumName(Init.Kind.class, "init kind of '" + v.name() + "'");
            double x = in.f64("init value of '" + v.name() + "'");
            if (!v.persistent()) throw in.fail("init for '" + v.name() + "', which is a " + v.kind() + ", not a parameter or state");
            if (inits.put(v, new Init(kind, x)) != null) throw in.fail("two inits for '" + v.name() + "'");
        }
        for (Value v : values)
            if (v.persistent() && !inits.containsKey(v)) throw in.fail("persistent tensor '" + v.name() + "' has no init");

        int nn = in.count("node", 20);
        List<Node> nodes = new ArrayList<>(nn);
        Set<String> nodeNames = new HashSet<>();
        for (int id = 0; id < nn; id++) nodes.add(readNode(in, id, values, nodeNames));
        for (Value v : values) {
            if (v.kind() != Value.Kind.NODE) continue;
            if (v.producer() >= nn) throw in.fail("value '" + v.name() + "' names producer node " + v.producer()
                    + " of " + nn);
            List<Value> outs = nodes.get(v.producer()).outputs();
            if (v.outputIndex() >= outs.size() || outs.get(v.outputIndex()).id() != v.id())
                throw in.fail("value '" + v.name() + "' claims to be output " + v.outputIndex() + " of node '"
                        + nodes.get(v.producer()).name() + "', which does not list it there");
        }

        int no = in.count("output", 8);
        Map<String, Value> outputs = new LinkedHashMap<>();
        for (int i = 0; i < no; i++) {
            String name = in.str("output name");
            Value v = value(in, values, in.i32("value id of output '" + name + "'"), "output '" + name + "'");
            if (outputs.put(name, v) != null) throw in.fail("duplicate output name '" + name + "'");
        }

        int nu = in.count("update", 8);
        List<Graph.Update> updates = new ArrayList<>(nu);
        Set<Integer> updated = new HashSet<>();
        for (int i = 0; i < nu; i++) {
            Value target = value(in, values, in.i32("update target id"), "update " + i + " target");
            Value source = value(in, values, in.i32("update source id"), "update " + i + " source");
            if (!target.persistent())
                throw in.fail("update target '" + target.name() + "' is a " + target.kind() + ", not a parameter or state");
            if (!target.shape().equals(source.shape()))
                throw in.fail("update of '" + target.name() + "' " + target.shape() + " from '" + source.name() + "' "
                        + source.shape() + ": shapes differ");
            if (!updated.add(target.id())) throw in.fail("'" + target.name() + "' is updated twice");
            updates.add(new Graph.Update(target, source));
        }

        int[] schedule = in.ints("schedule");
        Graph graph = new Graph(dtype, training, values, nodes, outputs, inits, updates);
        checkSchedule(in, graph, schedule);

        long[] offset = in.longs("memory offsets");
        long[] bytes = in.longs("memory sizes");
        int[] first = in.ints("first steps");
        int[] last = in.ints("last steps");
        for (int len : new int[] {offset.length, bytes.length, first.length, last.length})
            if (len != nv) throw in.fail("memory plan has an array of " + len + " entries for " + nv + " values");
        MemoryPlan memory = new MemoryPlan(offset, bytes, first, last, in.i64("arena size"),
                in.i64("naive arena size"), in.i64("persistent size"));
        checkMemory(in, graph, schedule, memory);

        String target = in.str("target name");
        int nt = in.count("target info entry", 8);
        Map<String, String> targetInfo = new LinkedHashMap<>();
        for (int i = 0; i < nt; i++) {
            String k = in.str("target info key");
            if (targetInfo.put(k, in.str("target info '" + k + "'")) != null) throw in.fail("duplicate target info key '" + k + "'");
        }

        int na = in.count("algorithm", 4);
        if (na != nn) throw in.fail(na + " algorithm choices for " + nn + " nodes");
        List<String> algorithms = new ArrayList<>(na);
        for (int i = 0; i < na; i++) algorithms.add(in.str("algorithm of node '" + nodes.get(i).name() + "'"));

        int nx = in.count("stored tensor", 8);
        Map<String, byte[]> tensors = new LinkedHashMap<>();
        for (int i = 0; i < nx; i++) {
            String name = in.str("stored tensor name");
            if (!graph.has(name) || !graph.value(name).persistent())
                throw in.fail("stored tensor '" + name + "' is not a parameter or state of the graph");
            Value v = graph.value(name);
            byte[] data = in.bytes("data of stored tensor '" + name + "'");
            long expect = v.shape().size() * dtype.bytes;   // cannot overflow: checked in shape()
            if (data.length != expect)
                throw in.fail("stored tensor '" + name + "' has " + data.length + " bytes; shape " + v.shape() + " in "
                        + dtype + " needs " + expect);
            if (tensors.put(name, data) != null) throw in.fail("tensor '" + name + "' is stored twice");
        }

        in.end();
        return new Plan(graph, schedule, memory, target, targetInfo, algorithms, tensors);
    }

    /** A shape whose size in bytes fits a long (so later arithmetic on it cannot overflow). */
    private static Shape shape(BodyReader<PlanFormatException> in, int[] dims, DType dtype, String what) throws PlanFormatException {
        long size = dtype.bytes;
        for (int d : dims) {
            if (d < 0) throw in.fail(what + " has negative dimension " + d + " in " + Arrays.toString(dims));
            if (d != 0 && size > (Long.MAX_VALUE - MemoryPlan.ALIGN) / d)
                throw in.fail(what + " of shape " + Arrays.toString(dims) + " is too large to address");
            size *= d;
        }
        return Shape.of(dims);
    }

    private static Value value(BodyReader<PlanFormatException> in, List<Value> values, int id, String what) throws PlanFormatException {
        if (id < 0 || id >= values.size()) throw in.fail(what + " refers to value id " + id + " of " + values.size());
        return values.get(id);
    }

    private static Node readNode(BodyReader<PlanFormatException> in, int id, List<Value> values, Set<String> nodeNames) throws PlanFormatException {
        String name = in.str("name of node " + id);
        if (!nodeNames.add(name)) throw in.fail("duplicate node name '" + name + "'");
        Op op = readOp(in, name);
        int[] inIds = in.ints("inputs of node '" + name + "'");
        int[] outIds = in.ints("outputs of node '" + name + "'");
        String node = "node '" + name + "' (" + op.kind() + ")";
        List<Value> inputs = new ArrayList<>(inIds.length);
        for (int k = 0; k < inIds.length; k++) {
            Value v = value(in, values, inIds[k], node + " input " + k);
            // Nodes are stored in build order, which is topological: an input comes from an earlier node.
            if (v.kind() == Value.Kind.NODE && v.producer() >= id)
                throw in.fail(node + " reads '" + v.name() + "', which node " + v.producer() + " produces later");
            inputs.add(v);
        }
        List<Value> outputs = new ArrayList<>(outIds.length);
        for (int k = 0; k < outIds.length; k++) {
            Value v = value(in, values, outIds[k], node + " output " + k);
            if (v.kind() != Value.Kind.NODE || v.producer() != id || v.outputIndex() != k)
                throw in.fail(node + " lists '" + v.name() + "' as output " + k + ", but that value says producer "
                        + v.producer() + " output " + v.outputIndex());
            outputs.add(v);
        }
        // The shape rule is the op's validation: re-run it, so a file cannot smuggle in a bad op or lie about shapes.
        List<Shape> inShapes = inputs.stream().map(Value::shape).toList();
        List<Shape> inferred;
        try {
            inferred = op.inferShapes(inShapes);
        } catch (RuntimeException e) {
            throw in.fail(GraphBuilder.describe(name, op, inShapes) + ": " + e.getMessage(), e);
        }
        List<Shape> stored = outputs.stream().map(Value::shape).toList();
        if (!inferred.equals(stored))
            throw in.fail(GraphBuilder.describe(name, op, inShapes) + ": file says outputs " + stored
                    + ", the op infers " + inferred);
        return new Node(id, name, op, inputs, outputs);
    }

    private static Op readOp(BodyReader<PlanFormatException> in, String node) throws PlanFormatException {
        String simple = in.str("op class of node '" + node + "'");
        String where = "node '" + node + "'";
        if (!isSimpleName(simple))
            throw in.fail(where + ": op class name '" + simple + "' is not a simple class name");
        Class<?> c;
        try {
            // initialize=false: nothing of a class runs before it is known to be an op record.
            c = Class.forName(OP_PACKAGE + "." + simple, false, PlanFile.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw in.fail(where + ": unknown op class '" + simple + "' (not found in " + OP_PACKAGE + ")");
        }
        if (!c.isRecord() || !Op.class.isAssignableFrom(c) || !Modifier.isPublic(c.getModifiers()))
            throw in.fail(where + ": " + c.getName() + " is not a public record implementing " + Op.class.getName());
        RecordInfo info = RecordInfo.of(c);
        RecordComponent[] rc = info.components();
        int count = in.i32("component count of " + simple);
        Constructor<?> k = info.constructorFor(c, count);
        if (k == null)
            throw in.fail(where + ": file has " + count + " components for " + simple + ", the record has " + rc.length);
        Object[] args = new Object[count];
        for (int i = 0; i < count; i++) {
            String what = where + " (" + simple + ") component '" + rc[i].getName() + "'";
            String stored = in.str("component name of " + simple);
            if (!stored.equals(rc[i].getName()))
                throw in.fail(where + " (" + simple + "): component " + i + " is '" + stored + "' in the file, '"
                        + rc[i].getName() + "' in the record");
            args[i] = readComponent(in, info.types()[i], info.tags()[i], what);
        }
        if (!Modifier.isPublic(k.getModifiers()))
            throw in.fail(where + ": " + simple + " has no public canonical constructor");
        try {
            return (Op) k.newInstance(args);
        } catch (InvocationTargetException e) {
            throw in.fail(where + ": " + simple + " rejected its stored attributes: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException | ExceptionInInitializerError e) {
            throw in.fail(where + ": cannot construct " + simple + ": " + e, e);
        }
    }

    /** A Java identifier without '$' or '.': the only names looked up in the op package. */
    private static boolean isSimpleName(String s) {
        if (s.isEmpty() || s.length() > 200) return false;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            boolean letter = ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_';
            if (!letter && !(i > 0 && ch >= '0' && ch <= '9')) return false;
        }
        return true;
    }

    private static Object readComponent(BodyReader<PlanFormatException> in, Class<?> type, int want, String what) throws PlanFormatException {
        if (want < 0) throw in.fail(what + " has type " + type.getName() + ", which a plan file cannot hold");
        int tag = in.u8("type tag of " + what);
        if (tag != want)
            throw in.fail(what + " is stored as " + (tag < TAG_NAMES.length ? TAG_NAMES[tag] : "unknown tag " + tag)
                    + ", the record declares " + type.getSimpleName());
        return switch (tag) {
            case T_INT -> in.i32(what);
            case T_LONG -> in.i64(what);
            case T_DOUBLE -> in.f64(what);
            case T_BOOLEAN -> in.bool(what);
            case T_STRING -> in.str(what);
            case T_INTS -> in.ints(what);
            case T_LONGS -> in.longs(what);
            case T_DOUBLES -> in.doubles(what);
            case T_ENUM -> {
                String s = in.str(what);
                for (Object e : type.getEnumConstants()) if (((Enum<?>) e).name().equals(s)) yield e;
                throw in.fail(what + ": '" + s + "' is not a constant of " + type.getSimpleName());
            }
            default -> throw new AssertionError(tag);
        };
    }

    /**
     * The schedule lists distinct nodes in an order where every node's inputs are produced earlier, and it
     * includes the producer of everything the caller reads (outputs, update sources).
     */
    private static void checkSchedule(BodyReader<PlanFormatException> in, Graph g, int[] schedule) throws PlanFormatException {
        int nn = g.nodes().size();
        BitSet done = new BitSet(nn);
        for (int step = 0; step < schedule.length; step++) {
            int id = schedule[step];
            if (id < 0 || id >= nn) throw in.fail("schedule step " + step + " names node " + id + " of " + nn);
            if (done.get(id)) throw in.fail("schedule runs node '" + g.nodes().get(id).name() + "' twice");
            Node n = g.nodes().get(id);
            for (Value v : n.inputs())
                if (v.kind() == Value.Kind.NODE && !done.get(v.producer()))
                    throw in.fail("schedule is not a topological order: step " + step + " runs " + n + ", which reads '"
                            + v.name() + "' before its producer '" + g.nodes().get(v.producer()).name() + "' has run");
            done.set(id);
        }
        List<Value> read = new ArrayList<>(g.outputs().values());
        for (Graph.Update u : g.updates()) read.add(u.source());
        for (Value v : read)
            if (v.kind() == Value.Kind.NODE && !done.get(v.producer()))
                throw in.fail("'" + v.name() + "' is read after the run, but the schedule never runs its producer '"
                        + g.nodes().get(v.producer()).name() + "'");
    }

    /**
     * Every value the run touches has a buffer of the right size inside its region, 64-byte aligned; persistent
     * values never share bytes; arena values share bytes only when their lifetimes (which must cover the real
     * ones) do not meet; and the regions are no larger than the values in them need.
     */
    private static void checkMemory(BodyReader<PlanFormatException> in, Graph g, int[] schedule, MemoryPlan m) throws PlanFormatException {
        int nv = g.values().size();
        if (m.arenaBytes() < 0 || m.naiveArenaBytes() < 0 || m.persistentBytes() < 0)
            throw in.fail("memory plan has a negative region size (arena " + m.arenaBytes() + ", naive "
                    + m.naiveArenaBytes() + ", persistent " + m.persistentBytes() + ")");

        // The real lifetimes, computed as the planner defines them.
        int end = schedule.length;
        int[] first = new int[nv], last = new int[nv];
        Arrays.fill(first, Integer.MAX_VALUE);
        Arrays.fill(last, Integer.MIN_VALUE);
        BitSet required = new BitSet(nv);
        for (Value v : g.values()) {
            if (v.persistent()) required.set(v.id());
            if (v.kind() == Value.Kind.INPUT) first[v.id()] = -1;
        }
        for (int step = 0; step < schedule.length; step++) {
            Node n = g.nodes().get(schedule[step]);
            for (Value v : n.inputs()) { last[v.id()] = Math.max(last[v.id()], step); required.set(v.id()); }
            for (Value v : n.outputs()) { first[v.id()] = Math.min(first[v.id()], step); last[v.id()] = Math.max(last[v.id()], step); required.set(v.id()); }
        }
        List<Value> read = new ArrayList<>(g.outputs().values());
        for (Graph.Update u : g.updates()) { read.add(u.source()); required.set(u.target().id()); }
        for (Value v : read) { last[v.id()] = end; required.set(v.id()); }

        long arenaNeed = 0, persistentNeed = 0;
        List<Integer> arena = new ArrayList<>(), persistent = new ArrayList<>();
        for (Value v : g.values()) {
            int id = v.id();
            long off = m.offset()[id], b = m.bytes()[id];
            if (off == -1) {
                if (required.get(id)) throw in.fail("value '" + v.name() + "' is used but has no buffer in the memory plan");
                continue;
            }
            if (off < 0) throw in.fail("value '" + v.name() + "' has offset " + off);
            long expect = v.shape().size() * g.dtype().bytes;
            if (b != expect)
                throw in.fail("value '" + v.name() + "' " + v.shape() + " in " + g.dtype() + " needs " + expect
                        + " bytes, the memory plan gives it " + b);
            if (off % MemoryPlan.ALIGN != 0)
                throw in.fail("value '" + v.name() + "' offset " + off + " is not " + MemoryPlan.ALIGN + "-byte aligned");
            long limit = v.persistent() ? m.persistentBytes() : m.arenaBytes();
            if (off > limit - b)
                throw in.fail("value '" + v.name() + "' at offset " + off + " with " + b + " bytes runs past the end of its "
                        + (v.persistent() ? "persistent region" : "arena") + " (" + limit + " bytes)");
            long slot = MemoryPlan.align(Math.max(b, 1));   // b < Long.MAX_VALUE - ALIGN: checked in shape()
            if (v.persistent()) {
                persistent.add(id);
                persistentNeed = saturatedAdd(persistentNeed, slot);
            } else {
                arena.add(id);
                arenaNeed = saturatedAdd(arenaNeed, slot);
                if (required.get(id) && (m.firstStep()[id] > first[id] || m.lastStep()[id] < last[id]))
                    throw in.fail("value '" + v.name() + "' is live from step " + first[id] + " to " + last[id]
                            + ", the memory plan says " + m.firstStep()[id] + " to " + m.lastStep()[id]);
            }
        }
        // A region larger than every value in it laid end to end is not a plan, it is a request for memory.
        if (m.arenaBytes() > arenaNeed)
            throw in.fail("arena of " + m.arenaBytes() + " bytes is larger than its values need even unshared (" + arenaNeed + ")");
        if (m.persistentBytes() > persistentNeed)
            throw in.fail("persistent region of " + m.persistentBytes() + " bytes is larger than its values need ("
                    + persistentNeed + ")");
        requireDisjoint(in, g, m, persistent, false);
        requireDisjoint(in, g, m, arena, true);
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    /** No two values share a byte (when {@code byTime}, unless they are never live at the same step). */
    private static void requireDisjoint(BodyReader<PlanFormatException> in, Graph g, MemoryPlan m, List<Integer> ids, boolean byTime)
            throws PlanFormatException {
        long[] off = m.offset(), bytes = m.bytes();
        ids.sort((x, y) -> Long.compare(off[x], off[y]));
        for (int i = 0; i < ids.size(); i++) {
            int a = ids.get(i);
            long endA = off[a] + bytes[a];
            for (int j = i + 1; j < ids.size() && off[ids.get(j)] < endA; j++) {
                int c = ids.get(j);
                if (bytes[c] == 0 || bytes[a] == 0) continue;
                if (!byTime || m.overlapInTime(a, c))
                    throw in.fail("values '" + g.values().get(a).name() + "' and '" + g.values().get(c).name()
                            + "' share bytes " + off[c] + ".." + Math.min(endA, off[c] + bytes[c])
                            + (byTime ? " while both are live" : " of the persistent region"));
            }
        }
    }
}
