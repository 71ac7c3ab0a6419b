// attention.cl: fused causal multi-head attention with grouped key/value heads, forward and
// backward, flash-attention style (no queryLength × keyLength matrix is ever stored).
// Specification: Sources/ReferenceDevice/Reference+Attention.swift (ReferenceDevice.attention
// and attentionBackward); semantics in Sources/Core/AttentionShape.swift.
//
// Buffers (row-major, float32 unless said otherwise; B batch, Tq/Tk query/key length, Hq/Hkv
// query/key-value heads, D = HEAD_DIM):
//   q, out, dOut, dq   [B, Tq, Hq, D]
//   k, v, dk, dv       [B, Tk, Hkv, D]
//   logSumExp          [B, Hq, Tq]: log Σ exp(scaled masked scores), −INFINITY for a query that
//                      sees no key (its out and gradients are 0)
//   delta              [B, Hq, Tq]: Δ = Σ_d dOut·out, written by attention_backward_query for
//                      attention_backward_key (scratch)
//   keyValid           int [B, Tk]: 0 = padding key (read only when masks & MASK_KEY_VALID)
//   querySegments      int [B, Tq], keySegments int [B, Tk]: a query sees only keys of its own
//                      segment (read only when masks & MASK_SEGMENTS)
// Query head h reads key/value head h / (Hq / Hkv). Query i sits at position Tk − Tq + i and,
// when `causal`, sees keys j ≤ that position.
//
// Kernels (launch attention_backward_query before attention_backward_key), each over a 2-D
// range whose dimension 0 is split into groups of any local size:
//   attention_forward        (rows of Tq, B·Hq): one work-item per query row, over tiles of
//                            KEY_TILE keys with an online softmax.
//   attention_backward_query (rows of Tq, B·Hq): dq and Δ, one work-item per query row, over
//                            tiles of KEY_TILE keys.
//   attention_backward_key   (rows of Tk, B·Hkv): dk and dv, one work-item per key row, over
//                            tiles of QUERY_TILE query rows of each query head sharing its kv head.
// The backward kernels recompute p = exp(s − logSumExp). Every sum runs in a fixed order and
// each output element has one writer: no atomics, the same bits on every run.
// NaN and ∞ follow IEEE arithmetic, as in the reference: a NaN score makes its row's logSumExp,
// out and gradients NaN; a key of probability 0 (masked, or past the end) contributes nothing,
// whatever its values; a row that sees no key keeps out 0, logSumExp −∞ and zero gradients.
//
// Inner loops work on float8 vectors along a row (a CPU runs them as SIMD code, a GPU as
// scalar code): 8 row dots at a time, then weighted rows added to 8 vector sums kept in
// registers. A group steps through the tiles together (a barrier per tile). With LOCAL_TILES a
// tile's rows are first copied to local memory (GPUs); without, they are read where they are
// (CPUs: PoCL runs a group's work-items one after the other between barriers, so the tile
// stays in the core's cache, and local memory would only add a copy). Private rows are padded
// with zeros to PADDED_DIM.

#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif
// Keys per tile in attention_forward and attention_backward_query (a multiple of 8).
#ifndef KEY_TILE
#define KEY_TILE 32
#endif
// Query rows per tile in attention_backward_key (a multiple of 8).
#ifndef QUERY_TILE
#define QUERY_TILE 32
#endif
// 1: copy each tile to local memory (any HEAD_DIM); 0: read rows from global memory
// (HEAD_DIM a multiple of 8, so that vector loads stay inside a row).
#ifndef LOCAL_TILES
#define LOCAL_TILES 1
#endif

#define PADDED_DIM ((HEAD_DIM + 7) / 8 * 8)
#define MASK_KEY_VALID 1
#define MASK_SEGMENTS 2

#if LOCAL_TILES
#define TILE_SPACE __local
#else
#define TILE_SPACE __global
#if HEAD_DIM % 8 != 0
#error "LOCAL_TILES 0 needs HEAD_DIM to be a multiple of 8"
#endif
#endif

// Copies rows [r0, r0 + rows) of a head slice, row r at base[r·rowStride], into `tile`
// [rows][PADDED_DIM], with zeros from row `limit` on and in the padding.
inline void load_tile(
    __global const float *base, int rowStride, int r0, int limit, int rows, int lid, int groupSize,
    __local float *tile)
{
    for (int e = lid; e < rows * PADDED_DIM; e += groupSize) {
        const int r = e / PADDED_DIM;
        const int d = e - r * PADDED_DIM;
        tile[e] = r0 + r < limit && d < HEAD_DIM ? base[(size_t)(r0 + r) * rowStride + d] : 0.0f;
    }
}

// Copies a row of HEAD_DIM values times `factor` into a private row padded with zeros.
inline void load_row(__global const float *source, float factor, float *row)
{
    for (int d = 0; d < PADDED_DIM; ++d) row[d] = d < HEAD_DIM ? source[d] * factor : 0.0f;
}

// values[start + l] for l < 8, indices clamped to length − 1.
inline int8 load_ints8(__global const int *values, int start, int length)
{
    if (start + 8 <= length) return vload8(0, values + start);
    const int last = length - 1;
    return (int8)(values[min(start, last)], values[min(start + 1, last)], values[min(start + 2, last)],
                  values[min(start + 3, last)], values[min(start + 4, last)], values[min(start + 5, last)],
                  values[min(start + 6, last)], values[min(start + 7, last)]);
}

inline float8 load_floats8(__global const float *values, int start, int length)
{
    if (start + 8 <= length) return vload8(0, values + start);
    const int last = length - 1;
    return (float8)(values[min(start, last)], values[min(start + 1, last)], values[min(start + 2, last)],
                    values[min(start + 3, last)], values[min(start + 4, last)], values[min(start + 5, last)],
                    values[min(start + 6, last)], values[min(start + 7, last)]);
}

inline float sum8(float8 x)
{
    const float4 a = x.lo + x.hi;
    const float2 b = a.lo + a.hi;
    return b.x + b.y;
}

inline float max8(float8 x)
{
    const float4 a = fmax(x.lo, x.hi);
    const float2 b = fmax(a.lo, a.hi);
    return fmax(b.x, b.y);
}

// (sum8(a[0]), …, sum8(a[7])), adding lanes in the same pairs as sum8, in fewer shuffles.
inline float8 sums8(const float8 *a)
{
    const float8 p0 = (float8)(a[0].lo + a[0].hi, a[1].lo + a[1].hi);
    const float8 p1 = (float8)(a[2].lo + a[2].hi, a[3].lo + a[3].hi);
    const float8 p2 = (float8)(a[4].lo + a[4].hi, a[5].lo + a[5].hi);
    const float8 p3 = (float8)(a[6].lo + a[6].hi, a[7].lo + a[7].hi);
    const float8 q0 = (float8)(p0.even + p0.odd, p1.even + p1.odd);
    const float8 q1 = (float8)(p2.even + p2.odd, p3.even + p3.odd);
    return (float8)(q0.even + q0.odd, q1.even + q1.odd);
}

// s[c] = Σ_d x[d]·row_c[d] for c < count (a multiple of 8), where row_c starts at
// base + min(first + c, last)·stride (clamping keeps reads inside the buffer; callers mask
// the repeated rows).
inline void row_dots(
    float *s, const float *x, TILE_SPACE const float *base, int stride, int first, int last, int count)
{
    for (int c0 = 0; c0 < count; c0 += 8) {
        float8 partial[8];
        #pragma unroll
        for (int c = 0; c < 8; ++c) {
            TILE_SPACE const float *row = base + (size_t)min(first + c0 + c, last) * stride;
            float8 a = vload8(0, x) * vload8(0, row);
            #pragma unroll
            for (int v = 1; v < PADDED_DIM / 8; ++v) a += vload8(v, x) * vload8(v, row);
            partial[c] = a;
        }
        vstore8(sums8(partial), 0, s + c0);
    }
}

// acc[d] += Σ_c w[c]·row_c[d] for c < count, rows addressed as in row_dots; up to 64 columns
// (8 vector sums in registers) per pass. Rows of weight 0 are skipped, as the reference skips
// keys of probability 0: a masked key's (or a repeated row's) NaN or ∞ must not reach acc as 0·∞.
inline void accumulate_rows(
    float *acc, const float *w, TILE_SPACE const float *base, int stride, int first, int last, int count)
{
    for (int d0 = 0; d0 < PADDED_DIM; d0 += 64) {
        const int vectors = min((PADDED_DIM - d0) / 8, 8);
        float8 a[8];
        #pragma unroll
        for (int v = 0; v < 8; ++v) {
            if (v < vectors) a[v] = vload8(v, acc + d0);
        }
        for (int c = 0; c < count; ++c) {
            const float weight = w[c];
            if (weight == 0.0f) continue;
            TILE_SPACE const float *row = base + (size_t)min(first + c, last) * stride + d0;
            #pragma unroll
            for (int v = 0; v < 8; ++v) {
                if (v < vectors) a[v] += weight * vload8(v, row);
            }
        }
        #pragma unroll
        for (int v = 0; v < 8; ++v) {
            if (v < vectors) vstore8(a[v], v, acc + d0);
        }
    }
}

// Which of the keys key…key+7 a query at `position` in `segment` sees (−1 = yes, as vector
// comparisons answer).
inline int8 keys_visible(
    __global const int *keyValid, __global const int *keySegments, int masks, int keyLength,
    int key, int segment, int position, int causal)
{
    const int8 keys = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + key;
    int8 visible = keys < keyLength;
    if (causal) visible &= keys <= position;
    if (masks & MASK_KEY_VALID) visible &= load_ints8(keyValid, key, keyLength) != 0;
    if (masks & MASK_SEGMENTS) visible &= load_ints8(keySegments, key, keyLength) == segment;
    return visible;
}

// Which of the queries query…query+7 see a key at `key` in `segment` (query i sits at
// position offset + i).
inline int8 queries_visible(
    __global const int *querySegments, int masks, int queryLength, int query, int segment, int key, int offset,
    int causal)
{
    const int8 queries = (int8)(0, 1, 2, 3, 4, 5, 6, 7) + query;
    int8 visible = queries < queryLength;
    if (causal) visible &= key <= queries + offset;
    if (masks & MASK_SEGMENTS) visible &= load_ints8(querySegments, query, queryLength) == segment;
    return visible;
}

// The number of keys that a query at row i (and those before it) may see.
inline int key_end(int i, int queryLength, int keyLength, int causal)
{
    return causal ? clamp(keyLength - queryLength + i + 1, 0, keyLength) : keyLength;
}

// Rows of two tiles (of the same rows of two head slices) as the group reads them.
typedef struct {
    TILE_SPACE const float *a, *b;
    int stride;  // between rows
    int first;   // the tile's row 0
    int last;    // the last row that exists (reads are clamped to it)
} Tiles;

// Makes rows [r0, r0 + rows) of the head slices a and b (row r at [r·rowStride], `limit` rows)
// readable by the whole group, after every work-item is done with the previous tiles: copied
// to aTile and bTile with LOCAL_TILES (zeros past `limit`), else read in place.
inline Tiles next_tiles(
    __global const float *a, __global const float *b, int rowStride, int r0, int limit, int rows,
    __local float *aTile, __local float *bTile)
{
    Tiles tiles;
    barrier(CLK_LOCAL_MEM_FENCE);
#if LOCAL_TILES
    load_tile(a, rowStride, r0, limit, rows, get_local_id(0), get_local_size(0), aTile);
    load_tile(b, rowStride, r0, limit, rows, get_local_id(0), get_local_size(0), bTile);
    barrier(CLK_LOCAL_MEM_FENCE);
    tiles.a = aTile;
    tiles.b = bTile;
    tiles.stride = PADDED_DIM;
    tiles.first = 0;
    tiles.last = rows - 1;
#else
    (void)rows, (void)aTile, (void)bTile;  // tiles are read in place
    tiles.a = a;
    tiles.b = b;
    tiles.stride = rowStride;
    tiles.first = r0;
    tiles.last = limit - 1;
#endif
    return tiles;
}

// Local memory for a tile of `rows` rows (one element when tiles are read in place).
#define TILE_ELEMENTS(rows) (LOCAL_TILES ? (rows) * PADDED_DIM : 1)

// The query row of a work-item of attention_forward or attention_backward_query.
typedef struct {
    int active;     // whether the row exists (work-items past the end compute row Tq − 1, unsaved)
    int i, b, h;
    int position;   // Tk − Tq + i
    int segment;
    int ownKeys;    // keys it may see (0 for rows past the end)
    int groupKeys;  // keys any row of the group may see: how far the group steps
    size_t start;   // of the row in q, out, dOut and dq
    int statistic;  // index in logSumExp and delta
    __global const float *keys, *values;  // the batch's rows of the kv head that h reads
    int kvStride;   // between those rows
} QueryRow;

inline QueryRow query_row(
    __global const float *k, __global const float *v, __global const int *querySegments,
    int queryHeads, int keyValueHeads, int queryLength, int keyLength, int causal, int masks)
{
    QueryRow row;
    const int i0 = get_group_id(0) * get_local_size(0);
    row.active = i0 + (int)get_local_id(0) < queryLength;
    row.i = min(i0 + (int)get_local_id(0), queryLength - 1);
    row.b = get_group_id(1) / queryHeads;
    row.h = get_group_id(1) % queryHeads;
    row.position = keyLength - queryLength + row.i;
    row.segment = (masks & MASK_SEGMENTS) ? querySegments[row.b * queryLength + row.i] : 0;
    row.ownKeys = row.active ? key_end(row.i, queryLength, keyLength, causal) : 0;
    row.groupKeys = key_end(min(i0 + (int)get_local_size(0), queryLength) - 1, queryLength, keyLength, causal);
    row.start = ((size_t)(row.b * queryLength + row.i) * queryHeads + row.h) * HEAD_DIM;
    row.statistic = (row.b * queryHeads + row.h) * queryLength + row.i;
    row.kvStride = keyValueHeads * HEAD_DIM;
    const size_t head = (size_t)row.b * keyLength * row.kvStride + row.h / (queryHeads / keyValueHeads) * HEAD_DIM;
    row.keys = k + head;
    row.values = v + head;
    return row;
}

__kernel void attention_forward(
    __global const float *q, __global const float *k, __global const float *v,
    __global const int *keyValid, __global const int *querySegments, __global const int *keySegments,
    __global float *out, __global float *logSumExp,
    int queryHeads, int keyValueHeads, int queryLength, int keyLength, float scale, int causal, int masks)
{
    __local float keyTile[TILE_ELEMENTS(KEY_TILE)];
    __local float valueTile[TILE_ELEMENTS(KEY_TILE)];
    const QueryRow row = query_row(k, v, querySegments, queryHeads, keyValueHeads, queryLength, keyLength, causal, masks);
    keyValid += row.b * keyLength;
    keySegments += row.b * keyLength;

    float query[PADDED_DIM], acc[PADDED_DIM];
    load_row(q + row.start, scale, query);
    for (int d = 0; d < PADDED_DIM; ++d) acc[d] = 0.0f;
    float maximum = -INFINITY, sum = 0.0f;
    bool seen = false;  // whether any key is visible
    for (int k0 = 0; k0 < row.groupKeys; k0 += KEY_TILE) {
        const Tiles t = next_tiles(row.keys, row.values, row.kvStride, k0, keyLength, KEY_TILE, keyTile, valueTile);
        if (k0 >= row.ownKeys) continue;
        float s[KEY_TILE];
        row_dots(s, query, t.a, t.stride, t.first, t.last, KEY_TILE);
        float tileMaximum = -INFINITY;
        int8 anyVisible = (int8)(0);
        for (int j = 0; j < KEY_TILE; j += 8) {
            const int8 visible =
                keys_visible(keyValid, keySegments, masks, keyLength, k0 + j, row.segment, row.position, causal);
            const float8 scores = select((float8)(-INFINITY), vload8(0, s + j), visible);
            vstore8(scores, 0, s + j);
            anyVisible |= visible;
            tileMaximum = fmax(tileMaximum, max8(scores));
        }
        // Visibility, not the maximum, says whether the tile has a key: a visible score may be
        // −∞, or NaN, which fmax drops. Such scores then make sum NaN, as in the reference.
        if (!any(anyVisible)) continue;
        seen = true;
        if (tileMaximum > maximum) {
            const float correction = exp(maximum - tileMaximum);  // 0 for the first visible tile
            sum *= correction;
            for (int d = 0; d < PADDED_DIM; ++d) acc[d] *= correction;
            maximum = tileMaximum;
        }
        for (int j = 0; j < KEY_TILE; j += 8) {
            const float8 p = exp(vload8(0, s + j) - maximum);  // exp(−∞) = 0 for masked keys
            vstore8(p, 0, s + j);
            sum += sum8(p);
        }
        accumulate_rows(acc, s, t.b, t.stride, t.first, t.last, KEY_TILE);
    }
    if (!row.active) return;
    const float inverse = seen ? 1.0f / sum : 0.0f;
    for (int d = 0; d < HEAD_DIM; ++d) out[row.start + d] = acc[d] * inverse;
    logSumExp[row.statistic] = seen ? maximum + log(sum) : -INFINITY;
}

__kernel void attention_backward_query(
    __global const float *q, __global const float *k, __global const float *v,
    __global const int *keyValid, __global const int *querySegments, __global const int *keySegments,
    __global const float *out, __global const float *logSumExp, __global const float *dOut,
    __global float *delta, __global float *dq,
    int queryHeads, int keyValueHeads, int queryLength, int keyLength, float scale, int causal, int masks)
{
    __local float keyTile[TILE_ELEMENTS(KEY_TILE)];
    __local float valueTile[TILE_ELEMENTS(KEY_TILE)];
    const QueryRow row = query_row(k, v, querySegments, queryHeads, keyValueHeads, queryLength, keyLength, causal, masks);
    keyValid += row.b * keyLength;
    keySegments += row.b * keyLength;

    float query[PADDED_DIM], gradient[PADDED_DIM], acc[PADDED_DIM];
    load_row(q + row.start, scale, query);
    load_row(dOut + row.start, 1.0f, gradient);
    for (int d = 0; d < PADDED_DIM; ++d) acc[d] = 0.0f;
    float rowDelta = 0.0f;
    for (int d = 0; d < HEAD_DIM; ++d) rowDelta += dOut[row.start + d] * out[row.start + d];
    if (row.active) delta[row.statistic] = rowDelta;
    const float rowLogSumExp = logSumExp[row.statistic];
    // A row that sees no key (logSumExp −∞) has zero gradient; one whose logSumExp is NaN has NaN.
    const int ownKeys = rowLogSumExp != -INFINITY ? row.ownKeys : 0;
    for (int k0 = 0; k0 < row.groupKeys; k0 += KEY_TILE) {
        const Tiles t = next_tiles(row.keys, row.values, row.kvStride, k0, keyLength, KEY_TILE, keyTile, valueTile);
        if (k0 >= ownKeys) continue;
        float s[KEY_TILE], dp[KEY_TILE];
        row_dots(s, query, t.a, t.stride, t.first, t.last, KEY_TILE);
        row_dots(dp, gradient, t.b, t.stride, t.first, t.last, KEY_TILE);
        for (int j = 0; j < KEY_TILE; j += 8) {
            const int8 visible =
                keys_visible(keyValid, keySegments, masks, keyLength, k0 + j, row.segment, row.position, causal);
            const float8 p = select((float8)(0.0f), exp(vload8(0, s + j) - rowLogSumExp), visible);
            // dS, exactly 0 where p is (the reference skips those keys), even if dp is NaN there.
            vstore8(select(p * (vload8(0, dp + j) - rowDelta), (float8)(0.0f), p == 0.0f), 0, s + j);
        }
        accumulate_rows(acc, s, t.a, t.stride, t.first, t.last, KEY_TILE);
    }
    if (!row.active) return;
    for (int d = 0; d < HEAD_DIM; ++d) dq[row.start + d] = acc[d] * scale;
}

__kernel void attention_backward_key(
    __global const float *q, __global const float *k, __global const float *v,
    __global const int *keyValid, __global const int *querySegments, __global const int *keySegments,
    __global const float *logSumExp, __global const float *dOut, __global const float *delta,
    __global float *dk, __global float *dv,
    int queryHeads, int keyValueHeads, int queryLength, int keyLength, float scale, int causal, int masks)
{
    __local float queryTile[TILE_ELEMENTS(QUERY_TILE)];
    __local float gradientTile[TILE_ELEMENTS(QUERY_TILE)];
    const int j0 = get_group_id(0) * get_local_size(0);
    const bool active = j0 + (int)get_local_id(0) < keyLength;
    const int j = min(j0 + (int)get_local_id(0), keyLength - 1);  // past the end: row Tk − 1, unsaved
    const int b = get_group_id(1) / keyValueHeads;
    const int g = get_group_id(1) % keyValueHeads;
    const int group = queryHeads / keyValueHeads;
    const int offset = keyLength - queryLength;  // query i sits at position offset + i
    const int queryStride = queryHeads * HEAD_DIM;
    const size_t keyStart = ((size_t)(b * keyLength + j) * keyValueHeads + g) * HEAD_DIM;
    const int segment = (masks & MASK_SEGMENTS) ? keySegments[b * keyLength + j] : 0;
    const bool keyOk = active && (!(masks & MASK_KEY_VALID) || keyValid[b * keyLength + j] != 0);
    querySegments += b * queryLength;

    float key[PADDED_DIM], value[PADDED_DIM], dKey[PADDED_DIM], dValue[PADDED_DIM];
    load_row(k + keyStart, scale, key);
    load_row(v + keyStart, 1.0f, value);
    for (int d = 0; d < PADDED_DIM; ++d) dKey[d] = dValue[d] = 0.0f;
    // The first query row that may see this key (none for padding keys), and for the group.
    const int ownFirst = !keyOk ? queryLength : causal ? clamp(j - offset, 0, queryLength) : 0;
    const int groupFirst = causal ? clamp(j0 - offset, 0, queryLength) : 0;
    for (int h = g * group; h < (g + 1) * group; ++h) {
        const size_t head = (size_t)b * queryLength * queryStride + h * HEAD_DIM;
        __global const float *rowLogSumExp = logSumExp + (b * queryHeads + h) * queryLength;
        __global const float *rowDelta = delta + (b * queryHeads + h) * queryLength;
        for (int i0 = groupFirst; i0 < queryLength; i0 += QUERY_TILE) {
            const Tiles t =
                next_tiles(q + head, dOut + head, queryStride, i0, queryLength, QUERY_TILE, queryTile, gradientTile);
            if (i0 + QUERY_TILE <= ownFirst || ownFirst == queryLength) continue;
            float s[QUERY_TILE], dp[QUERY_TILE];
            row_dots(s, key, t.a, t.stride, t.first, t.last, QUERY_TILE);
            row_dots(dp, value, t.b, t.stride, t.first, t.last, QUERY_TILE);
            for (int r = 0; r < QUERY_TILE; r += 8) {
                const int8 visible =
                    queries_visible(querySegments, masks, queryLength, i0 + r, segment, j, offset, causal);
                const float8 p = select(
                    (float8)(0.0f), exp(vload8(0, s + r) - load_floats8(rowLogSumExp, i0 + r, queryLength)), visible);
                // dS, exactly 0 where p is (the reference skips those rows), even if dp is NaN there.
                const float8 dS = p * (vload8(0, dp + r) - load_floats8(rowDelta, i0 + r, queryLength));
                vstore8(select(dS, (float8)(0.0f), p == 0.0f), 0, s + r);
                vstore8(p, 0, dp + r);
            }
            accumulate_rows(dValue, dp, t.b, t.stride, t.first, t.last, QUERY_TILE);
            accumulate_rows(dKey, s, t.a, t.stride, t.first, t.last, QUERY_TILE);
        }
    }
    if (!active) return;
    for (int d = 0; d < HEAD_DIM; ++d) {
        dk[keyStart + d] = dKey[d] * scale;
        dv[keyStart + d] = dValue[d];
    }
}
