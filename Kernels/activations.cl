// activations.cl: elementwise functions of one operand (UnaryOp), their gradients, and dropout.
//
// Swift reference: Sources/ReferenceDevice/Reference+Elementwise.swift (unary, unaryBackward,
// dropout, and the element functions `apply(_:_:)` and `derivative(_:_:)`).
// Host side: Sources/OpenCLDevice/OpenCL+Elementwise.swift.
//
// Buffers: x, dy, dx, out are float32 arrays of `count` elements; outputs may be the inputs'
// buffers. Each work-item handles one float4 chunk (elements 4c … 4c+3, fewer at the end);
// global size ⌈count/4⌉ rounded up to the local size.
//
// `op`, `p0`, `p1` come from `UnaryOp.code` (Sources/Core/ElementwiseOps.swift):
//   0 negate  1 exp  2 log  3 sqrt  4 tanh  5 sigmoid  6 logSigmoid  7 gelu (tanh form)
//   8 silu  9 relu  10 scale(p0)  11 addScalar(p0)  12 clamp(p0, p1)  13 square
// UNARY_OP (defined by the host per operation) lets the compiler drop the switch, which
// otherwise costs PoCL its vectorization; without it the kernels read the `op` argument.
//
// Dropout's mask is `dropout_uniform`, the twin of `DropoutMask.uniform` in
// Sources/Core/DropoutMask.swift: keep the two bit-identical.

#ifndef UNARY_OP
#define UNARY_OP op
#endif

// √(2/π) and the cubic coefficient of GELU's tanh form.
#define GELU_SCALE 0.7978845608028654f
#define GELU_CUBIC 0.044715f

// σ(x) = 1/(1 + e^−x); exp overflowing to +inf for very negative x still gives the right 0.
float4 sigmoid4(float4 x) { return 1.0f / (1.0f + exp(-x)); }

// tanh(x), exactly ±1 where the true value rounds to ±1 (|x| > 9.1): some devices' tanh stops one
// step short of 1 (PoCL: 0.99999994 even at ∞), which would make tanh′(±∞) = 1 − t² positive
// instead of 0, and ∞·tanh′(±∞) infinite instead of NaN.
float4 tanh_saturated(float4 x) {
    return select(tanh(x), copysign((float4)(1.0f), x), isgreater(fabs(x), (float4)(10.0f)));
}

// GELU's inner argument u = √(2/π)·(x + 0.044715·x³).
float4 gelu_inner(float4 x) { return GELU_SCALE * (x + GELU_CUBIC * x * x * x); }

float4 unary_apply(int op, float4 x, float p0, float p1) {
    switch (op) {
    case 0: return -x;
    case 1: return exp(x);
    case 2: return log(x);
    case 3: return sqrt(x);
    case 4: return tanh_saturated(x);
    case 5: return sigmoid4(x);
    case 6: return fmin(x, 0.0f) - log1p(exp(-fabs(x)));
    // 0.5·x·(1 + tanh u) = x·σ(2u): the same function, without tanh's cancellation for x < 0.
    case 7: return x * sigmoid4(2.0f * gelu_inner(x));
    case 8: return x * sigmoid4(x);
    // Swift's max(x, 0) and min(max(x, lo), hi) (NaN stays NaN, unlike fmax/fmin).
    case 9: return select(x, (float4)(0.0f), isgreaterequal((float4)(0.0f), x));
    case 10: return x * p0;
    case 11: return x + p0;
    case 12: {
        float4 low = select(x, (float4)(p0), isgreaterequal((float4)(p0), x));
        return select(low, (float4)(p1), isless((float4)(p1), low));
    }
    default: return x * x;
    }
}

// f′(x) for the same codes (relu: 1 where x > 0; clamp: 1 inside [p0, p1] inclusive).
float4 unary_derivative(int op, float4 x, float p0, float p1) {
    switch (op) {
    case 0: return (float4)(-1.0f);
    case 1: return exp(x);
    case 2: return 1.0f / x;
    case 3: return 0.5f / sqrt(x);
    case 4: { float4 t = tanh_saturated(x); return 1.0f - t * t; }
    case 5: { float4 s = sigmoid4(x); return s * (1.0f - s); }
    case 6: return sigmoid4(-x);
    // With t = tanh u = 2σ(2u) − 1: 0.5·(1 + t) + 0.5·x·(1 − t²)·u′ = s + 2·x·s·(1 − s)·u′, s = σ(2u).
    case 7: {
        float4 s = sigmoid4(2.0f * gelu_inner(x));
        float4 slope = GELU_SCALE * (1.0f + 3.0f * GELU_CUBIC * x * x);
        return s + 2.0f * x * s * (1.0f - s) * slope;
    }
    case 8: { float4 s = sigmoid4(x); return s * (1.0f + x * (1.0f - s)); }
    case 9: return select((float4)(0.0f), (float4)(1.0f), isgreater(x, (float4)(0.0f)));
    case 10: return (float4)(p0);
    case 11: return (float4)(1.0f);
    case 12: {
        int4 inside = isgreaterequal(x, (float4)(p0)) & islessequal(x, (float4)(p1));
        return select((float4)(0.0f), (float4)(1.0f), inside);
    }
    default: return 2.0f * x;
    }
}

// Up to four contiguous elements from p (missing ones read as `pad`).
float4 load_chunk(__global const float* p, int length, float pad) {
    if (length == 4) return vload4(0, p);
    float4 v = (float4)(pad);
    v.x = p[0];
    if (length > 1) v.y = p[1];
    if (length > 2) v.z = p[2];
    return v;
}

// The first `length` (1…4) elements of v, stored at p.
void store_chunk(float4 v, __global float* p, int length) {
    if (length == 4) { vstore4(v, 0, p); return; }
    p[0] = v.x;
    if (length > 1) p[1] = v.y;
    if (length > 2) p[2] = v.z;
}

// out = f(x).
__kernel void unary(__global const float* x, __global float* out, int count, int op, float p0, float p1) {
    int chunk = get_global_id(0);
    if (chunk * 4 >= count) return;
    int length = min(4, count - chunk * 4);
    // Padding lanes with 1 keeps log, sqrt and division finite in lanes that are never stored.
    store_chunk(unary_apply(UNARY_OP, load_chunk(x + chunk * 4, length, 1.0f), p0, p1), out + chunk * 4, length);
}

// dx = dy·f′(x).
__kernel void unary_backward(
    __global const float* x, __global const float* dy, __global float* dx, int count, int op, float p0, float p1)
{
    int chunk = get_global_id(0);
    if (chunk * 4 >= count) return;
    int length = min(4, count - chunk * 4);
    float4 slope = unary_derivative(UNARY_OP, load_chunk(x + chunk * 4, length, 1.0f), p0, p1);
    store_chunk(load_chunk(dy + chunk * 4, length, 0.0f) * slope, dx + chunk * 4, length);
}

// ---------------------------------------------------------------------------------------------
// Dropout. The hash is lowbias32 (Chris Wellons) of the index mixed with the seed's halves;
// uint arithmetic wraps modulo 2³², exactly like Swift's &+ and &*.

uint4 dropout_hash(uint seed_low, uint seed_high, uint4 index) {
    uint4 x = index + seed_low * 0x9E3779B9u;
    x ^= seed_high * 0x85EBCA6Bu;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

// Uniform in [0, 1) with 24 random bits: exact in float, so comparisons match Swift bit for bit.
float4 dropout_uniform(uint seed_low, uint seed_high, uint4 index) {
    return convert_float4(dropout_hash(seed_low, seed_high, index) >> 8) * (1.0f / 16777216.0f);
}

// out[i] = x[i]·scale where dropout_uniform(seed, i) ≥ probability, else 0; scale = 1/(1 − p).
__kernel void dropout(
    __global const float* x, __global float* out, int count, float probability, float scale,
    uint seed_low, uint seed_high)
{
    int chunk = get_global_id(0);
    if (chunk * 4 >= count) return;
    int length = min(4, count - chunk * 4);
    uint4 index = (uint)(chunk * 4) + (uint4)(0, 1, 2, 3);
    int4 keep = isgreaterequal(dropout_uniform(seed_low, seed_high, index), (float4)(probability));
    // select, not a multiply by 0, so that dropped inf or NaN inputs still give 0.
    float4 y = select((float4)(0.0f), load_chunk(x + chunk * 4, length, 0.0f) * scale, keep);
    store_chunk(y, out + chunk * 4, length);
}
