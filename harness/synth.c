/* synth.c: the synthetic cable generator.
 *
 * Geometry is in normalised image coordinates (the image spans [0,1]^2);
 * shapes are drawn back to front with anti-aliased coverage taken from their
 * signed distance. Only IEEE-exact operations (+ - * / sqrt floor) touch the
 * pixels; sine and cosine are local polynomials, so the bytes do not depend
 * on the C library's libm. */
#include "synth.h"

#include "prng.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- folders ------------------------------------------------------------ */

static const struct {
	const char *folder, *defect;
	int count;
} folders[] = {
	{ "train/good", "good", 224 },
	{ "test/good", "good", 58 },
	{ "test/bent_wire", "bent_wire", 13 },
	{ "test/cable_swap", "cable_swap", 12 },
	{ "test/combined", "combined", 11 },
	{ "test/cut_inner_insulation", "cut_inner_insulation", 14 },
	{ "test/cut_outer_insulation", "cut_outer_insulation", 10 },
	{ "test/missing_cable", "missing_cable", 12 },
	{ "test/missing_wire", "missing_wire", 10 },
	{ "test/poke_insulation", "poke_insulation", 10 },
};
#define NFOLDERS ((int)(sizeof folders / sizeof folders[0]))

enum defect {
	D_GOOD = -1,
	D_BENT_WIRE = 0,
	D_CABLE_SWAP,
	D_COMBINED,
	D_CUT_INNER,
	D_CUT_OUTER,
	D_MISSING_CABLE,
	D_MISSING_WIRE,
	D_POKE,
};

int synth_folder_count(void)
{
	return NFOLDERS;
}

const char *synth_folder_name(int folder)
{
	return folder >= 0 && folder < NFOLDERS ? folders[folder].folder : NULL;
}

int synth_folder_images(int folder)
{
	return folder >= 0 && folder < NFOLDERS ? folders[folder].count : 0;
}

const char *synth_folder_defect(int folder)
{
	return folder >= 0 && folder < NFOLDERS ? folders[folder].defect : NULL;
}

int synth_options_check(const struct synth_options *o)
{
	if (o->size < SYNTH_MIN_SIZE || o->size > SYNTH_MAX_SIZE)
		return error("invalid synthetic image size %d: expected %d..%d", o->size,
			     SYNTH_MIN_SIZE, SYNTH_MAX_SIZE);
	if (!(o->difficulty >= SYNTH_MIN_DIFFICULTY && o->difficulty <= SYNTH_MAX_DIFFICULTY))
		return error("invalid synthetic difficulty %g: expected %g..%g", o->difficulty,
			     SYNTH_MIN_DIFFICULTY, SYNTH_MAX_DIFFICULTY);
	if (!(o->rotation >= 0 && o->rotation <= SYNTH_MAX_ROTATION))
		return error("invalid synthetic rotation %g: expected 0..%d degrees", o->rotation,
			     SYNTH_MAX_ROTATION);
	return 0;
}

/* ---- deterministic randomness and trigonometry ------------------------- */

static uint64_t mix64(uint64_t x)
{
	return prng_splitmix64(&x);
}

static double rng_range(struct prng *r, double lo, double hi)
{
	return lo + (hi - lo) * prng_uniform(r);
}

/* Uniform integer in [0, n). */
static int rng_int(struct prng *r, int n)
{
	return (int)(prng_uniform(r) * n);
}

#define PI 3.14159265358979323846

static double det_sin(double x)
{
	x -= 2.0 * PI * floor((x + PI) / (2.0 * PI)); /* [-pi, pi) */
	if (x > PI / 2)
		x = PI - x;
	else if (x < -PI / 2)
		x = -PI - x;
	double x2 = x * x, term = x, sum = x;
	for (int n = 1; n <= 10; n++) {
		term *= -x2 / ((2.0 * n) * (2.0 * n + 1));
		sum += term;
	}
	return sum;
}

static double det_cos(double x)
{
	return det_sin(x + PI / 2);
}

/* ---- scene -------------------------------------------------------------- */

#define NSTRANDS 19
#define MAXBENT 8

struct conductor {
	double x, y;            /* centre */
	double stripe_x, stripe_y; /* unit direction of the yellow stripe */
	int colour;             /* 0 green-yellow, 1 blue, 2 brown */
	int present, strands;   /* 0: missing cable / missing strands */
	double sx[NSTRANDS], sy[NSTRANDS];
	int moved[NSTRANDS];    /* strand drawn as a bent wire instead */
	int notch;              /* a cut into the insulation */
	double nx, ny, ndepth, nhalf;
};

struct scene {
	int size;
	double px; /* one pixel in normalised units */
	double cx, cy;
	double r_outer, r_inner, r_c, r_core, r_s;
	struct conductor cond[3];
	int onotch;
	double onx, ony, ondepth, onhalf;
	int n_bent;
	double bx0[MAXBENT], by0[MAXBENT], bx1[MAXBENT], by1[MAXBENT], br;
	int poke;
	double pkx, pky, pkr;
	/* lighting and noise, applied after drawing */
	double gain, tint[3], grad_x, grad_y, vignette, sigma;
	uint64_t noise_seed;
};

static const double col_bg[3] = { 0.075, 0.075, 0.085 };
static const double col_sheath[3] = { 0.50, 0.50, 0.53 };
static const double col_filler[3] = { 0.84, 0.82, 0.77 };
static const double col_ins[3][3] = { { 0.20, 0.52, 0.20 }, { 0.13, 0.30, 0.68 },
				      { 0.46, 0.27, 0.13 } };
static const double col_yellow[3] = { 0.88, 0.78, 0.16 };
static const double col_copper[3] = { 0.85, 0.52, 0.27 };
static const double col_copper_gap[3] = { 0.22, 0.12, 0.07 };
static const double col_void[3] = { 0.05, 0.045, 0.045 };
static const double col_cut[3] = { 0.10, 0.085, 0.08 };       /* through the sheath */
static const double col_cut_inner[3] = { 0.66, 0.62, 0.55 }; /* bared cut faces */
static const double col_rim[3] = { 0.92, 0.90, 0.86 };
#define STRIPE_COS 0.85 /* stripe covers angles with cos >= this: about 63 degrees */

static void scene_draw(struct scene *s, int size, double rotation, struct prng *r)
{
	memset(s, 0, sizeof *s);
	s->size = size;
	s->px = 1.0 / size;
	s->cx = 0.5 + rng_range(r, -0.035, 0.035);
	s->cy = 0.5 + rng_range(r, -0.035, 0.035);
	double k = rng_range(r, 0.95, 1.04);
	/* upright: conductor 0 at angle PI/2, straight below the centre */
	double spin = rotation * PI / 180.0;
	double theta = PI / 2.0 + rng_range(r, -spin, spin);
	s->r_outer = 0.43 * k;
	s->r_inner = s->r_outer - 0.045 * k;
	s->r_c = 0.155 * k;
	s->r_core = s->r_c - 0.032 * k;
	s->r_s = s->r_core / 5.0;
	/* the 19-strand hexagonal bundle, in units of the strand radius */
	double hx[NSTRANDS], hy[NSTRANDS];
	int n = 0;
	for (int a = -2; a <= 2; a++)
		for (int b = -2; b <= 2; b++) {
			int c = -a - b;
			if (c < -2 || c > 2)
				continue;
			hx[n] = 2.0 * (a + 0.5 * b);
			hy[n] = 2.0 * (b * 0.86602540378443865);
			n++;
		}
	for (int j = 0; j < 3; j++) {
		struct conductor *c = &s->cond[j];
		double phi = theta - j * 2.0 * PI / 3.0 + rng_range(r, -0.05, 0.05);
		double dist = 0.195 * k * rng_range(r, 0.98, 1.02);
		c->x = s->cx + dist * det_cos(phi);
		c->y = s->cy + dist * det_sin(phi);
		c->colour = j;
		c->present = 1;
		c->strands = 1;
		double sp = rng_range(r, 0.0, 2.0 * PI);
		c->stripe_x = det_cos(sp);
		c->stripe_y = det_sin(sp);
		double rot = rng_range(r, 0.0, PI / 3.0), cr = det_cos(rot), sr = det_sin(rot);
		for (int i = 0; i < NSTRANDS; i++) {
			double jx = rng_range(r, -0.12, 0.12), jy = rng_range(r, -0.12, 0.12);
			double lx = (hx[i] + jx) * 0.96, ly = (hy[i] + jy) * 0.96;
			c->sx[i] = c->x + s->r_s * (cr * lx - sr * ly);
			c->sy[i] = c->y + s->r_s * (sr * lx + cr * ly);
		}
	}
	s->gain = rng_range(r, 0.82, 1.12);
	for (int i = 0; i < 3; i++)
		s->tint[i] = rng_range(r, 0.96, 1.04);
	double ga = rng_range(r, 0.0, 2.0 * PI), gm = rng_range(r, 0.0, 0.30);
	s->grad_x = gm * det_cos(ga);
	s->grad_y = gm * det_sin(ga);
	s->vignette = rng_range(r, 0.0, 0.5);
	s->sigma = rng_range(r, 0.008, 0.022);
	s->noise_seed = prng_next(r);
}

/* Point on the circle of radius rad around (x, y) at angle a. */
static void polar(double x, double y, double rad, double a, double *ox, double *oy)
{
	*ox = x + rad * det_cos(a);
	*oy = y + rad * det_sin(a);
}

static void add_defect(struct scene *s, enum defect d, int j, double scale, struct prng *r)
{
	struct conductor *c = &s->cond[j];
	switch (d) {
	case D_BENT_WIRE: {
		/* strands nearest a random direction leave the bundle outward */
		double a = rng_range(r, 0.0, 2.0 * PI), ux = det_cos(a), uy = det_sin(a);
		int m = (int)floor(2.0 + 2.0 * scale + prng_uniform(r));
		if (m > MAXBENT)
			m = MAXBENT;
		double len = (0.02 + 0.025 * prng_uniform(r)) * scale;
		s->br = s->r_s * 0.8;
		for (int t = 0; t < m; t++) {
			int best = -1;
			double bestdot = -1e9;
			for (int i = 0; i < NSTRANDS; i++) {
				double dot = (c->sx[i] - c->x) * ux + (c->sy[i] - c->y) * uy;
				if (!c->moved[i] && dot > bestdot) {
					bestdot = dot;
					best = i;
				}
			}
			c->moved[best] = 1;
			double spread = (t - 0.5 * (m - 1)) * 0.22 + rng_range(r, -0.08, 0.08);
			s->bx0[s->n_bent] = c->sx[best];
			s->by0[s->n_bent] = c->sy[best];
			polar(c->x, c->y, s->r_c + len * rng_range(r, 0.7, 1.3), a + spread,
			      &s->bx1[s->n_bent], &s->by1[s->n_bent]);
			s->n_bent++;
		}
		break;
	}
	case D_CABLE_SWAP:
		c->colour = (c->colour + 1 + rng_int(r, 2)) % 3;
		break;
	case D_CUT_INNER: {
		double a = rng_range(r, 0.0, 2.0 * PI);
		c->notch = 1;
		c->nx = det_cos(a);
		c->ny = det_sin(a);
		double ins = s->r_c - s->r_core;
		c->ndepth = ins * rng_range(r, 1.2, 1.7) * scale;
		if (c->ndepth > ins + 2.5 * s->r_s)
			c->ndepth = ins + 2.5 * s->r_s;
		c->nhalf = rng_range(r, 0.026, 0.036) * scale;
		break;
	}
	case D_CUT_OUTER: {
		double a = rng_range(r, 0.0, 2.0 * PI);
		s->onotch = 1;
		s->onx = det_cos(a);
		s->ony = det_sin(a);
		double sh = s->r_outer - s->r_inner;
		s->ondepth = sh * rng_range(r, 0.9, 1.4) * scale;
		if (s->ondepth > 2.0 * sh)
			s->ondepth = 2.0 * sh;
		s->onhalf = rng_range(r, 0.026, 0.038) * scale;
		break;
	}
	case D_MISSING_CABLE:
		c->present = 0;
		break;
	case D_MISSING_WIRE:
		c->strands = 0;
		break;
	case D_POKE: {
		double a = rng_range(r, 0.0, 2.0 * PI);
		s->poke = 1;
		s->pkr = rng_range(r, 0.013, 0.018) * scale;
		polar(c->x, c->y, 0.5 * (s->r_c + s->r_core), a, &s->pkx, &s->pky);
		break;
	}
	default:
		break;
	}
}

static void apply_defect(struct scene *s, enum defect d, double scale, struct prng *r)
{
	int j = rng_int(r, 3);
	if (d != D_COMBINED) {
		add_defect(s, d, j, scale, r);
		return;
	}
	static const enum defect parts[] = { D_BENT_WIRE, D_CABLE_SWAP, D_CUT_INNER, D_CUT_OUTER,
					     D_MISSING_CABLE, D_MISSING_WIRE, D_POKE };
	int a = rng_int(r, 7), b = rng_int(r, 6);
	if (b >= a)
		b++;
	/* two different conductors, so that neither part hides the other */
	int j2 = (j + 1 + rng_int(r, 2)) % 3;
	add_defect(s, parts[a], j, scale, r);
	add_defect(s, parts[b], j2, scale, r);
}

/* ---- drawing ------------------------------------------------------------- */

static double coverage(double sd, double px)
{
	double c = 0.5 - sd / px;
	return c < 0 ? 0 : c > 1 ? 1 : c;
}

static void blend(double *col, const double *src, double shade, double cov)
{
	if (cov <= 0)
		return;
	for (int i = 0; i < 3; i++)
		col[i] += cov * (src[i] * shade - col[i]);
}

/* Signed distance to a V-notch cut inward from radius rim around (x0, y0)
 * along unit (nx, ny), depth deep, half-width half at the rim. */
static double notch_sd(double px, double py, double x0, double y0, double nx, double ny,
		       double rim, double depth, double half)
{
	double dx = px - x0, dy = py - y0;
	double rr = dx * nx + dy * ny, tt = fabs(-dx * ny + dy * nx);
	double kk = half / depth;
	return (tt - kk * (rr - (rim - depth))) / sqrt(1.0 + kk * kk);
}

static double seg_dist(double px, double py, double x0, double y0, double x1, double y1)
{
	double vx = x1 - x0, vy = y1 - y0, wx = px - x0, wy = py - y0;
	double t = (wx * vx + wy * vy) / (vx * vx + vy * vy);
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	double dx = wx - t * vx, dy = wy - t * vy;
	return sqrt(dx * dx + dy * dy);
}

static void draw_conductor(const struct scene *s, const struct conductor *c, double u, double v,
			   double *col)
{
	double ex = u - c->x, ey = v - c->y, e = sqrt(ex * ex + ey * ey), px = s->px;
	if (e > s->r_c + px)
		return;
	if (!c->present) {
		blend(col, col_void, 1.0, coverage(e - s->r_c * 0.96, px));
		return;
	}
	const double *ins = col_ins[c->colour];
	if (c->colour == 0 && ex * c->stripe_x + ey * c->stripe_y > STRIPE_COS * e)
		ins = col_yellow;
	double mid = 0.5 * (s->r_c + s->r_core), half = 0.5 * (s->r_c - s->r_core);
	double t = (e - mid) / half;
	blend(col, ins, 1.0 - 0.22 * t * t, coverage(e - s->r_c, px));
	if (!c->strands) {
		blend(col, col_void, 1.0, coverage(e - s->r_core, px));
	} else {
		blend(col, col_copper_gap, 1.0, coverage(e - s->r_core, px));
		for (int i = 0; i < NSTRANDS; i++) {
			if (c->moved[i])
				continue;
			double dx = u - c->sx[i], dy = v - c->sy[i], ds = sqrt(dx * dx + dy * dy);
			if (ds > s->r_s + px)
				continue;
			double q = ds / s->r_s;
			double sh = 0.62 + 0.5 * (1.0 - q * q);
			blend(col, col_copper, sh, coverage(ds - s->r_s, px));
		}
	}
	if (c->notch) { /* cuts through the insulation into the outer strands */
		double sd = notch_sd(u, v, c->x, c->y, c->nx, c->ny, s->r_c, c->ndepth, c->nhalf);
		if (e - s->r_c > sd)
			sd = e - s->r_c;
		blend(col, col_cut_inner, 1.0, coverage(sd, px));
	}
}

/* The colour of the scene at (u, v), before lighting and noise. */
static void scene_shade(const struct scene *s, double u, double v, double *col)
{
	double px = s->px;
	for (int i = 0; i < 3; i++)
		col[i] = col_bg[i];
	double dx = u - s->cx, dy = v - s->cy, d = sqrt(dx * dx + dy * dy);
	if (d > s->r_outer + px)
		return;
	double mid = 0.5 * (s->r_outer + s->r_inner), half = 0.5 * (s->r_outer - s->r_inner);
	double t = (d - mid) / half;
	blend(col, col_sheath, 1.0 - 0.25 * t * t, coverage(d - s->r_outer, px));
	double q = d / s->r_inner;
	blend(col, col_filler, 1.0 - 0.12 * q * q, coverage(d - s->r_inner, px));
	if (s->onotch) {
		double sd = notch_sd(u, v, s->cx, s->cy, s->onx, s->ony, s->r_outer, s->ondepth,
				     s->onhalf);
		if (d - s->r_outer > sd)
			sd = d - s->r_outer;
		blend(col, col_cut, 1.0, coverage(sd, px));
	}
	for (int j = 0; j < 3; j++)
		draw_conductor(s, &s->cond[j], u, v, col);
	if (s->poke) {
		double ex = u - s->pkx, ey = v - s->pky, e = sqrt(ex * ex + ey * ey);
		if (e < 1.6 * s->pkr + px) {
			double rim[3];
			for (int i = 0; i < 3; i++)
				rim[i] = 0.5 * (col[i] + col_rim[i]);
			blend(col, rim, 1.0, coverage(e - 1.5 * s->pkr, px));
			blend(col, col_void, 1.0, coverage(e - s->pkr, px));
		}
	}
	for (int b = 0; b < s->n_bent; b++) {
		double e = seg_dist(u, v, s->bx0[b], s->by0[b], s->bx1[b], s->by1[b]);
		if (e > s->br + px)
			continue;
		double qq = e / s->br;
		blend(col, col_copper, 0.65 + 0.45 * (1.0 - qq * qq), coverage(e - s->br, px));
	}
}

/* (3, size, size) linear floats of the scene. */
static void scene_render(const struct scene *s, double *out)
{
	int n = s->size;
	size_t plane = (size_t)n * n;
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			double col[3];
			scene_shade(s, (x + 0.5) / n, (y + 0.5) / n, col);
			for (int c = 0; c < 3; c++)
				out[c * plane + (size_t)y * n + x] = col[c];
		}
}

/* Lighting, noise and 8-bit rounding into interleaved rgb (h, w, 3). The
 * noise of a pixel depends only on its position and the scene's seed. */
static void scene_finish(const struct scene *s, const double *lin, uint8_t *rgb)
{
	int n = s->size;
	size_t plane = (size_t)n * n;
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n; x++) {
			double u = (x + 0.5) / n - 0.5, v = (y + 0.5) / n - 0.5;
			double light = s->gain * (1.0 + s->grad_x * u + s->grad_y * v) *
				       (1.0 - s->vignette * (u * u + v * v));
			size_t idx = (size_t)y * n + x;
			for (int c = 0; c < 3; c++) {
				uint64_t h = mix64(s->noise_seed ^ (idx * 3 + (size_t)c));
				double sum = (double)(h & 0xffff) + (double)((h >> 16) & 0xffff) +
					     (double)((h >> 32) & 0xffff) + (double)(h >> 48);
				double noise = (sum / 65536.0 - 2.0) * 1.7320508075688772;
				double val = lin[c * plane + idx] * light * s->tint[c] + s->sigma * noise;
				double q = floor(val * 255.0 + 0.5);
				rgb[idx * 3 + (size_t)c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
			}
		}
}

static uint64_t image_seed(uint64_t seed, int folder, int index)
{
	uint64_t x = seed;
	uint64_t a = prng_splitmix64(&x);
	return mix64(a ^ mix64(((uint64_t)folder << 32) | (uint32_t)index));
}

int synth_render(const struct synth_options *o, int folder, int index, uint8_t *rgb,
		 uint8_t *mask, uint8_t *clean)
{
	if (synth_options_check(o) != 0)
		return -1;
	if (folder < 0 || folder >= NFOLDERS || index < 0)
		return error("invalid synthetic image %d of folder %d", index, folder);
	int n = o->size;
	size_t plane = (size_t)n * n;
	struct prng r;
	uint64_t seed = image_seed(o->seed, folder, index);
	prng_seed(&r, seed);
	struct scene base;
	scene_draw(&base, n, o->rotation, &r);
	double *lin = xmalloc(sizeof(double) * 3 * plane);
	scene_render(&base, lin);
	scene_finish(&base, lin, rgb);
	if (clean)
		memcpy(clean, rgb, plane * 3);
	if (folder < 2) {
		if (mask)
			memset(mask, 0, plane);
		free(lin);
		return 0;
	}
	enum defect d = (enum defect)(folder - 2);
	double strength = 1.0 / o->difficulty;
	double contrast = strength < 1.0 ? strength : 1.0;
	double *dlin = xmalloc(sizeof(double) * 3 * plane);
	uint8_t *good = xmalloc(plane * 3);
	memcpy(good, rgb, plane * 3);
	struct prng dr;
	prng_seed(&dr, seed ^ 0x64656665637473ull);
	size_t changed = 0;
	for (int attempt = 0; attempt < 16 && changed == 0; attempt++) {
		struct scene def = base;
		apply_defect(&def, d, strength, &dr);
		scene_render(&def, dlin);
		for (size_t i = 0; i < 3 * plane; i++)
			dlin[i] = lin[i] + contrast * (dlin[i] - lin[i]);
		scene_finish(&def, dlin, rgb);
		changed = 0;
		for (size_t i = 0; i < plane; i++) {
			int diff = rgb[3 * i] != good[3 * i] || rgb[3 * i + 1] != good[3 * i + 1] ||
				   rgb[3 * i + 2] != good[3 * i + 2];
			changed += (size_t)diff;
			if (mask)
				mask[i] = diff ? 255 : 0;
		}
	}
	free(good);
	free(dlin);
	free(lin);
	if (changed == 0)
		return error("synthetic %s image %d: the defect changed no pixel",
			     folders[folder].defect, index);
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

static char *manifest_text(const struct synth_options *o)
{
	return xasprintf("darkfold synthetic cable 2\nseed %llu\nsize %d\ndifficulty %.17g\n"
			 "rotation %.17g\n",
			 (unsigned long long)o->seed, o->size, o->difficulty, o->rotation);
}

int synth_generate(const struct synth_options *o, const char *out_dir)
{
	if (synth_options_check(o) != 0)
		return -1;
	char *cat = fs_join(out_dir, SYNTH_CATEGORY);
	char *manifest = fs_join(cat, SYNTH_MANIFEST);
	int rc = fs_mkdir_p(cat);
	if (rc == 0 && fs_is_file(manifest) && remove(manifest) != 0)
		rc = error("cannot remove '%s'", manifest);
	size_t plane = (size_t)o->size * o->size;
	uint8_t *rgb = xmalloc(plane * 3), *mask = xmalloc(plane);
	int nimg = 0, nmask = 0;
	for (int f = 0; rc == 0 && f < NFOLDERS; f++) {
		char *dir = fs_join(cat, folders[f].folder);
		char *gdir = xasprintf("%s/ground_truth/%s", cat, folders[f].defect);
		rc = fs_mkdir_p(dir);
		if (rc == 0 && f >= 2)
			rc = fs_mkdir_p(gdir);
		for (int i = 0; rc == 0 && i < folders[f].count; i++) {
			rc = synth_render(o, f, i, rgb, f >= 2 ? mask : NULL, NULL);
			char *p = xasprintf("%s/%03d.png", dir, i);
			if (rc == 0)
				rc = image_png_write(p, rgb, o->size, o->size, 3);
			free(p);
			nimg += rc == 0;
			if (rc == 0 && f >= 2) {
				p = xasprintf("%s/%03d_mask.png", gdir, i);
				rc = image_png_write(p, mask, o->size, o->size, 1);
				free(p);
				nmask += rc == 0;
			}
		}
		free(dir);
		free(gdir);
	}
	free(rgb);
	free(mask);
	if (rc == 0) {
		char *text = manifest_text(o);
		rc = fs_write_atomic(manifest, text, strlen(text));
		free(text);
	}
	if (rc == 0)
		printf("synth: wrote %d images and %d masks to '%s' (seed %llu, %dx%d, "
		       "difficulty %g, rotation %g)\n",
		       nimg, nmask, cat, (unsigned long long)o->seed, o->size, o->size,
		       o->difficulty, o->rotation);
	free(manifest);
	free(cat);
	return rc;
}

int synth_is_current(const struct synth_options *o, const char *out_dir)
{
	char *cat = fs_join(out_dir, SYNTH_CATEGORY);
	char *manifest = fs_join(cat, SYNTH_MANIFEST);
	int ok = 0;
	if (fs_is_file(manifest)) {
		FILE *f = fopen(manifest, "rb");
		char buf[256];
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		char *want = manifest_text(o);
		ok = !strcmp(buf, want);
		free(want);
	}
	free(manifest);
	free(cat);
	return ok;
}

/* ---- contact sheet --------------------------------------------------------- */

/* 5x8 glyphs for the labels (row 7 is the descender), one byte per row,
 * bit 4 = leftmost column. */
static const struct {
	char ch;
	uint8_t rows[8];
} glyphs[] = {
	{ 'a', { 0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00 } },
	{ 'b', { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00 } },
	{ 'c', { 0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00 } },
	{ 'd', { 0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00 } },
	{ 'e', { 0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00 } },
	{ 'g', { 0x00, 0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E } },
	{ 'i', { 0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00 } },
	{ 'k', { 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00 } },
	{ 'l', { 0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00 } },
	{ 'm', { 0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00 } },
	{ 'n', { 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00 } },
	{ 'o', { 0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00 } },
	{ 'p', { 0x00, 0x00, 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10 } },
	{ 'r', { 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00 } },
	{ 's', { 0x00, 0x00, 0x0F, 0x10, 0x0E, 0x01, 0x1E, 0x00 } },
	{ 't', { 0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00 } },
	{ 'u', { 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00 } },
	{ 'w', { 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00 } },
	{ '_', { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F, 0x00 } },
};

#define TILE 256
#define GAP 4
#define LABEL_H 18

/* Draw text in white at (x0, y0) at scale 2, clipped to [x0, xmax). */
static void draw_text(uint8_t *img, int w, int x0, int y0, int xmax, const char *text)
{
	for (int k = 0; text[k]; k++) {
		const uint8_t *rows = NULL;
		for (size_t g = 0; g < sizeof glyphs / sizeof glyphs[0]; g++)
			if (glyphs[g].ch == text[k])
				rows = glyphs[g].rows;
		if (!rows)
			continue;
		for (int ry = 0; ry < 8; ry++)
			for (int rx = 0; rx < 5; rx++) {
				if (!(rows[ry] >> (4 - rx) & 1))
					continue;
				int x = x0 + k * 12 + rx * 2, y = y0 + ry * 2;
				for (int dy = 0; dy < 2; dy++)
					for (int dx = 0; dx < 2; dx++)
						if (x + dx < xmax)
							memset(img + ((size_t)(y + dy) * w + x + dx) * 3,
							       255, 3);
			}
	}
}

/* Copy an (h, w, 3) byte image scaled to TILE x TILE into the sheet; the
 * area filter shrinks, pixel replication enlarges. down > 0 first shrinks to
 * down x down (what a network with that input size sees). */
static void put_tile(uint8_t *sheet, int sw, int x0, int y0, const uint8_t *rgb, int n,
		     int down)
{
	struct image im, small, big;
	image_init(&im, n, n, 3);
	size_t plane = (size_t)n * n;
	for (size_t i = 0; i < plane; i++)
		for (int c = 0; c < 3; c++)
			im.data[c * plane + i] = rgb[3 * i + (size_t)c] / 255.0f;
	if (down > 0) {
		image_resize(&im, down, down, &small);
		image_release(&im);
		im = small;
	}
	image_resize(&im, TILE, TILE, &big);
	size_t tp = (size_t)TILE * TILE;
	for (int y = 0; y < TILE; y++)
		for (int x = 0; x < TILE; x++)
			for (int c = 0; c < 3; c++)
				sheet[((size_t)(y0 + y) * sw + x0 + x) * 3 + c] =
					image_to_u8(big.data[c * tp + (size_t)y * TILE + x]);
	image_release(&im);
	image_release(&big);
}

int synth_contact_sheet(const struct synth_options *o, const char *path)
{
	if (synth_options_check(o) != 0)
		return -1;
	int cols = NFOLDERS - 1, rows = 3;
	int sw = cols * (TILE + GAP) + GAP, sh = LABEL_H + rows * (TILE + GAP) + GAP;
	uint8_t *sheet = xcalloc((size_t)sw * sh * 3, 1);
	int n = o->size;
	size_t plane = (size_t)n * n;
	uint8_t *rgb = xmalloc(plane * 3), *mask = xmalloc(plane), *tinted = xmalloc(plane * 3);
	int rc = 0;
	for (int col = 0; rc == 0 && col < cols; col++) {
		int f = col + 1; /* test/good, then the defect folders */
		rc = synth_render(o, f, 0, rgb, mask, NULL);
		if (rc != 0)
			break;
		int x0 = GAP + col * (TILE + GAP);
		draw_text(sheet, sw, x0, 1, x0 + TILE, folders[f].defect);
		put_tile(sheet, sw, x0, LABEL_H, rgb, n, 0);
		for (size_t i = 0; i < plane; i++)
			for (int c = 0; c < 3; c++) {
				int v = rgb[3 * i + (size_t)c];
				if (mask[i])
					v = c == 0 ? (v + 3 * 255) / 4 : v / 4;
				tinted[3 * i + (size_t)c] = (uint8_t)v;
			}
		put_tile(sheet, sw, x0, LABEL_H + TILE + GAP, tinted, n, 0);
		put_tile(sheet, sw, x0, LABEL_H + 2 * (TILE + GAP), rgb, n, 64);
	}
	if (rc == 0)
		rc = image_png_write(path, sheet, sw, sh, 3);
	free(rgb);
	free(mask);
	free(tinted);
	free(sheet);
	return rc;
}
