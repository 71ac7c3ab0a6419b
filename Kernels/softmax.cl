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
//   errors                  int32 [6]         where a target outside the row is reported
//
// Row kernels run one work-group of SOFTMAX_WG work-items per row (global = rows·SOFTMAX_WG).
// A row is read as columns/SOFTMAX_VEC vectors of SOFTMAX_VEC floats, which work-item lid visits
// as lid, lid + SOFTMAX_WG, …, plus fewer than SOFTMAX_VEC leftover columns, one each for the
// first work-items. Each work-item folds its share into a private partial in that order (vector
// lanes combined in a fixed order), and a local-memory tree combines the partials in a fixed
// order: the same inputs give the same bits on every run. All arithmetic is float32, with the
// row maximum subtracted before exp. Vectors matter on CPUs (PoCL), where float8 turns exp into
// SIMD code; GPUs read one float per work-item, which coalesces.
//
// A target outside [0, columns) that is not ignore_index is the caller's error (the reference
// device throws); these kernels then write NaN for that row rather than read out of bounds, and
// report it, which the host turns into the reference's error (OpenCL+IDErrors.swift).

#ifndef SOFTMAX_WG
#define SOFTMAX_WG 256 // work-items per row; a power of two, at least SOFTMAX_VEC
#endif
#ifndef SOFTMAX_VEC
#define SOFTMAX_VEC 1 // floats per vector: 1 or 8
#endif
#ifndef CE_BACKWARD_WG
#define CE_BACKWARD_WG 256 // work-items per work-group of cross_entropy_backward, SOFTMAX_VEC columns each
#endif

#if (SOFTMAX_WG & (SOFTMAX_WG - 1)) != 0 || SOFTMAX_WG < SOFTMAX_VEC
#error "SOFTMAX_WG must be a power of two and at least SOFTMAX_VEC"
#endif

// floatv holds SOFTMAX_VEC floats; load_v/store_v are vloadn/vstoren; sum_v and max_v combine its
// lanes in a fixed order.
#if SOFTMAX_VEC == 1
typedef float floatv;
#define load_v(i, p) ((p)[i])
#define store_v(value, i, p) ((p)[i] = (value))
float sum_v(float v) { return v; }
float max_v(float v) { return v; }
#elif SOFTMAX_VEC == 8
typedef float8 floatv;
#define load_v vload8
#define store_v vstore8
float sum_v(float8 v) { const float4 s = v.lo + v.hi; return (s.x + s.y) + (s.z + s.w); }
float max_v(float8 v) { const float4 m = fmax(v.lo, v.hi); return fmax(fmax(m.x, m.y), fmax(m.z, m.w)); }
#else
#error "SOFTMAX_VEC must be 1 or 8"
#endif

// Defines NAME(scratch, value): COMBINE of `value` over the work-group, by a tree in a fixed
// order. Every work-item must call it; every work-item gets the result.
#define DEFINE_GROUP_REDUCTION(NAME, COMBINE)                                            \
    float NAME(__local float* scratch, float value) {                                    \
        const int lid = get_local_id(0);                                                 \
        scratch[lid] = value;                                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                                    \
        for (int width = SOFTMAX_WG / 2; width > 0; width >>= 1) {                       \
            if (lid < width) scratch[lid] = COMBINE(scratch[lid], scratch[lid + width]); \
            barrier(CLK_LOCAL_MEM_FENCE);                                                \
        }                                                                                \
        const float result = scratch[0];                                                 \
        barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */           \
        return result;                                                                   \
    }

#define ADD(a, b) ((a) + (b))
DEFINE_GROUP_REDUCTION(group_sum, ADD)
DEFINE_GROUP_REDUCTION(group_max, fmax)

// The index of the first leftover column this work-item owns (valid when < columns).
#define LEFTOVER_COLUMN(columns) ((columns) / SOFTMAX_VEC * SOFTMAX_VEC + (int)get_local_id(0))

// ROW_SUM and ROW_MAP walk this work-item's share of rows a and b (see the header) and apply
// TERM(x, y, k): an expression of same-column values x of a and y of b and a row constant k,
// written so that it holds for float and floatv alike.

// total = Σ TERM over the share.
#define ROW_SUM(total, TERM, a, b, k, columns)                                               \
    do {                                                                                     \
        floatv lanes_ = (floatv)(0.0f);                                                      \
        for (int v_ = get_local_id(0); v_ < (columns) / SOFTMAX_VEC; v_ += SOFTMAX_WG)       \
            lanes_ += TERM(load_v(v_, a), load_v(v_, b), k);                                 \
        total = sum_v(lanes_);                                                               \
        const int c_ = LEFTOVER_COLUMN(columns);                                             \
        if (c_ < (columns)) total += TERM((a)[c_], (b)[c_], k);                              \
    } while (0)

// out = TERM over the share. The leftover column index is clamped into the row, so that no store
// leaves the row even where a compiler wrongly treats the guard as the same for every work-item
// (PoCL 3.1 did, see softmax_backward); the guard still keeps each column to one writer.
#define ROW_MAP(out, TERM, a, b, k, columns)                                                 \
    do {                                                                                     \
        for (int v_ = get_local_id(0); v_ < (columns) / SOFTMAX_VEC; v_ += SOFTMAX_WG)       \
            store_v(TERM(load_v(v_, a), load_v(v_, b), k), v_, out);                         \
        const int c_ = min(LEFTOVER_COLUMN(columns), (columns) - 1);                         \
        if (LEFTOVER_COLUMN(columns) < (columns)) (out)[c_] = TERM((a)[c_], (b)[c_], k);     \
    } while (0)

#define TERM_SHIFTED_EXP(x, y, maximum) exp((x) - (maximum))
#define TERM_VALUE(x, y, unused) (x)
#define TERM_PRODUCT(x, y, unused) ((x) * (y))
// k = (max, Σ exp(x − max)).
#define TERM_SOFTMAX(x, y, k) (exp((x) - (k).s0) / (k).s1)
// k = (max, log Σ exp(x − max)).
#define TERM_LOG_SOFTMAX(x, y, k) (((x) - (k).s0) - (k).s1)
// x = dy, y = softmax output, k = Σ dy⊙y.
#define TERM_SOFTMAX_GRADIENT(x, y, k) ((y) * ((x) - (k)))
// x = dy, y = log-softmax output, k = Σ dy.
#define TERM_LOG_SOFTMAX_GRADIENT(x, y, k) ((x) - exp(y) * (k))

// Records that the target of `row` is outside [0, columns) for the host, which throws it at its
// next read: errors = [found, operation, row, target, columns, ignore_index]. The first report
// claims the record, so it stays whole.
void report_bad_target(__global int* errors, int operation, int row, int target, int columns, int ignore_index) {
    if (atomic_cmpxchg((volatile __global int*)errors, 0, 1) != 0) return;
    errors[1] = operation;
    errors[2] = row;
    errors[3] = target;
    errors[4] = columns;
    errors[5] = ignore_index;
}

// The row maximum, over the work-group.
float row_max(__global const float* row, int columns, __local float* scratch) {
    floatv lanes = (floatv)(-INFINITY);
    for (int v = get_local_id(0); v < columns / SOFTMAX_VEC; v += SOFTMAX_WG) lanes = fmax(lanes, load_v(v, row));
    float partial = max_v(lanes);
    const int c = LEFTOVER_COLUMN(columns);
    if (c < columns) partial = fmax(partial, row[c]);
    return group_max(scratch, partial);
}

// (max, Σ exp(row − max)) over the work-group.
float2 row_max_and_exp_sum(__global const float* row, int columns, __local float* scratch) {
    const float maximum = row_max(row, columns, scratch);
    float partial;
    ROW_SUM(partial, TERM_SHIFTED_EXP, row, row, maximum, columns);
    return (float2)(maximum, group_sum(scratch, partial));
}

// y = softmax(x) or, when log_output, log-softmax: (x − max) − log Σ exp(x − max).
__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void softmax_forward(__global const float* x, __global float* y, const int columns, const int log_output) {
    __local float scratch[SOFTMAX_WG];
    const size_t offset = (size_t)get_group_id(0) * columns;
    __global const float* in = x + offset;
    __global float* out = y + offset;
    const float2 stats = row_max_and_exp_sum(in, columns, scratch);
    if (log_output) {
        ROW_MAP(out, TERM_LOG_SOFTMAX, in, in, (float2)(stats.x, log(stats.y)), columns);
    } else {
        ROW_MAP(out, TERM_SOFTMAX, in, in, stats, columns);
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
    // group_sum's barriers stay outside the branches on log_output: PoCL 3.1 compiles a branch
    // with barriers in it so that the leftover-column guard of the ROW_MAP after it is taken to be
    // the same for every work-item, and the work-items past the row's end then write into the
    // next row (a race with that row's work-group) or past the buffer.
    float partial;
    if (log_output) {
        ROW_SUM(partial, TERM_VALUE, dout, dout, 0.0f, columns);
    } else {
        ROW_SUM(partial, TERM_PRODUCT, dout, out, 0.0f, columns);
    }
    const float total = group_sum(scratch, partial);
    if (log_output) {
        ROW_MAP(din, TERM_LOG_SOFTMAX_GRADIENT, dout, out, total, columns);
    } else {
        ROW_MAP(din, TERM_SOFTMAX_GRADIENT, dout, out, total, columns);
    }
}

// log_sum_exp[row] = max + log Σ exp(logits − max); losses[row] = log_sum_exp − logits[target],
// or 0 when the target is ignore_index.
__kernel __attribute__((reqd_work_group_size(SOFTMAX_WG, 1, 1)))
void cross_entropy_forward(__global const float* logits, __global const int* targets, __global float* losses,
                           __global float* log_sum_exp, const int columns, const int ignore_index,
                           __global int* errors, const int operation) {
    __local float scratch[SOFTMAX_WG];
    const int row = get_group_id(0);
    __global const float* scores = logits + (size_t)row * columns;
    const float2 stats = row_max_and_exp_sum(scores, columns, scratch);
    if (get_local_id(0) == 0) {
        const float lse = stats.x + log(stats.y);
        const int target = targets[row];
        const bool valid = target == ignore_index || (target >= 0 && target < columns);
        if (!valid) report_bad_target(errors, operation, row, target, columns, ignore_index);
        log_sum_exp[row] = lse;
        losses[row] = !valid ? NAN : target == ignore_index ? 0.0f : lse - scores[target];
    }
}

// dlogits = dlosses[row]·(exp(logits − log_sum_exp[row]) − onehot(target)); zero for ignored rows.
// dlogits may alias logits (each work-item reads its columns before it writes them).
// Work-item (v, row) writes columns v·SOFTMAX_VEC … v·SOFTMAX_VEC + SOFTMAX_VEC − 1 of the row:
// global = (⌈columns/SOFTMAX_VEC⌉ rounded up to CE_BACKWARD_WG, rows).
__kernel __attribute__((reqd_work_group_size(CE_BACKWARD_WG, 1, 1)))
void cross_entropy_backward(__global const float* logits, __global const int* targets,
                            __global const float* log_sum_exp, __global const float* dlosses,
                            __global float* dlogits, const int columns, const int ignore_index,
                            __global int* errors, const int operation) {
    const int v = get_global_id(0);
    const int row = get_global_id(1);
    const int first = v * SOFTMAX_VEC;
    if (first >= columns) return;
    __global const float* scores = logits + (size_t)row * columns;
    __global float* gradients = dlogits + (size_t)row * columns;
    const int target = targets[row];
    const bool ignored = target == ignore_index;
    const bool valid = ignored || (target >= 0 && target < columns);
    if (!valid && v == 0) report_bad_target(errors, operation, row, target, columns, ignore_index);
    const float scale = valid ? dlosses[row] : NAN;
    const float lse = log_sum_exp[row];
    // The work-item that owns the target column subtracts the one-hot term there. It reads the
    // target's logit before writing anything, so dlogits may be the logits buffer itself.
    const bool owns_target = !ignored && valid && target >= first && target < first + SOFTMAX_VEC;
    const float target_gradient = owns_target ? scale * (exp(scores[target] - lse) - 1.0f) : 0.0f;
    if (first + SOFTMAX_VEC <= columns) {
        store_v(ignored ? (floatv)(0.0f) : scale * exp(load_v(v, scores) - lse), v, gradients);
    } else {
        for (int c = first; c < columns; ++c) gradients[c] = ignored ? 0.0f : scale * exp(scores[c] - lse);
    }
    if (owns_target) gradients[target] = target_gradient;
}
