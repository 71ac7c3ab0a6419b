// softmax.cl: softmax and log-softmax over the last axis, their gradient, and the fused
// cross-entropy loss with its gradient. Matches Sources/ReferenceDevice/Reference+Softmax.swift
// (ReferenceDevice.softmax, softmaxBackward, crossEntropy, crossEntropyBackward).
//
// Buffers (row-major, contiguous, float32 unless noted):
//   x, y, dy, dx            [rows, columns]   softmax input, output and their gradients
//   logits, dlogits         [rows, columns]
//   targets                 int32 [rows]      class per row, or ignore_index
//   losses, log_sum_exp     [rows]            per-row loss and log Σ exp(logits[row])
//   dlosses                 [rows]            gradient of each row's loss
//
// Row kernels run one work-group of SOFTMAX_WG work-items per row (global = rows·SOFTMAX_WG).
// Each work-item folds columns lid, lid + SOFTMAX_WG, … in order into a private partial, and a
// local-memory tree combines the partials in a fixed order: the same inputs give the same bits
// on every run. All arithmetic is float32, with the row maximum subtracted before exp.
//
// A target outside [0, columns) that is not ignore_index is the caller's error (the reference
// device throws); these kernels then write NaN for that row rather than read out of bounds.

#ifndef SOFTMAX_WG
#define SOFTMAX_WG 256 // work-items per row; a power of two
#endif
#ifndef CE_BACKWARD_WG
#define CE_BACKWARD_WG 256 // work-items per work-group along the columns of cross_entropy_backward
#endif

#if (SOFTMAX_WG & (SOFTMAX_WG - 1)) != 0
#error "SOFTMAX_WG must be a power of two"
#endif

// Defines NAME(scratch, value): COMBINE of `value` over the work-group, by a tree in a fixed
// order. Every work-item must call it; every work-item gets the result.
#define DEFINE_GROUP_REDUCTION(NAME, COMBINE)                                  \
    float NAME(__local float* scratch, float value) {                          \
        const int lid = get_local_id(0);                                       \
        scratch[lid] = value;                                                  \
        barrier(CLK_LOCAL_MEM_FENCE);                                          \
        for (int width = SOFTMAX_WG / 2; width > 0; width >>= 1) {                \
            if (lid < width) scratch[lid] = COMBINE(scratch[lid], scratch[lid + width]); \
            barrier(CLK_LOCAL_MEM_FENCE);                                      \
        }                                                                      \
        const float result = scratch[0];                                       \
        barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */ \
        return result;                                                         \
    }

#define ADD(a, b) ((a) + (b))
DEFINE_GROUP_REDUCTION(group_sum, ADD)
DEFINE_GROUP_REDUCTION(group_max, fmax)

// max over the row.
float row_max(__global const float* row, int columns, __local float* scratch) {
    float partial = -INFINITY;
    for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) partial = fmax(partial, row[c]);
    return group_max(scratch, partial);
}

// Σ exp(row − maximum).
float row_exp_sum(__global const float* row, int columns, float maximum, __local float* scratch) {
    float partial = 0.0f;
    for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) partial += exp(row[c] - maximum);
    return group_sum(scratch, partial);
}

// Σ a over the row.
float row_sum(__global const float* a, int columns, __local float* scratch) {
    float partial = 0.0f;
    for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) partial += a[c];
    return group_sum(scratch, partial);
}

// Σ a⊙b over the row.
float row_dot(__global const float* a, __global const float* b, int columns, __local float* scratch) {
    float partial = 0.0f;
    for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) partial += a[c] * b[c];
    return group_sum(scratch, partial);
}

// y = softmax(x) or, when log_output, log-softmax: (x − max) − log Σ exp(x − max).
__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void softmax_forward(__global const float* x, __global float* y, const int columns, const int log_output) {
    __local float scratch[SOFTMAX_WG];
    const size_t offset = (size_t)get_group_id(0) * columns;
    __global const float* in = x + offset;
    __global float* out = y + offset;
    const float maximum = row_max(in, columns, scratch);
    const float sum = row_exp_sum(in, columns, maximum, scratch);
    if (log_output) {
        const float log_sum = log(sum);
        for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) out[c] = (in[c] - maximum) - log_sum;
    } else {
        for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) out[c] = exp(in[c] - maximum) / sum;
    }
}

// From the output y: dx = y⊙(dy − Σ dy⊙y), or for log-softmax dx = dy − exp(y)·Σ dy.
__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void softmax_backward(__global const float* y, __global const float* dy, __global float* dx,
                      const int columns, const int log_output) {
    __local float scratch[SOFTMAX_WG];
    const size_t offset = (size_t)get_group_id(0) * columns;
    __global const float* out = y + offset;
    __global const float* dout = dy + offset;
    __global float* din = dx + offset;
    if (log_output) {
        const float total = row_sum(dout, columns, scratch);
        for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) din[c] = dout[c] - exp(out[c]) * total;
    } else {
        const float total = row_dot(dout, out, columns, scratch);
        for (int c = get_local_id(0); c < columns; c += SOFTMAX_WG) din[c] = out[c] * (dout[c] - total);
    }
}

// log_sum_exp[row] = max + log Σ exp(logits − max); losses[row] = log_sum_exp − logits[target],
// or 0 when the target is ignore_index.
__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void cross_entropy_forward(__global const float* logits, __global const int* targets, __global float* losses,
                           __global float* log_sum_exp, const int columns, const int ignore_index) {
    __local float scratch[SOFTMAX_WG];
    const int row = get_group_id(0);
    __global const float* scores = logits + (size_t)row * columns;
    const float maximum = row_max(scores, columns, scratch);
    const float sum = row_exp_sum(scores, columns, maximum, scratch);
    if (get_local_id(0) == 0) {
        const float lse = maximum + log(sum);
        const int target = targets[row];
        log_sum_exp[row] = lse;
        losses[row] = target == ignore_index ? 0.0f
                    : (target >= 0 && target < columns) ? lse - scores[target]
                    : NAN;
    }
}

// dlogits = dlosses[row]·(exp(logits − log_sum_exp[row]) − onehot(target)); zero for ignored rows.
// Elementwise: global = (columns rounded up to CE_BACKWARD_WG, rows).
__kernel __attribute__((reqd_work_group_size(CE_BACKWARD_WG, 1, 1)))
void cross_entropy_backward(__global const float* logits, __global const int* targets,
                            __global const float* log_sum_exp, __global const float* dlosses,
                            __global float* dlogits, const int columns, const int ignore_index) {
    const int column = get_global_id(0);
    const int row = get_global_id(1);
    if (column >= columns) return;
    const size_t i = (size_t)row * columns + column;
    const int target = targets[row];
    float gradient;
    if (target == ignore_index) {
        gradient = 0.0f;
    } else if (target < 0 || target >= columns) {
        gradient = NAN;
    } else {
        const float one_hot = column == target ? 1.0f : 0.0f;
        gradient = dlosses[row] * (exp(logits[i] - log_sum_exp[row]) - one_hot);
    }
    dlogits[i] = gradient;
}
