// gen_quant_vectors.c - writes reference quantization test vectors using ggml's own quantizer.
//
// This is r1.cpp code that calls ggml's PUBLIC API only (ggml.h): ggml_quantize_init,
// ggml_quantize_chunk, ggml_quantize_requires_imatrix, ggml_get_type_traits()->to_float.
// Build/run it with build_and_run.sh next to this file; nothing here is linked into r1.cpp.
//
// Usage: gen_quant_vectors <out_dir>
//   Writes <out_dir>/<lowercase type name>[_imatrix].bin (layout below) and prints a markdown RMSE table
//   on stdout.
//
// File layout (little-endian):
//   char     magic[8] = "R1QVEC1\0"
//   uint32   ggml_type_id, nrows, ncols, has_imatrix
//   uint64   block_bytes_total
//   float    src[nrows*ncols]
//   float    imatrix[ncols]               (only if has_imatrix)
//   uint8    blocks[block_bytes_total]    (ggml_quantize_chunk output, rows back to back)
//   float    dequant[nrows*ncols]         (type_traits->to_float over the whole buffer)
//   double   rmse                         (sqrt(mean((dequant-src)^2)) over all elements)
//
// PRNG (deterministic, platform independent):
//   xorshift64 (Marsaglia 13/7/17):  x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x;
//   uniform u in [0,1):              u = (float)(next() >> 40) * 2^-24   (exactly 24 bits)
//   gauss-ish g:                     g = (u1 + u2 + u3 + u4 - 2) * sqrt(3)   (mean 0, var 1)
//
// Source data (seed SEED_GENERAL = 0x853c49e6748fea9b, same matrix for every non-ternary type):
//   row scale s_r = {1.0, 0.25, 2.0, 0.02}[r]; src[r][c] = s_r * g for all c, in row-major order;
//   then per row (after the row's values) 4 outliers: c = next() % ncols, src[r][c] *= 8
//   (positions may repeat; each draw multiplies again).
// Ternary data for TQ1_0/TQ2_0 (seed SEED_TERNARY = 0xda3e39cb94b95bdb):
//   t = next() % 3 - 1 (in {-1,0,1}); src[r][c] = s_r * (t + 0.01 * g), g drawn after t.
// Importance matrix (seed SEED_IMATRIX = 0x2545f4914f6cdd1d): imatrix[c] = 0.1 + u^2 * 10.

#include "ggml.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NROWS 4
#define NCOLS 1024
#define NOUTLIERS 4

static const uint64_t SEED_GENERAL = 0x853c49e6748fea9bULL;
static const uint64_t SEED_TERNARY = 0xda3e39cb94b95bdbULL;
static const uint64_t SEED_IMATRIX = 0x2545f4914f6cdd1dULL;
static const float ROW_SCALE[NROWS] = {1.0f, 0.25f, 2.0f, 0.02f};

typedef struct { uint64_t x; } rng_t;

static uint64_t rng_next(rng_t * r) {
    uint64_t x = r->x;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->x = x;
    return x;
}

static float rng_uniform(rng_t * r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

static float rng_gauss(rng_t * r) {
    float s = rng_uniform(r);
    s += rng_uniform(r);
    s += rng_uniform(r);
    s += rng_uniform(r);
    return (s - 2.0f) * 1.7320508075688772f;
}

static void make_general(float * src) {
    rng_t r = {SEED_GENERAL};
    for (int row = 0; row < NROWS; ++row) {
        float * x = src + (size_t)row * NCOLS;
        for (int c = 0; c < NCOLS; ++c) x[c] = ROW_SCALE[row] * rng_gauss(&r);
        for (int k = 0; k < NOUTLIERS; ++k) x[rng_next(&r) % NCOLS] *= 8.0f;
    }
}

static void make_ternary(float * src) {
    rng_t r = {SEED_TERNARY};
    for (int row = 0; row < NROWS; ++row) {
        float * x = src + (size_t)row * NCOLS;
        for (int c = 0; c < NCOLS; ++c) {
            const float t = (float)((int)(rng_next(&r) % 3) - 1);
            const float g = rng_gauss(&r);
            x[c] = ROW_SCALE[row] * (t + 0.01f * g);
        }
    }
}

static void make_imatrix(float * im) {
    rng_t r = {SEED_IMATRIX};
    for (int c = 0; c < NCOLS; ++c) {
        const float u = rng_uniform(&r);
        im[c] = 0.1f + u * u * 10.0f;
    }
}

static int write_all(FILE * f, const void * p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

static int write_u32(FILE * f, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return write_all(f, b, 4);
}

static int write_u64(FILE * f, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = (uint8_t)(v >> (8 * i));
    return write_all(f, b, 8);
}

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

// Returns 0 on success.
static int gen_one(const char * out_dir, enum ggml_type type, int with_imatrix) {
    const int ternary = type == GGML_TYPE_TQ1_0 || type == GGML_TYPE_TQ2_0;
    const int64_t n = (int64_t)NROWS * NCOLS;
    float * src = malloc(sizeof(float) * n);
    float * deq = malloc(sizeof(float) * n);
    float im[NCOLS];
    const size_t row_size = ggml_row_size(type, NCOLS);
    const size_t total = row_size * NROWS;
    uint8_t * blocks = calloc(1, total);
    int rc = -1;
    if (!src || !deq || !blocks) goto done;

    if (ternary) make_ternary(src); else make_general(src);
    if (with_imatrix) make_imatrix(im);

    ggml_quantize_init(type);
    const size_t got = ggml_quantize_chunk(type, src, blocks, 0, NROWS, NCOLS, with_imatrix ? im : NULL);
    if (got != total) {
        fprintf(stderr, "%s: ggml_quantize_chunk returned %zu, expected %zu\n", ggml_type_name(type), got, total);
        goto done;
    }
    const struct ggml_type_traits * tt = ggml_get_type_traits(type);
    if (!tt->to_float) {
        fprintf(stderr, "%s: no to_float\n", ggml_type_name(type));
        goto done;
    }
    tt->to_float(blocks, deq, n);

    double se = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = (double)deq[i] - (double)src[i];
        se += d * d;
    }
    const double rmse = sqrt(se / (double)n);

    char name[64];
    snprintf(name, sizeof(name), "%s", ggml_type_name(type));
    for (char * p = name; *p; ++p) *p = (char)tolower((unsigned char)*p);  // "q4_K" -> "q4_k"
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s%s.bin", out_dir, name, with_imatrix ? "_imatrix" : "");
    FILE * f = fopen(path, "wb");
    if (!f) { perror(path); goto done; }
    static const char magic[8] = {'R', '1', 'Q', 'V', 'E', 'C', '1', '\0'};
    int e = write_all(f, magic, 8);
    e |= write_u32(f, (uint32_t)type);
    e |= write_u32(f, NROWS);
    e |= write_u32(f, NCOLS);
    e |= write_u32(f, (uint32_t)with_imatrix);
    e |= write_u64(f, (uint64_t)total);
    // Float payloads: host is checked to be little-endian in main(), so raw IEEE-754 bytes are LE.
    e |= write_all(f, src, sizeof(float) * n);
    if (with_imatrix) e |= write_all(f, im, sizeof(im));
    e |= write_all(f, blocks, total);
    e |= write_all(f, deq, sizeof(float) * n);
    e |= write_all(f, &rmse, sizeof(rmse));
    if (fclose(f) != 0) e = -1;
    if (e) { fprintf(stderr, "%s: write failed\n", path); goto done; }

    printf("| %-8s | %-9s | %6zu | %.9g |\n", name, with_imatrix ? "imatrix" : "none",
           total, rmse);
    rc = 0;
done:
    free(src);
    free(deq);
    free(blocks);
    return rc;
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <out_dir>\n", argv[0]);
        return 2;
    }
    if (!host_is_little_endian()) {
        fprintf(stderr, "this generator assumes a little-endian host\n");
        return 2;
    }
    static const enum ggml_type types[] = {
        GGML_TYPE_Q4_0,   GGML_TYPE_Q4_1,    GGML_TYPE_Q5_0,   GGML_TYPE_Q5_1,    GGML_TYPE_Q8_0,
        GGML_TYPE_Q2_K,   GGML_TYPE_Q3_K,    GGML_TYPE_Q4_K,   GGML_TYPE_Q5_K,    GGML_TYPE_Q6_K,
        GGML_TYPE_IQ1_S,  GGML_TYPE_IQ1_M,   GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ2_XS, GGML_TYPE_IQ2_S,
        GGML_TYPE_IQ3_XXS, GGML_TYPE_IQ3_S,  GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,  GGML_TYPE_TQ1_0,
        GGML_TYPE_TQ2_0,
    };
    int failures = 0;
    printf("| type     | imatrix   | bytes  | rmse |\n");
    printf("|----------|-----------|--------|------|\n");
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); ++i) {
        const enum ggml_type t = types[i];
        if (!ggml_quantize_requires_imatrix(t)) failures += gen_one(argv[1], t, 0) != 0;
        failures += gen_one(argv[1], t, 1) != 0;
    }
    ggml_quantize_free();
    if (failures) fprintf(stderr, "%d vector(s) failed\n", failures);
    return failures ? 1 : 0;
}
