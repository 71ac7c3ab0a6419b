// One work-item runs a loop of `n` iterations (or two nested loops of outer×inner iterations):
// every iteration writes its index, and `count` receives the number of iterations that ran.
__kernel void flat_loop(__global int *out, int n, __global int *count)
{
    int done = 0;
    for (int i = 0; i < n; i++) { out[i] = i; done++; }
    *count = done;
}

__kernel void nested_loops(__global int *out, int outer, int inner, __global int *count)
{
    int done = 0;
    for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++) { out[o * inner + i] = 1; done++; }
    *count = done;
}
