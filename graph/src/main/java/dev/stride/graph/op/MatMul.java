package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * C = op(A) op(B), op = transpose where the flag is set. Rank 2: A [M, K] (or [K, M] with transA) times
 * B [K, N] (or [N, K] with transB) gives [M, N]. Rank 3 is a batch of such products with an equal leading
 * dimension: [B, M, K] x [B, K, N] -> [B, M, N] (a Gram matrix is matmul(f, f, false, true) on f [N, C, HW]).
 */
public record MatMul(boolean transA, boolean transB) implements Op {
    /** The sizes of one product: batch, rows of op(A), inner, columns of op(B). */
    public record Dims(int batch, int m, int k, int n) {}

    public static Dims dims(Shape a, Shape b, boolean transA, boolean transB) {
        ShapeException.require(a.rank() == 2 || a.rank() == 3, "A must have rank 2 or 3, got %s", a);
        ShapeException.require(b.rank() == a.rank(), "A %s and B %s must have the same rank", a, b);
        int batch = 1;
        if (a.rank() == 3) {
            ShapeException.require(a.dim(0) == b.dim(0), "batch dimensions differ: A.dim(0) = %d, B.dim(0) = %d",
                    a.dim(0), b.dim(0));
            batch = a.dim(0);
        }
        int m = transA ? a.dim(-1) : a.dim(-2), ka = transA ? a.dim(-2) : a.dim(-1);
        int kb = transB ? b.dim(-1) : b.dim(-2), n = transB ? b.dim(-2) : b.dim(-1);
        ShapeException.require(ka == kb,
                "inner dimensions differ: columns of op(A) = %d (A %s, transA=%b), rows of op(B) = %d (B %s, transB=%b)",
                ka, a, transA, kb, b, transB);
        return new Dims(batch, m, ka, n);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape a = inputs.get(0);
        Dims d = dims(a, inputs.get(1), transA, transB);
        return List.of(a.rank() == 3 ? Shape.of(d.batch, d.m, d.n) : Shape.of(d.m, d.n));
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value a = g.input(0), c = g.input(1), dy = g.gradOutput(0);
        Value da = null, dc = null;
        // dY = op(A) op(B): d op(A) = dY op(B)^T and d op(B) = op(A)^T dY, transposed back where the flag was set.
        if (g.needsGrad(0)) da = transA
                ? b.apply("matmul_grad_a", new MatMul(transB, true), c, dy)      // A = (dY op(B)^T)^T = op(B) dY^T
                : b.apply("matmul_grad_a", new MatMul(false, !transB), dy, c);   // A = dY op(B)^T
        if (g.needsGrad(1)) dc = transB
                ? b.apply("matmul_grad_b", new MatMul(true, transA), dy, a)      // B = (op(A)^T dY)^T = dY^T op(A)
                : b.apply("matmul_grad_b", new MatMul(!transA, false), a, dy);   // B = op(A)^T dY
        return Arrays.asList(da, dc);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Dims d = dims(inputs.get(0), inputs.get(1), transA, transB);
        return 2L * d.batch * d.m * d.n * d.k;
    }
}
