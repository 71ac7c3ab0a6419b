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
// as lid, lid + SOFTMAX_WG, …, plus fewer than SOFTMAX_VEC leftover columns, dealt out the same
// way. Each work-item folds its share into a private partial in that order (vector
// lanes combined in a fixed order), and a local-memory tree combines the partials in a fixed
// order: the same inputs give the same bits on every run. All arithmetic is float32, with the
// row maximum subtracted before exp. Vectors matter on CPUs (PoCL), where float8 runs as SIMD
// code; GPUs read one float per work-item, which coalesces. A CPU does best with one work-item
// per row (SOFTMAX_WG 1): it then streams the row from start to end.
//
// exp is this file's own (exp_v, exp_s below), in plain arithmetic: PoCL's vector exp calls a
// library routine per lane, which made cross-entropy run at a fifth of copy bandwidth.
//
// A target outside [0, columns) that is not ignore_index is the caller's error (the reference
// device throws); these kernels then write NaN for that row rather than read out of bounds, and
// report it, which the host turns into the reference's error (OpenCL+IDErrors.swift).

#ifndef SOFTMAX_WG
#define SOFTMAX_WG 256 // work-items per row; a power of two
#endif
#ifndef SOFTMAX_VEC
#define SOFTMAX_VEC 1 // floats per vector: 1, 8 or 16
#endif
#ifndef CE_BACKWARD_WG
#define CE_BACKWARD_WG 256 // work-items per work-group of cross_entropy_backward, SOFTMAX_VEC columns each
#endif

#if (SOFTMAX_WG & (SOFTMAX_WG - 1)) != 0
#error "SOFTMAX_WG must be a power of two"
#endif

// Defines T NAME(T x) = e^x for float or a float vector T (INT_T: the int type of the same
// width), within 1.24 ulp of the exact value where the result is a normal float (measured by
// scripts/fit_exp.py). Meant for x ≤ 0, as every argument here is (x − max, x − log Σ exp, a
// log-probability): below −87.3 it gives 0 (e^x is then subnormal or 0), above 88.3 +∞ (so it
// also holds up to 88.3); NaN stays NaN; e^0 is exactly 1.
// Method: x = n·ln 2 + r with integer n and |r| ≤ ln 2 / 2 (Cody and Waite's reduction: ln 2 split
// into 0.693359375, exact in a few bits, and the small rest, so that n·0.693359375 is exact);
// e^r = 1 + r + r²·q(r) with q a degree-5 polynomial fitted to (e^r − 1 − r)/r² on that interval
// by scripts/fit_exp.py; 2^n goes into the exponent bits. n is rounded by adding 1.5·2²³, whose
// float spacing is 1, and read back from the sum's low bits, rather than by rint, which PoCL
// compiles as a library call per lane.
#define DEFINE_EXP(NAME, T, INT_T)                                                        \
    T NAME(T x) {                                                                         \
        const T shifter = (T)(12582912.0f);                                               \
        const T shifted = fma(x, (T)(1.44269504088896341f), shifter);                     \
        const T n = shifted - shifter;                                                    \
        const T r = fma(n, (T)(2.12194442e-4f), fma(n, (T)(-0.693359375f), x));           \
        T q = (T)(1.97903530e-4f);                                                        \
        q = fma(q, r, (T)(1.39446487e-3f));                                               \
        q = fma(q, r, (T)(8.33349675e-3f));                                               \
        q = fma(q, r, (T)(4.16662954e-2f));                                               \
        q = fma(q, r, (T)(1.66666657e-1f));                                               \
        q = fma(q, r, (T)(0.5f));                                                         \
        const T er = fma(q * r, r, r + (T)(1.0f));                                        \
        const T two_to_n = as_##T((as_##INT_T(shifted) - as_##INT_T(shifter) + 127) << 23); \
        const T result = select(er * two_to_n, (T)(0.0f), as_##INT_T(x < (T)(-87.3f)));   \
        return select(result, (T)(INFINITY), as_##INT_T(x > (T)(88.3f)));                 \
    }

// floatv holds SOFTMAX_VEC floats; load_v/store_v are vloadn/vstoren; sum_v and max_v combine its
// lanes in a fixed order; exp_v is e^x for floatv, exp_s for float.
DEFINE_EXP(exp_s, float, int)
float sum_v8(float8 v) { const float4 s = v.lo + v.hi; return (s.x + s.y) + (s.z + s.w); }
float max_v8(float8 v) { const float4 m = fmax(v.lo, v.hi); return fmax(fmax(m.x, m.y), fmax(m.z, m.w)); }
#if SOFTMAX_VEC == 1
DEFINE_EXP(exp_v, float, int)
typedef float floatv;
#define load_v(i, p) ((p)[i])
#define store_v(value, i, p) ((p)[i] = (value))
float sum_v(float v) { return v; }
float max_v(float v) { return v; }
#elif SOFTMAX_VEC == 8
DEFINE_EXP(exp_v, float8, int8)
typedef float8 floatv;
#define load_v vload8
#define store_v vstore8
float sum_v(float8 v) { return sum_v8(v); }
float max_v(float8 v) { return max_v8(v); }
#elif SOFTMAX_VEC == 16
DEFINE_EXP(exp_v, float16, int16)
typedef float16 floatv;
#define load_v vload16
#define store_v vstore16
float sum_v(float16 v) { return sum_v8(v.lo + v.hi); }
float max_v(float16 v) { return max_v8(fmax(v.lo, v.hi)); }
#else
#error "SOFTMAX_VEC must be 1, 8 or 16"
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

// The first leftover column this work-item owns; it owns every SOFTMAX_WG-th one from there.
#define LEFTOVER_COLUMN(columns) ((columns) / SOFTMAX_VEC * SOFTMAX_VEC + (int)get_local_id(0))

// ROW_SUM and ROW_MAP walk this work-item's share of rows a and b (see the header) and apply
// TERM(x, y, k, EXP): an expression of same-column values x of a and y of b and a row constant k,
// written so that it holds for float and floatv alike, with EXP the exp for their type.

// total = Σ TERM over the share.
#define ROW_SUM(total, TERM, a, b, k, columns)                                               \
    do {                                                                                     \
        floatv lanes_ = (floatv)(0.0f);                                                      \
        for (int v_ = get_local_id(0); v_ < (columns) / SOFTMAX_VEC; v_ += SOFTMAX_WG)       \
            lanes_ += TERM(load_v(v_, a), load_v(v_, b), k, exp_v);                          \
        total = sum_v(lanes_);                                                               \
        for (int c_ = LEFTOVER_COLUMN(columns); c_ < (columns); c_ += SOFTMAX_WG)            \
            total += TERM((a)[c_], (b)[c_], k, exp_s);                                       \
    } while (0)

// out = TERM over the share. The leftover column index is clamped into the row, so that no store
// leaves the row even where a compiler wrongly treats the loop's guard as the same for every
// work-item (PoCL 3.1 did, see softmax_backward): a stray store then writes the last column's own
// value again.
#define ROW_MAP(out, TERM, a, b, k, columns)                                                 \
    do {                                                                                     \
        for (int v_ = get_local_id(0); v_ < (columns) / SOFTMAX_VEC; v_ += SOFTMAX_WG)       \
            store_v(TERM(load_v(v_, a), load_v(v_, b), k, exp_v), v_, out);                  \
        for (int c_ = LEFTOVER_COLUMN(columns); c_ < (columns); c_ += SOFTMAX_WG) {          \
            const int i_ = min(c_, (columns) - 1);                                           \
            (out)[i_] = TERM((a)[i_], (b)[i_], k, exp_s);                                    \
        }                                                                                    \
    } while (0)

#define TERM_SHIFTED_EXP(x, y, maximum, EXP) EXP((x) - (maximum))
#define TERM_VALUE(x, y, unused, EXP) (x)
#define TERM_PRODUCT(x, y, unused, EXP) ((x) * (y))
// k = (max, Σ exp(x − max)).
#define TERM_SOFTMAX(x, y, k, EXP) (EXP((x) - (k).s0) / (k).s1)
// k = (max, log Σ exp(x − max)).
#define TERM_LOG_SOFTMAX(x, y, k, EXP) (((x) - (k).s0) - (k).s1)
// x = dy, y = softmax output, k = Σ dy⊙y.
#define TERM_SOFTMAX_GRADIENT(x, y, k, EXP) ((y) * ((x) - (k)))
// x = dy, y = log-softmax output, k = Σ dy.
#define TERM_LOG_SOFTMAX_GRADIENT(x, y, k, EXP) ((x) - EXP(y) * (k))

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
    for (int c = LEFTOVER_COLUMN(columns); c < columns; c += SOFTMAX_WG) partial = fmax(partial, row[c]);
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
    const float target_gradient = owns_target ? scale * (exp_s(scores[target] - lse) - 1.0f) : 0.0f;
    if (first + SOFTMAX_VEC <= columns) {
        store_v(ignored ? (floatv)(0.0f) : scale * exp_v(load_v(v, scores) - lse), v, gradients);
    } else {
        for (int c = first; c < columns; ++c) gradients[c] = ignored ? 0.0f : scale * exp_s(scores[c] - lse);
    }
    if (owns_target) gradients[target] = target_gradient;
}
