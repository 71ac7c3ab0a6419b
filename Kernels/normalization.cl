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
// (global = rows·NORM_WG): each work-item folds columns lid, lid + NORM_WG, … in order, and a
// local-memory tree combines the partials in a fixed order.
// Parameter-gradient kernels (*_backward_params) are column-parallel: a work-group of
// NORM_PARAM_COLUMNS × NORM_PARAM_LANES work-items owns NORM_PARAM_COLUMNS columns; lane j sums
// rows j, j + NORM_PARAM_LANES, … in order, then a tree over the lanes adds the partials in a
// fixed order (global = (columns rounded up to NORM_PARAM_COLUMNS, NORM_PARAM_LANES)).
// Nothing uses atomics: the same inputs give the same bits on every run.

#ifndef NORM_WG
#define NORM_WG 128 // work-items per row; a power of two
#endif
#ifndef NORM_PARAM_COLUMNS
#define NORM_PARAM_COLUMNS 32 // columns per work-group of the parameter gradients
#endif
#ifndef NORM_PARAM_LANES
#define NORM_PARAM_LANES 8 // row lanes per column; a power of two
#endif

#if (NORM_WG & (NORM_WG - 1)) != 0 || (NORM_PARAM_LANES & (NORM_PARAM_LANES - 1)) != 0
#error "NORM_WG and NORM_PARAM_LANES must be powers of two"
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

// Σ (x − center)² over the row (center = 0 gives Σ x²).
float row_sum_of_squares(__global const float* x, float center, int columns, __local float2* scratch) {
    float partial = 0.0f;
    for (int c = get_local_id(0); c < columns; c += NORM_WG) {
        const float d = x[c] - center;
        partial += d * d;
    }
    return row_group_sum(scratch, (float2)(partial, 0.0f)).x;
}

// y = (x − μ)·rstd·w + b with μ = Σx/n and rstd = 1/√(Σ(x − μ)²/n + ε) (two passes over the row).
__kernel __attribute__((reqd_work_group_size(NORM_WG, 1, 1)))
void layer_norm_forward(__global const float* x, __global const float* weight, __global const float* bias,
                        __global float* y, __global float* mean, __global float* rstd,
                        const int columns, const float epsilon) {
    __local float2 scratch[NORM_WG];
    const int row = get_group_id(0);
    const size_t offset = (size_t)row * columns;
    __global const float* in = x + offset;
    __global float* out = y + offset;
    float partial = 0.0f;
    for (int c = get_local_id(0); c < columns; c += NORM_WG) partial += in[c];
    const float mu = row_group_sum(scratch, (float2)(partial, 0.0f)).x / (float)columns;
    const float variance = row_sum_of_squares(in, mu, columns, scratch) / (float)columns;
    const float inverse = 1.0f / sqrt(variance + epsilon);
    for (int c = get_local_id(0); c < columns; c += NORM_WG) out[c] = (in[c] - mu) * inverse * weight[c] + bias[c];
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
    __global float* out = y + offset;
    const float inverse = 1.0f / sqrt(row_sum_of_squares(in, 0.0f, columns, scratch) / (float)columns + epsilon);
    for (int c = get_local_id(0); c < columns; c += NORM_WG) out[c] = weight[c] * (in[c] * inverse);
    if (get_local_id(0) == 0) rstd[row] = inverse;
}

// dx of one row, with x̂ = (x − center)·rstd and ĝ = dy⊙w:
// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)); RMS norm (centered = false) has no mean(ĝ) term.
void norm_backward_row(__global const float* x, __global const float* weight, __global const float* dy,
                       __global float* dx, float center, float inverse, int columns, bool centered,
                       __local float2* scratch) {
    float2 partial = (float2)(0.0f); // (Σ ĝ, Σ ĝ⊙x̂)
    for (int c = get_local_id(0); c < columns; c += NORM_WG) {
        const float g = dy[c] * weight[c];
        partial += (float2)(g, g * ((x[c] - center) * inverse));
    }
    const float2 means = row_group_sum(scratch, partial) / (float)columns;
    const float mean_gradient = centered ? means.x : 0.0f;
    for (int c = get_local_id(0); c < columns; c += NORM_WG) {
        const float g = dy[c] * weight[c];
        const float normalized = (x[c] - center) * inverse;
        dx[c] = inverse * (g - mean_gradient - normalized * means.y);
    }
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

// The sum of `partial` over the NORM_PARAM_LANES lanes of this work-item's column, by a tree in a
// fixed order. Every work-item of the group must call it; each gets its column's total.
float2 lane_group_sum(__local float2* scratch, float2 partial) {
    const int tile_column = get_local_id(0);
    const int lane = get_local_id(1);
    scratch[lane * NORM_PARAM_COLUMNS + tile_column] = partial;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int width = NORM_PARAM_LANES / 2; width > 0; width >>= 1) {
        if (lane < width) {
            scratch[lane * NORM_PARAM_COLUMNS + tile_column] += scratch[(lane + width) * NORM_PARAM_COLUMNS + tile_column];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return scratch[tile_column];
}

// dweight = Σ_rows dy⊙x̂ with x̂ = (x − mean)·rstd, dbias = Σ_rows dy; lane j takes rows j, j + LANES, ….
__kernel __attribute__((reqd_work_group_size(NORM_PARAM_COLUMNS, NORM_PARAM_LANES, 1)))
void layer_norm_backward_params(__global const float* x, __global const float* mean, __global const float* rstd,
                                __global const float* dy, __global float* dweight, __global float* dbias,
                                const int rows, const int columns) {
    __local float2 scratch[NORM_PARAM_LANES * NORM_PARAM_COLUMNS];
    const int column = get_global_id(0);
    float2 partial = (float2)(0.0f);
    if (column < columns) {
        for (int row = get_local_id(1); row < rows; row += NORM_PARAM_LANES) {
            const size_t i = (size_t)row * columns + column;
            partial += (float2)(dy[i] * ((x[i] - mean[row]) * rstd[row]), dy[i]);
        }
    }
    const float2 totals = lane_group_sum(scratch, partial);
    if (get_local_id(1) == 0 && column < columns) {
        dweight[column] = totals.x;
        dbias[column] = totals.y;
    }
}

// dweight = Σ_rows dy⊙x̂ with x̂ = x·rstd; lane j takes rows j, j + LANES, ….
__kernel __attribute__((reqd_work_group_size(NORM_PARAM_COLUMNS, NORM_PARAM_LANES, 1)))
void rms_norm_backward_params(__global const float* x, __global const float* rstd, __global const float* dy,
                              __global float* dweight, const int rows, const int columns) {
    __local float2 scratch[NORM_PARAM_LANES * NORM_PARAM_COLUMNS];
    const int column = get_global_id(0);
    float2 partial = (float2)(0.0f);
    if (column < columns) {
        for (int row = get_local_id(1); row < rows; row += NORM_PARAM_LANES) {
            const size_t i = (size_t)row * columns + column;
            partial.x += dy[i] * (x[i] * rstd[row]);
        }
    }
    const float2 totals = lane_group_sum(scratch, partial);
    if (get_local_id(1) == 0 && column < columns) dweight[column] = totals.x;
}
