// normalization.cl: layer normalisation and RMS normalisation over the last axis, and their
// gradients. Matches Sources/ReferenceDevice/Reference+Normalization.swift
// (ReferenceDevice.layerNorm, layerNormBackward, rmsNorm, rmsNormBackward).
//
// Buffers (row-major, contiguous, float32):
//   x, y, dy, dx               [rows, columns]
//   weight, bias               [columns]
//   dweight, dbias             [columns]    sums over all rows (overwritten)
//   mean, rstd                 [rows]       saved by the forward pass: μ and 1/√(σ² + ε)
//                                           (RMS norm: 1/√(mean(x²) + ε))
//
// Row kernels (*_forward, *_backward_input) run one work-group of NORM_WG work-items per row
// (global = rows·NORM_WG). A row is read as columns/NORM_VEC vectors of NORM_VEC floats, which
// work-item lid visits as lid, lid + NORM_WG, …, plus fewer than NORM_VEC leftover columns, one
// each for the first work-items; each work-item folds its share in that order (vector lanes
// combined in a fixed order) and a local-memory tree combines the partials in a fixed order.
// Vectors matter on CPUs, where PoCL turns float8 arithmetic into SIMD code (2–8× faster than one
// float per work-item there); GPUs coalesce one float per work-item best.
// Parameter-gradient kernels (*_backward_params) are column-parallel: work-item (i, j) owns the
// NORM_VEC columns from i·NORM_VEC, and lane j of NORM_PARAM_LANES sums rows j, j + LANES, … in
// order; a tree over the lanes of a work-group (NORM_PARAM_COLUMNS × NORM_PARAM_LANES work-items)
// then adds the partials in a fixed order
// (global = (⌈columns/NORM_VEC⌉ rounded up to NORM_PARAM_COLUMNS, NORM_PARAM_LANES)).
// Nothing uses atomics: the same inputs give the same bits on every run.

// Keep ĝ − mean(ĝ) as two roundings like the reference: a fused multiply-add would leave the
// product's rounding error, which rstd amplifies when a row's variance is ~0.
#pragma OPENCL FP_CONTRACT OFF

#ifndef NORM_WG
#define NORM_WG 128 // work-items per row; a power of two, at least NORM_VEC
#endif
#ifndef NORM_VEC
#define NORM_VEC 1 // floats per vector, and columns per work-item of the parameter gradients: 1 or 8
#endif
#ifndef NORM_PARAM_COLUMNS
#define NORM_PARAM_COLUMNS 32 // work-items along the columns per work-group of the parameter gradients
#endif
#ifndef NORM_PARAM_LANES
#define NORM_PARAM_LANES 8 // row lanes per column; a power of two
#endif

#if (NORM_WG & (NORM_WG - 1)) != 0 || NORM_WG < NORM_VEC || (NORM_PARAM_LANES & (NORM_PARAM_LANES - 1)) != 0
#error "NORM_WG (at least NORM_VEC) and NORM_PARAM_LANES must be powers of two"
#endif

// floatv holds NORM_VEC floats; load_v/store_v are vloadn/vstoren; sum_v adds its lanes in a fixed order.
#if NORM_VEC == 1
typedef float floatv;
#define load_v(i, p) ((p)[i])
#define store_v(value, i, p) ((p)[i] = (value))
float sum_v(float v) { return v; }
#elif NORM_VEC == 8
typedef float8 floatv;
#define load_v vload8
#define store_v vstore8
float sum_v(float8 v) { const float4 s = v.lo + v.hi; return (s.x + s.y) + (s.z + s.w); }
#else
#error "NORM_VEC must be 1 or 8"
#endif

// The sum of `value` over the NORM_WG work-items of a row, by a tree in a fixed order.
// Every work-item must call it; every work-item gets the result.
float2 row_group_sum(__local float2* scratch, float2 value) {
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = NORM_WG / 2; width > 0; width >>= 1) {
        if (lid < width) scratch[lid] += scratch[lid + width];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float2 result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); // scratch is reused by the next call
    return result;
}

// The index of the first leftover column this work-item owns (valid when < columns).
#define LEFTOVER_COLUMN(columns) ((columns) / NORM_VEC * NORM_VEC + (int)get_local_id(0))

// ROW_SUM and ROW_MAP walk this work-item's share of a row (see the header) and apply
// TERM(x, w, y, k): an expression of same-column values x, w, y of the arrays a, b, c and a row
// constant k, written so that it holds for float and floatv alike.

// total = Σ TERM over the share.
#define ROW_SUM(total, TERM, a, b, c, k, columns)                                                     \
    do {                                                                                              \
        floatv lanes_ = (floatv)(0.0f);                                                               \
        for (int v_ = get_local_id(0); v_ < (columns) / NORM_VEC; v_ += NORM_WG)                      \
            lanes_ += TERM(load_v(v_, a), load_v(v_, b), load_v(v_, c), k);                           \
        total = sum_v(lanes_);                                                                        \
        const int i_ = LEFTOVER_COLUMN(columns);                                                      \
        if (i_ < (columns)) total += TERM((a)[i_], (b)[i_], (c)[i_], k);                              \
    } while (0)

// out = TERM over the share. The leftover column index is clamped into the row, so that no store
// leaves the row even where a compiler wrongly treats the guard as the same for every work-item
// (PoCL 3.1 did, see softmax_backward in softmax.cl); the guard still keeps each column to one writer.
#define ROW_MAP(out, TERM, a, b, c, k, columns)                                                       \
    do {                                                                                              \
        for (int v_ = get_local_id(0); v_ < (columns) / NORM_VEC; v_ += NORM_WG)                      \
            store_v(TERM(load_v(v_, a), load_v(v_, b), load_v(v_, c), k), v_, out);                   \
        const int i_ = min(LEFTOVER_COLUMN(columns), (columns) - 1);                                  \
        if (LEFTOVER_COLUMN(columns) < (columns)) (out)[i_] = TERM((a)[i_], (b)[i_], (c)[i_], k);     \
    } while (0)

#define TERM_VALUE(x, w, y, unused) (x)
// k = the center: μ, or 0 for Σ x².
#define TERM_SQUARED_DEVIATION(x, w, y, center) (((x) - (center)) * ((x) - (center)))
// y = bias, k = (μ, rstd): (x − μ)·rstd·w + b.
#define TERM_LAYER_NORM(x, w, y, k) (((x) - (k).s0) * (k).s1 * (w) + (y))
// k = rstd: w⊙(x·rstd).
#define TERM_RMS_NORM(x, w, y, rstd) ((w) * ((x) * (rstd)))
// Backward, with y = dy: ĝ = dy⊙w, x̂ = (x − center)·rstd and k = (center, rstd, mean(ĝ), mean(ĝ⊙x̂)).
#define TERM_SCALED_GRADIENT(x, w, y, k) ((y) * (w))
#define TERM_PROJECTION(x, w, y, k) ((y) * (w) * (((x) - (k).s0) * (k).s1))
#define TERM_INPUT_GRADIENT(x, w, y, k) ((k).s1 * ((y) * (w) - (k).s2 - ((x) - (k).s0) * (k).s1 * (k).s3))

// y = (x − μ)·rstd·w + b with μ = Σx/n and rstd = 1/√(Σ(x − μ)²/n + ε) (two passes over the row).
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void layer_norm_forward(__global const float* x, __global const float* weight, __global const float* bias,
                        __global float* y, __global float* mean, __global float* rstd,
                        const int columns, const float epsilon) {
    __local float2 scratch[NORM_WG];
    const int row = get_group_id(0);
    const size_t offset = (size_t)row * columns;
    __global const float* in = x + offset;
    float partial;
    ROW_SUM(partial, TERM_VALUE, in, in, in, 0.0f, columns);
    const float mu = row_group_sum(scratch, (float2)(partial, 0.0f)).x / (float)columns;
    ROW_SUM(partial, TERM_SQUARED_DEVIATION, in, in, in, mu, columns);
    const float variance = row_group_sum(scratch, (float2)(partial, 0.0f)).x / (float)columns;
    const float inverse = 1.0f / sqrt(variance + epsilon);
    ROW_MAP(y + offset, TERM_LAYER_NORM, in, weight, bias, (float2)(mu, inverse), columns);
    if (get_local_id(0) == 0) {
        mean[row] = mu;
        rstd[row] = inverse;
    }
}

// y = w⊙(x·rstd) with rstd = 1/√(Σx²/n + ε).
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void rms_norm_forward(__global const float* x, __global const float* weight, __global float* y,
                      __global float* rstd, const int columns, const float epsilon) {
    __local float2 scratch[NORM_WG];
    const int row = get_group_id(0);
    const size_t offset = (size_t)row * columns;
    __global const float* in = x + offset;
    float partial;
    ROW_SUM(partial, TERM_SQUARED_DEVIATION, in, in, in, 0.0f, columns);
    const float inverse = 1.0f / sqrt(row_group_sum(scratch, (float2)(partial, 0.0f)).x / (float)columns + epsilon);
    ROW_MAP(y + offset, TERM_RMS_NORM, in, weight, in, inverse, columns);
    if (get_local_id(0) == 0) rstd[row] = inverse;
}

// dx of one row: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) with ĝ = dy⊙w and x̂ = (x − center)·rstd;
// RMS norm (centered = false, center = 0) has no mean(ĝ) term.
void norm_backward_row(__global const float* x, __global const float* weight, __global const float* dy,
                       __global float* dx, float center, float inverse, int columns, bool centered,
                       __local float2* scratch) {
    const float4 k = (float4)(center, inverse, 0.0f, 0.0f);
    float gradient_sum = 0.0f, projection_sum;
    if (centered) ROW_SUM(gradient_sum, TERM_SCALED_GRADIENT, x, weight, dy, k, columns);
    ROW_SUM(projection_sum, TERM_PROJECTION, x, weight, dy, k, columns);
    const float2 means = row_group_sum(scratch, (float2)(gradient_sum, projection_sum)) / (float)columns;
    ROW_MAP(dx, TERM_INPUT_GRADIENT, x, weight, dy, (float4)(center, inverse, means.x, means.y), columns);
}

__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void layer_norm_backward_input(__global const float* x, __global const float* weight, __global const float* mean,
                               __global const float* rstd, __global const float* dy, __global float* dx,
                               const int columns) {
    __local float2 scratch[NORM_WG];
    const int row = get_group_id(0);
    const size_t offset = (size_t)row * columns;
    norm_backward_row(x + offset, weight, dy + offset, dx + offset, mean[row], rstd[row], columns, true, scratch);
}

__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void rms_norm_backward_input(__global const float* x, __global const float* weight, __global const float* rstd,
                             __global const float* dy, __global float* dx, const int columns) {
    __local float2 scratch[NORM_WG];
    const int row = get_group_id(0);
    const size_t offset = (size_t)row * columns;
    norm_backward_row(x + offset, weight, dy + offset, dx + offset, 0.0f, rstd[row], columns, false, scratch);
}

// The NORM_VEC values p[first …], with zeros for the lanes at or past `end`: the last vector of
// a row whose length is not a multiple of NORM_VEC.
floatv load_columns(__global const float* p, int first, int end) {
    if (first + NORM_VEC <= end) return load_v(0, p + first);
    float lanes[NORM_VEC];
    for (int k = 0; k < NORM_VEC; ++k) lanes[k] = first + k < end ? p[first + k] : 0.0f;
    return load_v(0, lanes);
}

// Writes the lanes of `value` that fall before `end` to p[first …].
void store_columns(floatv value, __global float* p, int first, int end) {
    if (first + NORM_VEC <= end) {
        store_v(value, 0, p + first);
        return;
    }
    float lanes[NORM_VEC];
    store_v(value, 0, lanes);
    for (int k = 0; first + k < end; ++k) p[first + k] = lanes[k];
}

// The sum of `partial` over the NORM_PARAM_LANES lanes of this work-item's columns, by a tree in
// a fixed order. Every work-item of the group must call it; each gets its columns' totals.
floatv lane_group_sum(__local floatv* scratch, floatv partial) {
    const int slot = get_local_id(0);
    const int lane = get_local_id(1);
    scratch[lane * NORM_PARAM_COLUMNS + slot] = partial;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = NORM_PARAM_LANES / 2; width > 0; width >>= 1) {
        if (lane < width) scratch[lane * NORM_PARAM_COLUMNS + slot] += scratch[(lane + width) * NORM_PARAM_COLUMNS + slot];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const floatv total = scratch[slot];
    barrier(CLK_LOCAL_MEM_FENCE); // scratch is reused by the next call
    return total;
}

// Σ_rows dy⊙x̂ (into *weight_total) and Σ_rows dy (into *bias_total) for this work-item's
// columns, with x̂ = (x − mean)·rstd, or x·rstd when not centered (RMS norm, which passes no mean).
// Every work-item of the group must call it (it ends in barriers).
void column_gradient_sums(__global const float* x, __global const float* mean, __global const float* rstd,
                          __global const float* dy, int rows, int columns, bool centered,
                          __local floatv* scratch, floatv* weight_total, floatv* bias_total) {
    const int first = get_global_id(0) * NORM_VEC;
    floatv weight_sum = (floatv)(0.0f), bias_sum = (floatv)(0.0f);
    for (int first_row = 0; first_row < rows; first_row += NORM_PARAM_LANES) {
        const int row = first_row + get_local_id(1);
        if (row < rows && first < columns) {
            const size_t offset = (size_t)row * columns;
            const floatv g = load_columns(dy + offset, first, columns);
            const floatv deviation = load_columns(x + offset, first, columns) - (centered ? mean[row] : 0.0f);
            weight_sum += g * (deviation * rstd[row]);
            bias_sum += g;
        }
    }
    *weight_total = lane_group_sum(scratch, weight_sum);
    *bias_total = lane_group_sum(scratch, bias_sum);
}

// dweight = Σ_rows dy⊙x̂ with x̂ = (x − mean)·rstd, dbias = Σ_rows dy.
__kernel __attribute__((reqd_work_group_size(NORM_PARAM_COLUMNS, NORM_PARAM_LANES, 1)))
void layer_norm_backward_params(__global const float* x, __global const float* mean, __global const float* rstd,
                                __global const float* dy, __global float* dweight, __global float* dbias,
                                const int rows, const int columns) {
    __local floatv scratch[NORM_PARAM_LANES * NORM_PARAM_COLUMNS];
    floatv weight_total, bias_total;
    column_gradient_sums(x, mean, rstd, dy, rows, columns, true, scratch, &weight_total, &bias_total);
    const int first = get_global_id(0) * NORM_VEC;
    if (get_local_id(1) == 0 && first < columns) {
        store_columns(weight_total, dweight, first, columns);
        store_columns(bias_total, dbias, first, columns);
    }
}

// dweight = Σ_rows dy⊙x̂ with x̂ = x·rstd.
__kernel __attribute__((reqd_work_group_size(NORM_PARAM_COLUMNS, NORM_PARAM_LANES, 1)))
void rms_norm_backward_params(__global const float* x, __global const float* rstd, __global const float* dy,
                              __global float* dweight, const int rows, const int columns) {
    __local floatv scratch[NORM_PARAM_LANES * NORM_PARAM_COLUMNS];
    floatv weight_total, bias_total;
    // rstd stands in for the mean, which centered = false never reads.
    column_gradient_sums(x, rstd, rstd, dy, rows, columns, false, scratch, &weight_total, &bias_total);
    const int first = get_global_id(0) * NORM_VEC;
    if (get_local_id(1) == 0 && first < columns) store_columns(weight_total, dweight, first, columns);
}
