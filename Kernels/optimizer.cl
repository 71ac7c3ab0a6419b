// optimizer.cl: one fused AdamW update (torch.optim.AdamW's single-tensor formula) over flat
// buffers. Matches Sources/ReferenceDevice/Reference+Optimizer.swift (ReferenceDevice.adamW) and
// the formula documented in Sources/Core/AdamWStep.swift.
//
// Buffers (contiguous, float32, `count` elements each, updated in place except gradients):
//   parameters θ, gradients g, first_moment m, second_moment v
// Elements [0, decay_count) get weight decay, the rest none. The host passes the per-step
// scalars: decay_factor = 1 − lr·wd, step_size = lr/(1 − β₁ᵗ), bias_correction2_sqrt = √(1 − β₂ᵗ).
//
// Work-item i updates elements ADAMW_VEC·i … ADAMW_VEC·i + ADAMW_VEC − 1 with vector loads and
// stores (global = ⌈count/ADAMW_VEC⌉ rounded up to ADAMW_WG); the last work-item finishes a
// count that is not a multiple of ADAMW_VEC one element at a time. The kernel is memory bound:
// 16 bytes read and 12 written per element. float8 lets PoCL use SIMD for √ and ÷ on a CPU; a
// GPU coalesces one float per work-item best.

// Keep a·b + c as two roundings, as PyTorch's CPU kernels and the Swift reference compute it.
#pragma OPENCL FP_CONTRACT OFF

#ifndef ADAMW_WG
#define ADAMW_WG 256 // work-items per work-group
#endif
#ifndef ADAMW_VEC
#define ADAMW_VEC 1 // elements per work-item: 1 or 8
#endif

// floatv holds ADAMW_VEC floats and intv as many ints; load_v/store_v are vloadn/vstoren;
// LANES numbers the elements of a vector.
#if ADAMW_VEC == 1
typedef float floatv;
typedef int intv;
#define load_v(i, p) ((p)[i])
#define store_v(value, i, p) ((p)[i] = (value))
#define LANES 0
#elif ADAMW_VEC == 8
typedef float8 floatv;
typedef int8 intv;
#define load_v vload8
#define store_v vstore8
#define LANES ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#else
#error "ADAMW_VEC must be 1 or 8"
#endif

// One AdamW update of p, m, v (float or float4 alike), in PyTorch's order of operations:
// θ·decay; m.lerp_(g, 1 − β₁); v·β₂ + (1 − β₂)·g·g; θ − step_size·(m / (√v / √(1 − β₂ᵗ) + ε)).
#define ADAMW_UPDATE(p, g, m, v, decay)                                              \
    do {                                                                             \
        p = p * (decay);                                                             \
        m = m + (1.0f - beta1) * (g - m);                                            \
        v = v * beta2 + (1.0f - beta2) * g * g;                                      \
        p = p - step_size * (m / (sqrt(v) / bias_correction2_sqrt + epsilon));       \
    } while (0)

__kernel __attribute__((reqd_work_group_size(ADAMW_WG, 1, 1)))
void adamw_step(__global float* parameters, __global const float* gradients,
                __global float* first_moment, __global float* second_moment,
                const int count, const int decay_count, const float decay_factor,
                const float beta1, const float beta2, const float epsilon,
                const float step_size, const float bias_correction2_sqrt) {
    const int vector = get_global_id(0);
    const int first = vector * ADAMW_VEC;
    if (first + ADAMW_VEC <= count) {
        floatv p = load_v(vector, parameters);
        const floatv g = load_v(vector, gradients);
        floatv m = load_v(vector, first_moment);
        floatv v = load_v(vector, second_moment);
        const floatv decay = select((floatv)(1.0f), (floatv)(decay_factor), (intv)(first) + LANES < (intv)(decay_count));
        ADAMW_UPDATE(p, g, m, v, decay);
        store_v(p, vector, parameters);
        store_v(m, vector, first_moment);
        store_v(v, vector, second_moment);
    } else {
        for (int i = first; i < count; ++i) {
            float p = parameters[i];
            const float g = gradients[i];
            float m = first_moment[i];
            float v = second_moment[i];
            ADAMW_UPDATE(p, g, m, v, i < decay_count ? decay_factor : 1.0f);
            parameters[i] = p;
            first_moment[i] = m;
            second_moment[i] = v;
        }
    }
}
