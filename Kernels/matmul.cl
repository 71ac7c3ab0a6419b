// matmul.cl: the batched matrix product C = α·op(A)·op(B) + β·C of `Device.matmul`
// (Core/MatmulShape.swift). Swift reference: Sources/ReferenceDevice/Reference+Matmul.swift.
//
// Buffers (floats, row-major, contiguous rows). For batch item i:
//   a  op(A) is m×k; A starts at a[i·strideA] and is stored [m, k], or [k, m] when transA.
//   b  op(B) is k×n; B starts at b[i·strideB] and is stored [k, n], or [n, k] when transB.
//   c  [m, n], starting at c[i·strideC].
// A stride of 0 shares one matrix across the batch. When β = 0, C is only written, never read
// (as in BLAS: whatever C held, NaN included, does not leak into the result).
//
// Two designs, chosen per device in Sources/OpenCLDevice/OpenCL+Matmul.swift:
//
// CPU devices (PoCL), after BLIS/OpenBLAS. PoCL runs one work-group per thread and turns a
// work-item into plain (auto-vectorised) C, so the kernel is written as one core's loop nest:
//   1. matmul_pack_a copies α·op(A) into panels of MR rows (zero past row m), k slice by k slice
//      (see packed_offset), so that the micro-kernel reads A as one contiguous stream whatever
//      transA is.
//   2. matmul_packed: one work-item (work-group of 1) per block of C's columns (and optionally of
//      its row panels): as many blocks as cores, so that each core gets one and none waits. A block
//      is taken in strips of up to STRIP columns; for each KC-deep slice of k the work-item packs
//      its KC×strip block of op(B) into __local panels of NR columns (B rows are often a multiple of
//      4 KiB apart, which thrashes the caches when read in place), then runs an MR×NR micro-kernel
//      with MR·NR/VW vector accumulators and explicit fma, for each A panel over every B panel (the
//      A panel stays in L1, the B block in L2). The accumulators start from β·C on the first slice
//      (0 when β = 0) and from C on later ones, and are stored back to C after each slice.
//   Work-items share nothing and each sums in a fixed order: results are the same bits every run.
//
// GPU devices: matmul_tiled, a classic local-memory tiled kernel. A work-group computes a
// TILE_M×TILE_N tile of C, loading TILE_K-deep slices of op(A) and op(B) into local memory
// (transposes are absorbed by the loads, so global reads stay coalesced); each work-item keeps a
// WPT_M×WPT_N block of C in registers. Tiles past the matrix edges are zero-filled.

#define CAT2(x, y) x##y
#define CAT(x, y) CAT2(x, y)

// ---------------------------------------------------------------------------------------------
// CPU design
// ---------------------------------------------------------------------------------------------

#ifndef MR
#define MR 6        // rows of the micro-kernel (rows of an A panel)
#endif
#ifndef NR
#define NR 16       // columns of the micro-kernel (columns of a B panel), a multiple of VW
#endif
#ifndef VW
#define VW 8        // vector width of the accumulators: 8 for AVX2, 16 for AVX-512
#endif
#ifndef KC
#define KC 256      // most depth of one packed slice of k, a multiple of 8
#endif
#ifndef STRIP
#define STRIP 256   // most columns of one strip, a multiple of NR (local memory: KC·STRIP floats)
#endif

#define NV (NR / VW)
#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)

// The depth of the k slices (the last may be shallower): equal slices of at most KC, rounded up to
// a multiple of 8 (k = 300 gives 152 + 148 rather than 256 + 44: a thin slice would pay for packing
// and for loading and storing C with little work). KC is a multiple of 8.
static int slice_depth(int k)
{
    const int slices = (k + KC - 1) / KC;
    return ((k + slices - 1) / slices + 7) / 8 * 8;
}

// Where op(A)[p·MR ..< p·MR + MR][kk] lives in one packed item: slice after slice, and within a
// slice panel after panel, so that the panels one k slice needs are one contiguous stream:
// packed[s][p][kk − s·depth][0 ..< MR] for s = kk / depth.
static size_t packed_offset(int p, int kk, int k, int panels, int depth)
{
    const int k0 = kk / depth * depth;
    const int kc = min(depth, k - k0);
    return ((size_t)k0 * panels + (size_t)p * kc + (kk - k0)) * MR;
}

// Packs α·op(A_i) (see packed_offset), zero for rows ≥ m. One work-item per (8 values of kk, p, i),
// which reads whole runs of A's rows and writes one contiguous block of a panel.
__kernel void matmul_pack_a(
    __global const float *a, int strideA, int transA, int m, int k, float alpha, __global float *packed)
{
    const int k0 = get_global_id(0) * 8;
    const int p = get_global_id(1);
    const int i = get_global_id(2);
    if (k0 >= k) return;
    const int count = min(8, k - k0);
    const int panels = (m + MR - 1) / MR;
    const int rows = min(MR, m - p * MR);
    __global const float *ai = a + (size_t)i * strideA;
    // The 8 values of kk are in one slice (slices start at multiples of 8), so they are contiguous.
    __global float *dst = packed + (size_t)i * panels * MR * k + packed_offset(p, k0, k, panels, slice_depth(k));
    if (transA) {
        // A is [k, m]: the panel's rows at one kk are a contiguous run.
        for (int kk = 0; kk < count; kk++) {
            __global const float *src = ai + (size_t)(k0 + kk) * m + p * MR;
            for (int r = 0; r < MR; r++) dst[kk * MR + r] = r < rows ? alpha * src[r] : 0.0f;
        }
    } else if (count == 8) {
        // A is [m, k]: read 8 values of each row, write them transposed.
        float block[8 * MR];
        for (int r = 0; r < MR; r++) {
            const float8 run = r < rows ? alpha * vload8(0, ai + (size_t)(p * MR + r) * k + k0) : (float8)(0.0f);
            block[0 * MR + r] = run.s0; block[1 * MR + r] = run.s1; block[2 * MR + r] = run.s2;
            block[3 * MR + r] = run.s3; block[4 * MR + r] = run.s4; block[5 * MR + r] = run.s5;
            block[6 * MR + r] = run.s6; block[7 * MR + r] = run.s7;
        }
        for (int j = 0; j < MR; j++) vstore8(vload8(j, block), j, dst);
    } else {
        for (int kk = 0; kk < count; kk++) {
            for (int r = 0; r < MR; r++) dst[kk * MR + r] = r < rows ? alpha * ai[(size_t)(p * MR + r) * k + k0 + kk] : 0.0f;
        }
    }
}

// Packs rows k0 ..< k0 + kc and columns j0 ..< j0 + width of op(B) into panels of NR columns:
// bp[(q·kc + kk)·NR + jj] = op(B)[k0 + kk][j0 + q·NR + jj], zero past `width`.
static void pack_b(__global const float *bi, int transB, int n, int k, int k0, int kc, int j0, int width,
                   __local float *bp)
{
    const int panels = (width + NR - 1) / NR;
    if (!transB) {
        // B is [k, n]: read each row of the block left to right.
        for (int kk = 0; kk < kc; kk++) {
            __global const float *src = bi + (size_t)(k0 + kk) * n + j0;
            for (int q = 0; q < panels; q++) {
                __local float *dst = bp + (q * kc + kk) * NR;
                if ((q + 1) * NR <= width) {
                    for (int v = 0; v < NV; v++) vstoreV(vloadV(q * NV + v, src), v, dst);
                } else {
                    for (int jj = 0; jj < NR; jj++) dst[jj] = q * NR + jj < width ? src[q * NR + jj] : 0.0f;
                }
            }
        }
    } else {
        // B is [n, k]: each column of op(B) is a contiguous run of a row of B.
        for (int q = 0; q < panels; q++) {
            for (int jj = 0; jj < NR; jj++) {
                const int col = q * NR + jj;
                __local float *dst = bp + q * kc * NR + jj;
                if (col < width) {
                    __global const float *src = bi + (size_t)(j0 + col) * k + k0;
                    for (int kk = 0; kk < kc; kk++) dst[kk * NR] = src[kk];
                } else {
                    for (int kk = 0; kk < kc; kk++) dst[kk * NR] = 0.0f;
                }
            }
        }
    }
}

// acc = scale·C for the MR×NR block of C at (row0, col0); zero past row m or column n, and
// everywhere when scale is 0 (then C is not read).
static void load_block(floatV acc[MR][NV], __global const float *ci, int m, int n, int row0, int col0, float scale)
{
    for (int r = 0; r < MR; r++) {
        for (int v = 0; v < NV; v++) acc[r][v] = (floatV)(0.0f);
        if (scale == 0.0f || row0 + r >= m) continue;
        __global const float *crow = ci + (size_t)(row0 + r) * n + col0;
        if (col0 + NR <= n) {
            for (int v = 0; v < NV; v++) acc[r][v] = scale * vloadV(v, crow);
        } else {
            float row[NR];
            for (int jj = 0; jj < NR; jj++) row[jj] = col0 + jj < n ? scale * crow[jj] : 0.0f;
            for (int v = 0; v < NV; v++) acc[r][v] = vloadV(v, row);
        }
    }
}

// C = acc for the MR×NR block at (row0, col0), skipping rows ≥ m and columns ≥ n.
static void store_block(floatV acc[MR][NV], __global float *ci, int m, int n, int row0, int col0)
{
    for (int r = 0; r < MR && row0 + r < m; r++) {
        __global float *crow = ci + (size_t)(row0 + r) * n + col0;
        if (col0 + NR <= n) {
            for (int v = 0; v < NV; v++) vstoreV(acc[r][v], v, crow);
        } else {
            float row[NR];
            for (int v = 0; v < NV; v++) vstoreV(acc[r][v], v, row);
            for (int jj = 0; col0 + jj < n; jj++) crow[jj] = row[jj];
        }
    }
}

// One step of the micro-kernel: acc += (column of the A panel) × (row of the B panel).
static inline void micro_step(floatV acc[MR][NV], __global const float *ak, __local const floatV *bq)
{
    floatV bv[NV];
    #pragma unroll
    for (int v = 0; v < NV; v++) bv[v] = bq[v];
    #pragma unroll
    for (int r = 0; r < MR; r++) {
        const floatV av = (floatV)(ak[r]);
        #pragma unroll
        for (int v = 0; v < NV; v++) acc[r][v] = fma(av, bv[v], acc[r][v]);
    }
}

// One work-item: columns [columnsPerItem·g0, +columnsPerItem) of C for row panels
// [panelsPerItem·g1, +panelsPerItem) of batch item g2 (plus `batchBase`, for products whose items
// must run one after another), taken in strips of at most `strip` columns.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void matmul_packed(
    __global const float *packedA, int packedStride,
    __global const float *b, int strideB, int transB,
    __global float *c, int strideC,
    int m, int n, int k, float beta, int batchBase, int columnsPerItem, int strip, int panelsPerItem)
{
    __local floatV bpVectors[KC * STRIP / VW];
    __local float *bp = (__local float *)bpVectors;

    const int i = batchBase + get_global_id(2);
    const int jBegin = get_global_id(0) * columnsPerItem;
    const int jEnd = min(n, jBegin + columnsPerItem);
    const int panels = (m + MR - 1) / MR;
    const int pBegin = get_global_id(1) * panelsPerItem;
    const int pEnd = min(panels, pBegin + panelsPerItem);
    if (jBegin >= jEnd || pBegin >= pEnd) return;

    __global const float *ai = packedA + (size_t)i * packedStride;
    __global const float *bi = b + (size_t)i * strideB;
    __global float *ci = c + (size_t)i * strideC;

    const int depth = slice_depth(k);
    for (int j0 = jBegin; j0 < jEnd; j0 += strip) {
        const int width = min(strip, jEnd - j0);
        const int bPanels = (width + NR - 1) / NR;
        for (int k0 = 0; k0 < k; k0 += depth) {
            const int kc = min(depth, k - k0);
            pack_b(bi, transB, n, k, k0, kc, j0, width, bp);
            for (int p = pBegin; p < pEnd; p++) {
                __global const float *ap = ai + packed_offset(p, k0, k, panels, depth);
                for (int q = 0; q < bPanels; q++) {
                    __local const floatV *bq = bpVectors + q * kc * NV;
                    floatV acc[MR][NV];
                    // The first slice starts from β·C, later ones from the sum so far.
                    load_block(acc, ci, m, n, p * MR, j0 + q * NR, k0 == 0 ? beta : 1.0f);
                    // Four steps per iteration: less loop overhead between the fma.
                    __global const float *ak = ap;
                    int kk = 0;
                    for (; kk + 4 <= kc; kk += 4, ak += 4 * MR, bq += 4 * NV) {
                        micro_step(acc, ak, bq);
                        micro_step(acc, ak + MR, bq + NV);
                        micro_step(acc, ak + 2 * MR, bq + 2 * NV);
                        micro_step(acc, ak + 3 * MR, bq + 3 * NV);
                    }
                    for (; kk < kc; kk++, ak += MR, bq += NV) micro_step(acc, ak, bq);
                    store_block(acc, ci, m, n, p * MR, j0 + q * NR);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GPU design
// ---------------------------------------------------------------------------------------------

#ifndef TILE_M
#define TILE_M 64   // rows of C per work-group
#endif
#ifndef TILE_N
#define TILE_N 64   // columns of C per work-group
#endif
#ifndef TILE_K
#define TILE_K 16   // depth of one local-memory slice
#endif
#ifndef WPT_M
#define WPT_M 4     // rows of C per work-item
#endif
#ifndef WPT_N
#define WPT_N 4     // columns of C per work-item
#endif

#define THREADS_M (TILE_M / WPT_M)
#define THREADS_N (TILE_N / WPT_N)

// Work-group (THREADS_N, THREADS_M, 1) per TILE_M×TILE_N tile of C of batch item
// batchBase + group_id(2). Work-item (tx, ty) owns rows ty + THREADS_M·i and columns
// tx + THREADS_N·j of the tile, so that neighbouring work-items touch neighbouring columns.
__kernel __attribute__((reqd_work_group_size(THREADS_N, THREADS_M, 1)))
void matmul_tiled(
    __global const float *a, int strideA, int transA,
    __global const float *b, int strideB, int transB,
    __global float *c, int strideC,
    int m, int n, int k, float alpha, float beta, int batchBase)
{
    __local float tileA[TILE_K][TILE_M];
    __local float tileB[TILE_K][TILE_N];

    const int tx = get_local_id(0);
    const int ty = get_local_id(1);
    const int tid = ty * THREADS_N + tx;
    const int row0 = get_group_id(1) * TILE_M;
    const int col0 = get_group_id(0) * TILE_N;
    const int i = batchBase + get_group_id(2);
    __global const float *ai = a + (size_t)i * strideA;
    __global const float *bi = b + (size_t)i * strideB;
    __global float *ci = c + (size_t)i * strideC;

    float acc[WPT_M][WPT_N];
    for (int y = 0; y < WPT_M; y++)
        for (int x = 0; x < WPT_N; x++) acc[y][x] = 0.0f;

    for (int k0 = 0; k0 < k; k0 += TILE_K) {
        // Consecutive work-items load consecutive addresses of whichever layout A and B have.
        for (int l = tid; l < TILE_M * TILE_K; l += THREADS_M * THREADS_N) {
            const int r = transA ? l % TILE_M : l / TILE_K;
            const int kk = transA ? l / TILE_M : l % TILE_K;
            const int row = row0 + r, depth = k0 + kk;
            float value = 0.0f;
            if (row < m && depth < k) value = transA ? ai[(size_t)depth * m + row] : ai[(size_t)row * k + depth];
            tileA[kk][r] = value;
        }
        for (int l = tid; l < TILE_K * TILE_N; l += THREADS_M * THREADS_N) {
            const int col = transB ? l / TILE_K : l % TILE_N;
            const int kk = transB ? l % TILE_K : l / TILE_N;
            const int column = col0 + col, depth = k0 + kk;
            float value = 0.0f;
            if (column < n && depth < k) value = transB ? bi[(size_t)column * k + depth] : bi[(size_t)depth * n + column];
            tileB[kk][col] = value;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE_K; kk++) {
            float av[WPT_M], bv[WPT_N];
            for (int y = 0; y < WPT_M; y++) av[y] = tileA[kk][ty + THREADS_M * y];
            for (int x = 0; x < WPT_N; x++) bv[x] = tileB[kk][tx + THREADS_N * x];
            for (int y = 0; y < WPT_M; y++)
                for (int x = 0; x < WPT_N; x++) acc[y][x] = fma(av[y], bv[x], acc[y][x]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int y = 0; y < WPT_M; y++) {
        const int row = row0 + ty + THREADS_M * y;
        if (row >= m) continue;
        for (int x = 0; x < WPT_N; x++) {
            const int column = col0 + tx + THREADS_N * x;
            if (column >= n) continue;
            __global float *out = ci + (size_t)row * n + column;
            *out = beta != 0.0f ? alpha * acc[y][x] + beta * *out : alpha * acc[y][x];
        }
    }
}
