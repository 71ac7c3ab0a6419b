// embedding.cl: embedding lookup, its gradient, and rotary position embedding (RoPE).
//
// Swift reference: Sources/ReferenceDevice/Reference+Embedding.swift (embedding,
// embeddingBackward, rope). Host side: Sources/OpenCLDevice/OpenCL+Embedding.swift.
//
// Buffers (float32 unless noted, row-major):
//   table  [rows, dimension]          dTable [rows, dimension]
//   ids    [count] int32              out, dOut [count, dimension]
//   links  [2·count] int32 scratch: links[i] = the next token j > i with ids[j] = ids[i], or −1;
//          links[count + i] = 1 when token i is the first with its id, else 0.
//   x, out [tokens, heads, headDim]   positions [tokens] int32   invFrequencies [headDim/2]
//   errors [6] int32                  where an id outside [0, rows) is reported (report_bad_id)
//
// Ids outside [0, rows) are the caller's error (the reference throws): the lookup writes a NaN
// row for them and the gradient skips them, so a bad id never touches foreign memory, and both
// report it, which the host turns into the reference's error (OpenCL+IDErrors.swift).
// The gradient sums each row's tokens in increasing token order, without atomics: the same
// bits on every run, and equal to the reference's sequential sum.

// ---------------------------------------------------------------------------------------------
// Helpers (columns are handled in float4 chunks: c = 4·chunk … 4·chunk + 3, fewer at the end).

float4 load_columns(__global const float* p, int length) {
    if (length == 4) return vload4(0, p);
    float4 v = (float4)(0.0f);
    v.x = p[0];
    if (length > 1) v.y = p[1];
    if (length > 2) v.z = p[2];
    return v;
}

void store_columns(float4 v, __global float* p, int length) {
    if (length == 4) { vstore4(v, 0, p); return; }
    p[0] = v.x;
    if (length > 1) p[1] = v.y;
    if (length > 2) p[2] = v.z;
}

// Records that ids[position] = id is outside [0, rows) for the host, which throws it at its next
// read: errors = [found, operation, position, id, rows, 0]. The first report claims the record,
// so it stays whole.
void report_bad_id(__global int* errors, int operation, int position, int id, int rows) {
    if (atomic_cmpxchg((volatile __global int*)errors, 0, 1) != 0) return;
    errors[1] = operation;
    errors[2] = position;
    errors[3] = id;
    errors[4] = rows;
    errors[5] = 0;
}

// ---------------------------------------------------------------------------------------------
// out[t] = table[ids[t]], NaN for a bad id. Global size: (⌈dimension/4⌉, count), rounded up.

__kernel void embedding(
    __global const float* table, __global const int* ids, __global float* out,
    int count, int dimension, int rows, __global int* errors, int operation)
{
    int chunk = get_global_id(0);
    int t = get_global_id(1);
    if (t >= count || chunk * 4 >= dimension) return;
    int length = min(4, dimension - chunk * 4);
    int id = ids[t];
    bool valid = id >= 0 && id < rows;
    if (!valid && chunk == 0) report_bad_id(errors, operation, t, id, rows);
    float4 v = valid ? load_columns(table + id * dimension + chunk * 4, length) : (float4)(NAN);
    store_columns(v, out + t * dimension + chunk * 4, length);
}

// ---------------------------------------------------------------------------------------------
// embeddingBackward, after dTable is zero-filled: (1) link the tokens that share an id, (2) the
// first token of each id sums its chain and writes the row. O(count²) comparisons and
// O(count·dimension) arithmetic, never O(rows·count).

// Global size: count, rounded up.
__kernel void embedding_links(
    __global const int* ids, __global int* links, int count, int rows, __global int* errors, int operation)
{
    int i = get_global_id(0);
    if (i >= count) return;
    int id = ids[i];
    if (id < 0 || id >= rows) report_bad_id(errors, operation, i, id, rows);
    int first = 1;
    for (int j = i - 1; j >= 0; --j) {
        if (ids[j] == id) { first = 0; break; }
    }
    int next = -1;
    for (int j = i + 1; j < count; ++j) {
        if (ids[j] == id) { next = j; break; }
    }
    links[i] = next;
    links[count + i] = first;
}

// Global size: (⌈dimension/4⌉, count), rounded up.
__kernel void embedding_backward(
    __global const int* ids, __global const int* links, __global const float* dOut, __global float* dTable,
    int count, int dimension, int rows)
{
    int chunk = get_global_id(0);
    int t = get_global_id(1);
    if (t >= count || chunk * 4 >= dimension || !links[count + t]) return;
    int id = ids[t];
    if (id < 0 || id >= rows) return;
    int length = min(4, dimension - chunk * 4);
    float4 sum = load_columns(dOut + t * dimension + chunk * 4, length);
    for (int j = links[t]; j >= 0; j = links[j]) sum += load_columns(dOut + j * dimension + chunk * 4, length);
    store_columns(sum, dTable + id * dimension + chunk * 4, length);
}

// ---------------------------------------------------------------------------------------------
// rope: for each token, head and i < headDim/2, with φ = positions[token]·invFrequencies[i] and
// s = sign·sin φ (sign −1 for the inverse rotation, the backward pass):
//   out[i] = x[i]·cos φ − x[i + halfDim]·s,   out[i + halfDim] = x[i + halfDim]·cos φ + x[i]·s.
// A work-item takes one (token, i) through every head, so each angle's sine and cosine are
// computed once rather than once per head. Each reads its pairs before writing them, so out may
// be x. Global size: (halfDim = headDim/2, tokens), rounded up.

__kernel void rope(
    __global const float* x, __global float* out, __global const int* positions,
    __global const float* invFrequencies, int tokens, int heads, int halfDim, float sign)
{
    int i = get_global_id(0);
    int token = get_global_id(1);
    if (i >= halfDim || token >= tokens) return;
    float angle = (float)positions[token] * invFrequencies[i];
    float cosine = cos(angle);
    float sine = sign * sin(angle);
    for (int head = 0; head < heads; head++) {
        int base = (token * heads + head) * 2 * halfDim + i;
        float first = x[base];
        float second = x[base + halfDim];
        out[base] = first * cosine - second * sine;
        out[base + halfDim] = second * cosine + first * sine;
    }
}
