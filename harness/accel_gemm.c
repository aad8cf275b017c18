/* accel_gemm.c: the ordered GEMM (see accel.h, accel_gemm_ordered).
 *
 * Every element of the product is one chain of fused multiply-adds in k
 * order, started from 0 or from C's own value. No other sum order is ever
 * used: the blocking over k continues each element's chain from the value
 * stored by the previous block, and the partial tiles at the edges run the
 * same kernel on zero-padded copies. So an element's bits depend only on
 * its row of op(A), its column of op(B) and its start value, never on the
 * product's shape, the element's position in it or the instruction set
 * (a fused multiply-add is rounded once, in every one).
 *
 * The layout follows the usual packed design: one operand (V, "vector")
 * is cut into panels of PR elements that fill SIMD registers, the other
 * (U, "broadcast") into panels of QR elements, each broadcast in turn;
 * a QR x PR tile of the product stays in registers for KC steps of k.
 * V runs along the product's columns (N), or along its rows (M) when that
 * wastes much less of the padded panels: a convolution at 64 x 64 px has
 * late layers with 4 or 16 output positions and hundreds of filters. The
 * rows' way computes the product's transpose and transposes it into C.
 *
 * The BF16 GEMM (accel_gemm_bf16) runs the same blocks, tiles and edge
 * handling. Its packed panels are rounded to bfloat16 after packing, two
 * steps of k in one 32-bit unit (k even in the low half, k odd in the high
 * half; an odd last step paired with -0 in U and +0 in V, whose product
 * -0 adds nothing), and its kernels take one pair per step with
 * vdpbf16ps: per element and pair, c = fma(u_odd, v_odd, c), then
 * c = fma(u_even, v_even, c), each rounded to nearest even, with subnormal
 * inputs and results taken as zero (Intel's definition of the instruction,
 * which the AMD Zen 5 it was tested on follows bit for bit). The scalar
 * kernel does exactly that, so both give the same bits. */
#include "accel.h"

#include "blas.h"
#include "error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GEMM_X86 1
#else
#define GEMM_X86 0
#endif

/* QR x PR tile; KC steps of k per pass (long passes store and reload C
 * less often: 1152 measured faster than 384 on VGG16's inference at batch
 * 1, 77-82 against 83-88 ms at 128 x 128); a V block of KC x PC (L2) and a
 * U block of QC x KC. */
enum { QR = 12, PR = 32, KC = 1152, PC = 128, QC = 3072 };

/* An operand viewed as a matrix: element (r, k) at base + r*rs + k*ks. */
struct view {
	const float *base;
	size_t rs, ks;
};

/* n floats at a 64-byte aligned address inside a new allocation *raw
 * (for aligned vector loads); free *raw. */
static float *alloc_aligned(size_t n, void **raw)
{
	*raw = xmalloc(n * sizeof(float) + 64);
	return (float *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
}

/* Packing buffers, grown on demand and kept: U and V panels, the
 * transposed product, U and V panels in bfloat16. */
static void *pack_raw[5];
static float *pack_buf[5];
static size_t pack_len[5];

static float *pack_space(int which, size_t n)
{
	if (pack_len[which] < n) {
		free(pack_raw[which]);
		pack_buf[which] = alloc_aligned(n, &pack_raw[which]);
		pack_len[which] = n;
	}
	return pack_buf[which];
}

#if GEMM_X86
/* Rows s, s + rs, ... (w <= 16 of them, each contiguous along k) at steps
 * 0 .. kn-1, into dst[k * width + r] for r < 16 (rows past w zero): 16 x
 * 16 blocks transposed in registers (32-bit, then 64-bit interleaves, then
 * 128-bit lane shuffles). */
__attribute__((target("avx512f"))) static void
transpose16_avx512(const float *s, size_t rs, int w, int kn, int width, float *dst)
{
	for (int kb = 0; kb < kn; kb += 16) {
		int kl = kn - kb < 16 ? kn - kb : 16;
		__mmask16 km = (__mmask16)((1u << kl) - 1);
		__m512 r[16], a[16], b[16];
		for (int i = 0; i < 16; i++)
			r[i] = i < w ? _mm512_maskz_loadu_ps(km, s + (size_t)i * rs + kb)
				     : _mm512_setzero_ps();
		for (int i = 0; i < 16; i += 2) {
			a[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
			a[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
		}
		for (int j = 0; j < 16; j += 4) {
			__m512d a0 = _mm512_castps_pd(a[j]), a1 = _mm512_castps_pd(a[j + 1]);
			__m512d a2 = _mm512_castps_pd(a[j + 2]), a3 = _mm512_castps_pd(a[j + 3]);
			b[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
			b[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
			b[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
			b[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
		}
		/* b[4j + m], lane l: column 4l + m of rows 4j .. 4j+3 */
		for (int m = 0; m < 4; m++) {
			__m512 y0 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0x44);
			__m512 y1 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0xEE);
			__m512 y2 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0x44);
			__m512 y3 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0xEE);
			__m512 col[4] = { _mm512_shuffle_f32x4(y0, y2, 0x88),
					  _mm512_shuffle_f32x4(y0, y2, 0xDD),
					  _mm512_shuffle_f32x4(y1, y3, 0x88),
					  _mm512_shuffle_f32x4(y1, y3, 0xDD) };
			for (int l = 0; l < 4; l++) {
				int k = 4 * l + m;
				if (k < kl)
					_mm512_mask_storeu_ps(dst + (size_t)(kb + k) * width,
							      width < 16 ? (__mmask16)((1u << width) - 1)
									 : (__mmask16)0xFFFF,
							      col[l]);
			}
		}
	}
}
#endif

/* Rows r0 .. r0+rn-1, steps k0 .. k0+kn-1 of x into panels of `width`
 * rows: panel after panel, each kn groups of `width` values (zero past
 * the last row). */
static inline __attribute__((always_inline)) void
pack(struct view x, int r0, int rn, int k0, int kn, const int width, int fast, float *dst)
{
	for (int p = 0; p < rn; p += width, dst += (size_t)kn * width) {
		int w = rn - p < width ? rn - p : width;
		const float *s = x.base + (size_t)(r0 + p) * x.rs + (size_t)k0 * x.ks;
		if (x.rs == 1 && w == width) { /* rows side by side: copies */
			for (int k = 0; k < kn; k++)
				for (int r = 0; r < width; r++)
					dst[(size_t)k * width + r] = s[(size_t)k * x.ks + r];
			continue;
		}
		if (x.rs == 1) {
			for (int k = 0; k < kn; k++)
				for (int r = 0; r < width; r++)
					dst[(size_t)k * width + r] = r < w ? s[(size_t)k * x.ks + r] : 0;
			continue;
		}
#if GEMM_X86
		if (x.ks == 1 && fast) { /* 16 rows at a time */
			for (int r = 0; r < width; r += 16)
				transpose16_avx512(s + (size_t)r * x.rs, x.rs, w - r, kn, width,
						   dst + r);
			continue;
		}
#endif
		/* A transpose, 16 steps of k (a cache line of each row) at a time. */
		for (int kb = 0; kb < kn; kb += 16) {
			int ke = kn - kb < 16 ? kn : kb + 16;
			for (int r = 0; r < w; r++) {
				const float *row = s + (size_t)r * x.rs;
				__builtin_prefetch(row + (size_t)(kb + 32) * x.ks);
				for (int k = kb; k < ke; k++)
					dst[(size_t)k * width + r] = row[(size_t)k * x.ks];
			}
			for (int r = w; r < width; r++)
				for (int k = kb; k < ke; k++)
					dst[(size_t)k * width + r] = 0;
		}
	}
}

/* Frozen operands. accel_freeze() names memory (a network's weights) that
 * stays unchanged until accel_thaw(). An operand lying wholly inside such
 * memory is packed once, in full, and its panels are reused by every
 * later product reading it: the same values pack() writes, so the same
 * bits. A full packing of `rows` rows in panels of `width` holds, for each
 * block of KC steps of k starting at k0, all the rows' panels, so the
 * block's panels from row r0 (a multiple of width) on start at
 *     k0 * padded + r0 * kn,  padded = rows rounded up to width. */
struct region {
	const float *lo, *hi; /* [lo, hi) */
};
struct packing {
	struct view x;
	int rows, K, width;
	size_t padded;
	void *raw;
	float *data;
};
static struct region *regions;
static size_t nregions, region_cap;
static struct packing *packings;
static size_t npackings, packing_cap;

void accel_freeze(const float *base, size_t n)
{
	if (nregions == region_cap) {
		region_cap = region_cap ? 2 * region_cap : 64;
		regions = xrealloc(regions, region_cap * sizeof *regions);
	}
	regions[nregions++] = (struct region){ base, base + n };
}

size_t accel_frozen_regions(void)
{
	return nregions;
}

void accel_thaw(void)
{
	accel_winograd_thaw();
	for (size_t i = 0; i < npackings; i++)
		free(packings[i].raw);
	npackings = 0;
	nregions = 0;
}

int accel_is_frozen(const float *base, size_t n)
{
	for (size_t i = 0; i < nregions; i++)
		if (base >= regions[i].lo && base + n <= regions[i].hi)
			return 1;
	return 0;
}

/* 1 if every element of x's rows 0 .. rows-1, steps 0 .. K-1 lies in one
 * frozen region. */
static int frozen(struct view x, int rows, int K)
{
	const float *last = x.base + (size_t)(rows - 1) * x.rs + (size_t)(K - 1) * x.ks;
	for (size_t i = 0; i < nregions; i++)
		if (x.base >= regions[i].lo && last < regions[i].hi)
			return 1;
	return 0;
}

/* The full packing of x (rows, K) in panels of width, made on first use;
 * NULL if x is not frozen. */
static const struct packing *packed(struct view x, int rows, int K, int width, int fast)
{
	if (!nregions || !frozen(x, rows, K))
		return NULL;
	for (size_t i = 0; i < npackings; i++) {
		const struct packing *c = &packings[i];
		if (c->x.base == x.base && c->x.rs == x.rs && c->x.ks == x.ks &&
		    c->rows == rows && c->K == K && c->width == width)
			return c;
	}
	if (npackings == packing_cap) {
		packing_cap = packing_cap ? 2 * packing_cap : 64;
		packings = xrealloc(packings, packing_cap * sizeof *packings);
	}
	struct packing *c = &packings[npackings++];
	*c = (struct packing){ .x = x, .rows = rows, .K = K, .width = width,
			       .padded = (size_t)(rows + width - 1) / width * width };
	c->data = alloc_aligned(c->padded * K, &c->raw);
	for (int k0 = 0; k0 < K; k0 += KC)
		pack(x, 0, rows, k0, K - k0 < KC ? K - k0 : KC, width, fast,
		     c->data + (size_t)k0 * c->padded);
	return c;
}

/* Rows r0 .. r0+rn-1, steps k0 .. k0+kn-1 of x packed in panels of width:
 * from the frozen packing c, or packed into buf. */
static inline __attribute__((always_inline)) const float *
panels(const struct packing *c, struct view x, int r0, int rn, int k0,
			   int kn, int width, int fast, float *buf)
{
	if (c)
		return c->data + (size_t)k0 * c->padded + (size_t)r0 * kn;
	pack(x, r0, rn, k0, kn, width, fast, buf);
	return buf;
}

/* The tile kernels: t (QR x PR, rows ldt apart) = (first ? 0 : t) plus, per
 * element, the chain over kc steps of u (kc x QR) and v (kc x PR). */
typedef void (*kernel_fn)(int kc, const float *u, const float *v, float *t, size_t ldt,
			  int first);

static void kernel_scalar(int kc, const float *u, const float *v, float *t, size_t ldt,
			  int first)
{
	for (int q = 0; q < QR; q++)
		for (int p = 0; p < PR; p++) {
			float c = first ? 0.0f : t[q * ldt + p];
			for (int k = 0; k < kc; k++)
				c = fmaf(u[(size_t)k * QR + q], v[(size_t)k * PR + p], c);
			t[q * ldt + p] = c;
		}
}

#if GEMM_X86
/* The AVX-512 kernels' tile in registers: loaded from t (zero if first),
 * stored back. */
__attribute__((target("avx512f"), always_inline)) static inline void
tile_load_avx512(const float *t, size_t ldt, int first, __m512 c[QR][2])
{
#pragma GCC unroll 12
	for (int q = 0; q < QR; q++) {
		c[q][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(t + q * ldt);
		c[q][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(t + q * ldt + 16);
	}
}

__attribute__((target("avx512f"), always_inline)) static inline void
tile_store_avx512(float *t, size_t ldt, __m512 c[QR][2])
{
#pragma GCC unroll 12
	for (int q = 0; q < QR; q++) {
		_mm512_storeu_ps(t + q * ldt, c[q][0]);
		_mm512_storeu_ps(t + q * ldt + 16, c[q][1]);
	}
}

__attribute__((target("avx512f"))) static void
kernel_avx512(int kc, const float *u, const float *v, float *t, size_t ldt, int first)
{
	__m512 c[QR][2];
	tile_load_avx512(t, ldt, first, c);
	for (int k = 0; k < kc; k++, u += QR, v += PR) {
		__m512 b0 = _mm512_load_ps(v), b1 = _mm512_load_ps(v + 16);
#pragma GCC unroll 12
		for (int q = 0; q < QR; q++) {
			__m512 a = _mm512_set1_ps(u[q]);
			c[q][0] = _mm512_fmadd_ps(a, b0, c[q][0]);
			c[q][1] = _mm512_fmadd_ps(a, b1, c[q][1]);
		}
	}
	tile_store_avx512(t, ldt, c);
}

/* AVX2 has 16 registers: the tile in four 6 x 16 quarters. */
__attribute__((target("avx2,fma"))) static void
kernel_avx2(int kc, const float *u, const float *v, float *t, size_t ldt, int first)
{
	for (int h = 0; h < QR; h += 6)
		for (int w = 0; w < PR; w += 16) {
			__m256 c[6][2];
			float *tt = t + h * ldt + w;
#pragma GCC unroll 6
			for (int q = 0; q < 6; q++) {
				c[q][0] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(tt + q * ldt);
				c[q][1] = first ? _mm256_setzero_ps()
						: _mm256_loadu_ps(tt + q * ldt + 8);
			}
			const float *uu = u + h, *vv = v + w;
			for (int k = 0; k < kc; k++, uu += QR, vv += PR) {
				__m256 b0 = _mm256_loadu_ps(vv), b1 = _mm256_loadu_ps(vv + 8);
#pragma GCC unroll 6
				for (int q = 0; q < 6; q++) {
					__m256 a = _mm256_broadcast_ss(uu + q);
					c[q][0] = _mm256_fmadd_ps(a, b0, c[q][0]);
					c[q][1] = _mm256_fmadd_ps(a, b1, c[q][1]);
				}
			}
#pragma GCC unroll 6
			for (int q = 0; q < 6; q++) {
				_mm256_storeu_ps(tt + q * ldt, c[q][0]);
				_mm256_storeu_ps(tt + q * ldt + 8, c[q][1]);
			}
		}
}
#endif

/* ---- bfloat16 ---- */

/* The bfloat16 nearest to f (its upper 16 bits), as vcvtneps2bf16 rounds:
 * to nearest even; NaN stays NaN (made quiet); a subnormal becomes zero of
 * its sign. */
static uint32_t bf16_round(float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof x);
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (x >> 16) | 0x40u;
	if ((x & 0x7f800000u) == 0)
		return (x >> 16) & 0x8000u;
	return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
}

/* Panels as pack() writes them (rn rows in panels of width, each kn steps
 * of width values) into bfloat16 pairs: per panel, (kn + 1) / 2 steps of
 * width 32-bit units, step k/2 holding steps k (low half) and k + 1 (high
 * half), the missing step after an odd kn being pad. */
typedef void (*convert_fn)(const float *src, int rn, int kn, int width, float pad, float *dst);

static void convert_scalar(const float *src, int rn, int kn, int width, float pad, float *dst)
{
	const int kp = (kn + 1) / 2;
	const uint32_t pad_hi = bf16_round(pad) << 16;
	for (int p = 0; p < rn; p += width, src += (size_t)kn * width, dst += (size_t)kp * width)
		for (int k = 0; k < kn; k += 2)
			for (int r = 0; r < width; r++) {
				const float *s = src + (size_t)k * width + r;
				uint32_t pair = bf16_round(s[0]) |
						(k + 1 < kn ? bf16_round(s[width]) << 16 : pad_hi);
				memcpy(dst + (size_t)(k / 2) * width + r, &pair, sizeof pair);
			}
}

/* The two halves of a pair as floats (exact). */
static float bf16_half(uint32_t pair, int high)
{
	uint32_t x = high ? pair & 0xffff0000u : pair << 16;
	float f;
	memcpy(&f, &x, sizeof f);
	return f;
}

/* Subnormals as vdpbf16ps takes and gives them: zero of their sign. */
static float flush(float c)
{
	return fpclassify(c) == FP_SUBNORMAL ? copysignf(0.0f, c) : c;
}

/* vdpbf16ps written out: kp steps of bfloat16 pairs (u: kp x QR, v: kp x PR). */
static void kernel_bf16_scalar(int kp, const float *u, const float *v, float *t, size_t ldt,
			       int first)
{
	for (int q = 0; q < QR; q++)
		for (int p = 0; p < PR; p++) {
			float c = first ? 0.0f : t[q * ldt + p];
			for (int k = 0; k < kp; k++) {
				uint32_t a, b;
				memcpy(&a, u + (size_t)k * QR + q, sizeof a);
				memcpy(&b, v + (size_t)k * PR + p, sizeof b);
				c = flush(fmaf(bf16_half(a, 1), bf16_half(b, 1), flush(c)));
				c = flush(fmaf(bf16_half(a, 0), bf16_half(b, 0), c));
			}
			t[q * ldt + p] = c;
		}
}

#if GEMM_X86
__attribute__((target("avx512f,avx512bf16"))) static void
convert_avx512(const float *src, int rn, int kn, int width, float pad, float *dst)
{
	const int kp = (kn + 1) / 2;
	for (int p = 0; p < rn; p += width, src += (size_t)kn * width, dst += (size_t)kp * width)
		for (int k = 0; k < kn; k += 2)
			for (int r = 0; r < width; r += 16) {
				__mmask16 m = (__mmask16)(width - r < 16 ? (1u << (width - r)) - 1
									 : 0xffffu);
				const float *s = src + (size_t)k * width + r;
				__m512 even = _mm512_maskz_loadu_ps(m, s);
				__m512 odd = k + 1 < kn ? _mm512_maskz_loadu_ps(m, s + width)
							: _mm512_set1_ps(pad);
				__m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(even));
				__m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(odd));
				_mm512_mask_storeu_epi32(dst + (size_t)(k / 2) * width + r, m,
							 _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
			}
}

/* 24 vdpbf16ps per pair of k: 64 products per unit of u. */
__attribute__((target("avx512f,avx512bf16"))) static void
kernel_bf16_avx512(int kp, const float *u, const float *v, float *t, size_t ldt, int first)
{
	__m512 c[QR][2];
	tile_load_avx512(t, ldt, first, c);
	for (int k = 0; k < kp; k++, u += QR, v += PR) {
		__m512bh b0 = (__m512bh)_mm512_load_ps(v), b1 = (__m512bh)_mm512_load_ps(v + 16);
#pragma GCC unroll 12
		for (int q = 0; q < QR; q++) {
			__m512bh a = (__m512bh)_mm512_set1_ps(u[q]);
			c[q][0] = _mm512_dpbf16_ps(c[q][0], a, b0);
			c[q][1] = _mm512_dpbf16_ps(c[q][1], a, b1);
		}
	}
	tile_store_avx512(t, ldt, c);
}
#endif

int accel_bf16_native(void)
{
	static int native = -1; /* a cache of what CPUID says */
	if (native < 0) {
		struct blas_cpu cpu;
		blas_cpu_detect(&cpu);
		native = GEMM_X86 && cpu.avx512_bf16;
	}
	return native;
}

static int bf16_scalar_forced;

int accel_gemm_bf16_force_kernel(const char *isa)
{
	if (!isa || !strcmp(isa, "avx512bf16")) {
		bf16_scalar_forced = 0;
		return !isa || accel_bf16_native() ? 0 : -1;
	}
	if (strcmp(isa, "scalar"))
		return -1;
	bf16_scalar_forced = 1;
	return 0;
}

static kernel_fn forced_kernel;

static kernel_fn kernel_for_cpu(void)
{
	if (forced_kernel)
		return forced_kernel;
#if GEMM_X86
	if (__builtin_cpu_supports("avx512f"))
		return kernel_avx512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return kernel_avx2;
#endif
	return kernel_scalar;
}

int accel_gemm_force_kernel(const char *isa)
{
	if (!isa) {
		forced_kernel = NULL;
		return 0;
	}
	if (!strcmp(isa, "scalar")) {
		forced_kernel = kernel_scalar;
		return 0;
	}
#if GEMM_X86
	if (!strcmp(isa, "avx512f") && __builtin_cpu_supports("avx512f")) {
		forced_kernel = kernel_avx512;
		return 0;
	}
	if (!strcmp(isa, "avx2") && __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma")) {
		forced_kernel = kernel_avx2;
		return 0;
	}
#endif
	return -1;
}

/* The product in the packed layout: c(q, p) at C + q*ldc + p for q < Q,
 * p < P, the chain over k of u(q, k) v(p, k). */
struct job {
	struct view u, v;
	int Q, P, K;
	float *C;
	size_t ldc;
	int accumulate;
	kernel_fn kernel;
	int fast_pack; /* AVX-512 transposes in packing (with the AVX-512 kernels) */
	convert_fn to_bf16; /* the BF16 GEMM: how panels become bfloat16 pairs; else NULL */
};

/* One QR x PR tile at (q0, p0) with qn x pn valid elements. */
static void tile(const struct job *j, const float *u, const float *v, int kc, int q0, int qn,
		 int p0, int pn, int first)
{
	float *c = j->C + (size_t)q0 * j->ldc + p0;
	if (qn == QR && pn == PR) {
		j->kernel(kc, u, v, c, j->ldc, first);
		return;
	}
	float t[QR * PR];
	if (!first) {
		memset(t, 0, sizeof t); /* the padding: defined values, no subnormals */
		for (int q = 0; q < qn; q++)
			for (int p = 0; p < pn; p++)
				t[q * PR + p] = c[(size_t)q * j->ldc + p];
	}
	j->kernel(kc, u, v, t, PR, first);
	for (int q = 0; q < qn; q++)
		for (int p = 0; p < pn; p++)
			c[(size_t)q * j->ldc + p] = t[q * PR + p];
}

/* Rows r0 .. r0+rn-1, steps k0 .. k0+kn-1 of x as j's kernel takes them:
 * panels (packed into buf, or from the frozen packing c) and, for the BF16
 * GEMM, their bfloat16 pairs in half (odd kn paired with pad). */
static const float *operand(const struct job *j, const struct packing *c, struct view x, int r0,
			    int rn, int k0, int kn, int width, float pad, float *buf, float *half)
{
	const float *p = panels(c, x, r0, rn, k0, kn, width, j->fast_pack, buf);
	if (!j->to_bf16)
		return p;
	j->to_bf16(p, rn, kn, width, pad, half);
	return half;
}

static void run(const struct job *j)
{
	float *bu = pack_space(0, (size_t)(QC + QR) * KC);
	float *bv = pack_space(1, (size_t)(PC + PR) * KC);
	float *hu = j->to_bf16 ? pack_space(3, (size_t)(QC + QR) * KC / 2) : NULL;
	float *hv = j->to_bf16 ? pack_space(4, (size_t)(PC + PR) * KC / 2) : NULL;
	const struct packing *cu = packed(j->u, j->Q, j->K, QR, j->fast_pack);
	const struct packing *cv = packed(j->v, j->P, j->K, PR, j->fast_pack);
	for (int q0 = 0; q0 < j->Q; q0 += QC) {
		int qc = j->Q - q0 < QC ? j->Q - q0 : QC;
		for (int k0 = 0; k0 < j->K; k0 += KC) {
			int kc = j->K - k0 < KC ? j->K - k0 : KC;
			int steps = j->to_bf16 ? (kc + 1) / 2 : kc; /* the kernel's: k, or pairs of k */
			int first = k0 == 0 && !j->accumulate;
			/* -0 * +0 = -0 pads an odd kc: c + -0 is c for every c */
			const float *pu = operand(j, cu, j->u, q0, qc, k0, kc, QR, -0.0f, bu, hu);
			for (int p0 = 0; p0 < j->P; p0 += PC) {
				int pc = j->P - p0 < PC ? j->P - p0 : PC;
				const float *pv = operand(j, cv, j->v, p0, pc, k0, kc, PR, 0.0f, bv, hv);
				for (int q = 0; q < qc; q += QR)
					for (int p = 0; p < pc; p += PR)
						tile(j, pu + (size_t)q * steps, pv + (size_t)p * steps,
						     steps, q0 + q, qc - q < QR ? qc - q : QR, p0 + p,
						     pc - p < PR ? pc - p : PR, first);
			}
		}
	}
}

/* dst (cols, rows) = src (rows, cols)^T, in 16 x 16 blocks. */
static void transpose(const float *src, size_t lds, int rows, int cols, float *dst, size_t ldd)
{
	for (int i0 = 0; i0 < rows; i0 += 16)
		for (int c0 = 0; c0 < cols; c0 += 16) {
			int i1 = rows - i0 < 16 ? rows : i0 + 16, c1 = cols - c0 < 16 ? cols : c0 + 16;
			for (int i = i0; i < i1; i++)
				for (int c = c0; c < c1; c++)
					dst[(size_t)c * ldd + i] = src[(size_t)i * lds + c];
		}
}

/* The share of a padded panel layout that is real work. */
static double fill(int P, int Q)
{
	double p = (double)P / ((P + PR - 1) / PR * PR), q = (double)Q / ((Q + QR - 1) / QR * QR);
	return p * q;
}

/* C = op(A) op(B) (+ C if accumulate) with j's kernel (and conversion). */
static void gemm(struct job *j, int ta, int tb, int M, int N, int K, const float *A, int lda,
		 const float *B, int ldb, int accumulate, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0) {
		if (!accumulate)
			for (int i = 0; i < M; i++)
				memset(C + (size_t)i * ldc, 0, sizeof *C * N);
		return;
	}
	/* op(A)(i, k) and op(B)(k, j) as views indexed (row of the product
	 * side, k). */
	struct view a = { A, ta ? 1 : (size_t)lda, ta ? (size_t)lda : 1 };
	struct view b = { B, tb ? (size_t)ldb : 1, tb ? 1 : (size_t)ldb };
	j->K = K, j->C = C, j->accumulate = accumulate;
	/* Along the columns unless that wastes much more: the other way
	 * costs two transposes of C. */
	if (fill(M, N) <= 1.25 * fill(N, M)) { /* vectors along the columns */
		j->u = a, j->v = b, j->Q = M, j->P = N, j->ldc = (size_t)ldc;
		run(j);
		return;
	}
	/* Vectors along the rows: the product's transpose T (N, M), then C. */
	float *t = pack_space(2, (size_t)N * M);
	if (accumulate)
		transpose(C, (size_t)ldc, M, N, t, (size_t)M);
	j->u = b, j->v = a, j->Q = N, j->P = M, j->C = t, j->ldc = (size_t)M;
	run(j);
	transpose(t, (size_t)M, N, M, C, (size_t)ldc);
}

void accel_gemm_ordered(int ta, int tb, int M, int N, int K, const float *A, int lda,
			const float *B, int ldb, int accumulate, float *C, int ldc)
{
	struct job j = { .kernel = kernel_for_cpu() };
#if GEMM_X86
	j.fast_pack = j.kernel == kernel_avx512;
#endif
	gemm(&j, ta, tb, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
}

void accel_gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, int lda,
		     const float *B, int ldb, int accumulate, float *C, int ldc)
{
	struct job j = { .kernel = kernel_bf16_scalar, .to_bf16 = convert_scalar };
#if GEMM_X86
	if (accel_bf16_native() && !bf16_scalar_forced) {
		j.kernel = kernel_bf16_avx512;
		j.to_bf16 = convert_avx512;
		j.fast_pack = 1;
	}
#endif
	gemm(&j, ta, tb, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
}
