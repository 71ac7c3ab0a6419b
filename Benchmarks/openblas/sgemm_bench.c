// sgemm_bench.c: times OpenBLAS's cblas_sgemm on the shapes and ops of `gputrain bench kernels`
// (C = A·B row-major, M×K times K×N) and prints the same JSON lines, with "kernel":"openblas_sgemm",
// so the two can be compared side by side in BENCHMARKS.md. Not part of the tests.
//
// Ops per shape M×K×N (2·M·N·K flops each):
//   fwd: C[M,N] = X[M,K]·W[K,N]
//   dX:  dX[M,K] = dY[M,N]·W[K,N]ᵀ
//   dW:  dW[K,N] = X[M,K]ᵀ·dY[M,N]
// Usage: sgemm_bench [repeats] [threads]   (defaults 5 and 2); medians after one warm-up call.
#define _POSIX_C_SOURCE 200112L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *randomMatrix(size_t count, unsigned *seed) {
    float *p = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX * 2.0f - 1.0f;
    return p;
}

/// One cblas_sgemm call of `op` ("fwd", "dX" or "dW") on the M×K×N shape.
static void run(const char *op, int m, int k, int n, const float *x, const float *w, const float *dy, float *out) {
    if (strcmp(op, "fwd") == 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, x, k, w, n, 0.0f, out, n);
    else if (strcmp(op, "dX") == 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, dy, n, w, n, 0.0f, out, k);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, x, k, dy, n, 0.0f, out, n);
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (repeats < 1) repeats = 1;
    openblas_set_num_threads(threads);
    static const int shapes[][3] = {
        {512, 768, 2304}, {512, 768, 768}, {512, 768, 3072}, {512, 3072, 768},
        {512, 768, 8192}, {1024, 1024, 1024}, {2048, 2048, 2048},
    };
    static const char *ops[] = {"fwd", "dX", "dW"};
    unsigned seed = 42;
    double *times = malloc((size_t)repeats * sizeof(double));
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *x = randomMatrix((size_t)m * k, &seed);
        float *w = randomMatrix((size_t)k * n, &seed);
        float *dy = randomMatrix((size_t)m * n, &seed);
        size_t largest = (size_t)m * n > (size_t)k * n ? (size_t)m * n : (size_t)k * n;
        if ((size_t)m * k > largest) largest = (size_t)m * k;
        float *out = calloc(largest, sizeof(float));
        for (int o = 0; o < 3; o++) {
            run(ops[o], m, k, n, x, w, dy, out);  // warm-up
            for (int r = 0; r < repeats; r++) {
                double start = now();
                run(ops[o], m, k, n, x, w, dy, out);
                times[r] = now() - start;
            }
            qsort(times, (size_t)repeats, sizeof(double), compare);
            double median = repeats % 2 ? times[repeats / 2] : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
            double gflops = 2.0 * m * n * k / median * 1e-9;
            printf("{\"kernel\":\"openblas_sgemm\",\"op\":\"%s\",\"shape\":\"%dx%dx%d\",\"gflops\":%.2f,"
                   "\"clblast_gflops\":null,\"seconds\":%.6f,\"threads\":%d,\"device\":\"OpenBLAS (CPU)\"}\n",
                   ops[o], m, k, n, gflops, median, threads);
            fflush(stdout);
        }
        free(x); free(w); free(dy); free(out);
    }
    free(times);
    return 0;
}
