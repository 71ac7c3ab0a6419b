// optimizer.cl: one fused AdamW update (torch.optim.AdamW's single-tensor formula) over flat
// buffers. Matches Sources/ReferenceDevice/Reference+Optimizer.swift (ReferenceDevice.adamW) and
// the formula documented in Sources/Core/AdamWStep.swift.
//
// Buffers (contiguous, float32, `count` elements each, updated in place except gradients):
//   parameters θ, gradients g, first_moment m, second_moment v
// Elements [0, decay_count) get weight decay, the rest none. The host passes the per-step
// scalars: decay_factor = 1 − lr·wd, step_size = lr/(1 − β₁ᵗ), bias_correction2_sqrt = √(1 − β₂ᵗ).
//
// Work-item i updates elements 4i … 4i + 3 with float4 loads and stores (global = count/4 rounded
// up to ADAMW_WG); the last work-item finishes a count that is not a multiple of 4 one element
// at a time. The kernel is memory bound: 16 bytes read and 12 written per element.

// Keep a·b + c as two roundings, as PyTorch's CPU kernels and the Swift reference compute it.
#pragma OPENCL FP_CONTRACT OFF

#ifndef ADAMW_WG
#define ADAMW_WG 256 // work-items per work-group
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
    const int quad = get_global_id(0);
    const int first = quad * 4;
    if (first + 4 <= count) {
        float4 p = vload4(quad, parameters);
        const float4 g = vload4(quad, gradients);
        float4 m = vload4(quad, first_moment);
        float4 v = vload4(quad, second_moment);
        const int4 index = (int4)(first) + (int4)(0, 1, 2, 3);
        const float4 decay = select((float4)(1.0f), (float4)(decay_factor), index < (int4)(decay_count));
        ADAMW_UPDATE(p, g, m, v, decay);
        vstore4(p, quad, parameters);
        vstore4(m, quad, first_moment);
        vstore4(v, quad, second_moment);
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
