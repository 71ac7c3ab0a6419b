// elementwise.cl: fill, 2D block copies, broadcasting binary operations, sums over an axis, the
// sum of squares (for the global gradient norm), and a plain copy that measures bandwidth.
//
// Swift reference: Sources/ReferenceDevice/Reference+Elementwise.swift (fill, copy2D, binary,
// reduceSum, sumOfSquares). Host side: Sources/OpenCLDevice/OpenCL+Elementwise.swift.
//
// Buffers are float32, row-major and contiguous unless a stride says otherwise. Each work-item
// of the memory-bound kernels handles one float4 "chunk" (elements 4c … 4c+3, fewer at the
// end), so neighbouring work-items touch neighbouring memory: coalesced on GPUs, and on PoCL
// the work-group loop vectorizes. vload4/vstore4 only need float alignment, so views and
// offsets of any element count are fine. Outputs may be the same buffer as inputs (each
// work-item reads its elements before writing them), except in the reductions.
//
// Reductions never use atomics: every partial sum is formed by one work-item or one work-group
// in a fixed order, so the same input gives the same bits on every run of the same device.

#ifndef LOCAL_SIZE
#define LOCAL_SIZE 256      // work-items per group of the tree reductions (a power of two)
#endif
#ifndef SOS_CHUNKS
#define SOS_CHUNKS 16       // float4 chunks per work-item of a sum_of_squares_partials tile (GPUs)
#endif
#ifndef SOS_CONTIGUOUS
#define SOS_CONTIGUOUS 0    // 1: each sum_of_squares_partials work-item takes one contiguous run (CPUs)
#endif
#ifndef REDUCE_SEGMENT
#define REDUCE_SEGMENT 64   // rows summed per work-item and pass of reduce_sum_segments
#endif

// ---------------------------------------------------------------------------------------------
// Helpers

// Elements c*4 … of a chunk that exist: 4, or fewer in the last chunk.
int chunk_length(int chunk, int count) { return min(4, count - chunk * 4); }

// Up to four elements from p with stride `stride` (1: contiguous, 0: one value broadcast).
// Missing elements (beyond `length`) read as 0.
float4 load_strided(__global const float* p, int stride, int length) {
    if (length == 4) {
        if (stride == 1) return vload4(0, p);
        if (stride == 0) return (float4)(p[0]);
        return (float4)(p[0], p[stride], p[2 * stride], p[3 * stride]);
    }
    float4 v = (float4)(0.0f);
    v.x = p[0];
    if (length > 1) v.y = p[stride];
    if (length > 2) v.z = p[2 * stride];
    return v;
}

// The first `length` (1…4) elements of v, stored contiguously at p.
void store_partial(float4 v, __global float* p, int length) {
    if (length == 4) { vstore4(v, 0, p); return; }
    p[0] = v.x;
    if (length > 1) p[1] = v.y;
    if (length > 2) p[2] = v.z;
}

// Sums scratch[0 … LOCAL_SIZE) into scratch[0] in a fixed pairwise order; all work-items call it.
void tree_sum(__local float* scratch) {
    int lid = get_local_id(0);
    for (int stride = LOCAL_SIZE / 2; stride > 0; stride >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < stride) scratch[lid] += scratch[lid + stride];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

// ---------------------------------------------------------------------------------------------
// fill: buffer[offset + i] = value for i < count. Global size: ⌈count/4⌉ (rounded up).

__kernel void fill(__global float* buffer, int offset, int count, float value) {
    int chunk = get_global_id(0);
    if (chunk * 4 >= count) return;
    store_partial((float4)(value), buffer + offset + chunk * 4, chunk_length(chunk, count));
}

// ---------------------------------------------------------------------------------------------
// copy_floats: dst[i] = src[i] for i < count, the plainest memory-bound kernel: the
// benchmark's yardstick of copy bandwidth. Global size: ⌈count/4⌉ (rounded up).

__kernel void copy_floats(__global const float* src, __global float* dst, int count) {
    int chunk = get_global_id(0);
    if (chunk * 4 >= count) return;
    int length = chunk_length(chunk, count);
    store_partial(load_strided(src + chunk * 4, 1, length), dst + chunk * 4, length);
}

// ---------------------------------------------------------------------------------------------
// copy_2d: dst[dstOffset + r·dstStride + c] (+)= src[srcOffset + r·srcStride + c] for r < rows,
// c < columns. Global size: (⌈columns/4⌉, rows), each rounded up to the local size.

__kernel void copy_2d(
    __global const float* src, int srcOffset, int srcStride,
    __global float* dst, int dstOffset, int dstStride,
    int rows, int columns, int accumulate)
{
    int chunk = get_global_id(0);
    int row = get_global_id(1);
    if (row >= rows || chunk * 4 >= columns) return;
    int length = chunk_length(chunk, columns);
    __global float* d = dst + dstOffset + row * dstStride + chunk * 4;
    float4 v = load_strided(src + srcOffset + row * srcStride + chunk * 4, 1, length);
    if (accumulate) v += load_strided(d, 1, length);
    store_partial(v, d, length);
}

// ---------------------------------------------------------------------------------------------
// binary: out = a ∘ b with broadcasting (BinaryOp codes, Sources/Core/ElementwiseOps.swift).
// The output is contiguous [d0, d1, d2, d3]; element (i0, i1, i2, i3) of a is at
// i0·a0 + i1·a1 + i2·a2 + i3·a3 (stride 0 where a is broadcast), likewise b. The host first
// merges dimensions that a, b and out all step through as one, so same-shape and scalar
// operands become one long row and a bias over rows stays [rows, columns]: most calls fit
// `binary_rows`, which needs no index division; `binary` takes the rest.
// BINARY_OP (defined by the host per operation) lets the compiler drop the switch; without it
// the kernels read the `op` argument.

#ifndef BINARY_OP
#define BINARY_OP op
#endif

float4 binary_apply(int op, float4 a, float4 b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    // The reference's max(a, b) = b ≥ a ? b : a and min(a, b) = b < a ? b : a, except that a NaN
    // in either operand gives NaN (a + b): fmax/fmin would drop it.
    case 4: return select(select(a, b, isgreaterequal(b, a)), a + b, isunordered(a, b));
    case 5: return select(select(a, b, isless(b, a)), a + b, isunordered(a, b));
    default: return select((float4)(0.0f), (float4)(1.0f), isgreaterequal(a, b));
    }
}

// Rank ≤ 2: out[r, c] = a[r·aRow + c·aStep] ∘ b[r·bRow + c·bStep].
// Global size: (⌈columns/4⌉, rows), rounded up.
__kernel void binary_rows(
    __global const float* a, __global const float* b, __global float* out, int op,
    int rows, int columns, int aRow, int aStep, int bRow, int bStep)
{
    int chunk = get_global_id(0);
    int row = get_global_id(1);
    if (row >= rows || chunk * 4 >= columns) return;
    int c = chunk * 4;
    int length = chunk_length(chunk, columns);
    float4 x = load_strided(a + row * aRow + c * aStep, aStep, length);
    float4 y = load_strided(b + row * bRow + c * bStep, bStep, length);
    store_partial(binary_apply(BINARY_OP, x, y), out + row * columns + c, length);
}

// Any rank ≤ 4. Global size: (⌈d3/4⌉, d0·d1·d2), rounded up.
__kernel void binary(
    __global const float* a, __global const float* b, __global float* out, int op,
    int rows, int d1, int d2, int d3,
    int a0, int a1, int a2, int a3,
    int b0, int b1, int b2, int b3)
{
    int chunk = get_global_id(0);
    int row = get_global_id(1);
    if (row >= rows || chunk * 4 >= d3) return;
    int i2 = row % d2;
    int i01 = row / d2;
    int i1 = i01 % d1;
    int i0 = i01 / d1;
    int c = chunk * 4;
    int length = chunk_length(chunk, d3);
    float4 x = load_strided(a + i0 * a0 + i1 * a1 + i2 * a2 + c * a3, a3, length);
    float4 y = load_strided(b + i0 * b0 + i1 * b1 + i2 * b2 + c * b3, b3, length);
    store_partial(binary_apply(BINARY_OP, x, y), out + row * d3 + c, length);
}

// ---------------------------------------------------------------------------------------------
// reduceSum: x viewed as [outer, reduced, inner] → out [outer, inner], out[o, i] = Σ_r x[o, r, i].

// inner = 1: one work-item per output sums its contiguous row in float4 steps (four running
// sums, added pairwise at the end, then the tail). Global size: outer, rounded up.
__kernel void reduce_sum_rows(__global const float* x, __global float* out, int outer, int reduced) {
    int o = get_global_id(0);
    if (o >= outer) return;
    __global const float* p = x + o * reduced;
    float4 sums = (float4)(0.0f);
    int r = 0;
    for (; r + 4 <= reduced; r += 4) sums += vload4(0, p + r);
    float tail = 0.0f;
    for (; r < reduced; ++r) tail += p[r];
    out[o] = ((sums.x + sums.y) + (sums.z + sums.w)) + tail;
}

// Any inner: sums segments of REDUCE_SEGMENT consecutive r into partial [outer, S, inner] with
// S = ⌈reduced / REDUCE_SEGMENT⌉; the host repeats it on the partials until S = 1, when it
// writes out itself. Work-item (chunk, o·S + s) sums rows s·REDUCE_SEGMENT … of columns
// 4·chunk … in increasing r: short strided runs that stay in cache on CPUs, coalesced on GPUs,
// and enough work-items even for one long column. Global size: (⌈inner/4⌉, outer·S), rounded up.
__kernel void reduce_sum_segments(
    __global const float* x, __global float* partial, int outer, int reduced, int inner)
{
    int chunk = get_global_id(0);
    int row = get_global_id(1);
    int segments = (reduced + REDUCE_SEGMENT - 1) / REDUCE_SEGMENT;
    if (chunk * 4 >= inner || row >= outer * segments) return;
    int o = row / segments;
    int s = row % segments;
    int first = s * REDUCE_SEGMENT;
    int last = min(first + REDUCE_SEGMENT, reduced);
    int length = chunk_length(chunk, inner);
    __global const float* p = x + o * reduced * inner + chunk * 4;
    float4 sum = (float4)(0.0f);
    for (int r = first; r < last; ++r) sum += load_strided(p + r * inner, 1, length);
    store_partial(sum, partial + row * inner + chunk * 4, length);
}

// ---------------------------------------------------------------------------------------------
// sumOfSquares: out[0] = Σ x[i]² for i < count, in two deterministic stages.
// Stage 1 writes one partial sum per work-group. With SOS_CONTIGUOUS (CPUs) work-item g squares
// a contiguous run of ⌈chunks / global size⌉ float4 chunks, which PoCL streams fastest;
// otherwise (GPUs) group g squares the tile of LOCAL_SIZE·SOS_CHUNKS chunks from
// g·LOCAL_SIZE·SOS_CHUNKS, work-item l taking chunks l, l + LOCAL_SIZE, … (coalesced).
// Then a tree over the group. Global size: the host's choice of groups × LOCAL_SIZE.

__kernel __attribute__((reqd_work_group_size(LOCAL_SIZE, 1, 1)))
void sum_of_squares_partials(__global const float* x, int count, __global float* partials) {
    __local float scratch[LOCAL_SIZE];
    int lid = get_local_id(0);
    float4 acc = (float4)(0.0f);
#if SOS_CONTIGUOUS
    int chunks = (count + 3) / 4;
    int per = (chunks + get_global_size(0) - 1) / get_global_size(0);
    int first = get_global_id(0) * per;
    int last = min(first + per, chunks);
    int full = count / 4;
    for (int chunk = first; chunk < min(last, full); ++chunk) {
        float4 v = vload4(chunk, x);
        acc += v * v;
    }
    // The partial chunk at the end (count not a multiple of 4) belongs to one work-item.
    if (full >= first && full < last) {
        for (int i = full * 4; i < count; ++i) acc.x += x[i] * x[i];
    }
#else
    int tile = get_group_id(0) * (LOCAL_SIZE * SOS_CHUNKS);
    for (int k = 0; k < SOS_CHUNKS; ++k) {
        int chunk = tile + k * LOCAL_SIZE + lid;
        if (chunk * 4 < count) {
            float4 v = load_strided(x + chunk * 4, 1, chunk_length(chunk, count));
            acc += v * v;
        }
    }
#endif
    scratch[lid] = (acc.x + acc.y) + (acc.z + acc.w);
    tree_sum(scratch);
    if (lid == 0) partials[get_group_id(0)] = scratch[0];
}

// Stage 2: one work-group sums the `count` partials: work-item l takes l, l + LOCAL_SIZE, …,
// then a tree. Global size: LOCAL_SIZE.
__kernel __attribute__((reqd_work_group_size(LOCAL_SIZE, 1, 1)))
void sum_of_squares_final(__global const float* partials, int count, __global float* out) {
    __local float scratch[LOCAL_SIZE];
    int lid = get_local_id(0);
    float sum = 0.0f;
    for (int i = lid; i < count; i += LOCAL_SIZE) sum += partials[i];
    scratch[lid] = sum;
    tree_sum(scratch);
    if (lid == 0) out[0] = scratch[0];
}
