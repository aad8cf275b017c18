/* cache.c: the decode-once image cache file. */
#include "cache.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the cache file format assumes a little-endian host"
#endif

static const char cache_magic[8] = { 'D', 'F', 'C', 'A', 'C', 'H', 'E', '\0' };

/* magic, 5 x u32, key, u64 checksum */
#define HEADER_SIZE (8 + 5 * 4 + 64 + 8)

/* Names the resampling in the key: a change to it must invalidate caches. */
#define CACHE_PREPROCESS "png-decode alpha=drop gray=replicate luma=rec709 resize=area"

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 64-bit FNV-1a over the payload's 32-bit words: catches truncation damage
 * and flipped bits cheaply (not a cryptographic check). */
static uint64_t payload_checksum(const float *data, size_t nfloats)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p = (const unsigned char *)data;
	for (size_t i = 0; i < nfloats; i++) {
		uint32_t w;
		memcpy(&w, p + 4 * i, 4);
		h ^= w;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void cache_key(const struct dataset *d, int w, int h, int c, char key[65])
{
	struct sha256 s;
	sha256_init(&s);
	char *head = xasprintf("darkfold cache %d\n%s\n%dx%dx%d\n%s\n%d\n", CACHE_VERSION,
			       CACHE_PREPROCESS, w, h, c, d->dir, d->n);
	sha256_update(&s, head, strlen(head));
	free(head);
	for (int i = 0; i < d->n; i++) {
		char *line = xasprintf("%s\t%lld\t%lld\n", d->items[i].path,
				       (long long)d->items[i].size, (long long)d->items[i].mtime_ns);
		sha256_update(&s, line, strlen(line));
		free(line);
	}
	sha256_final_hex(&s, key);
}

/* What the images are, wherever they are and whenever they were written:
 * SHA-256 over the preprocessing, the size, each image's path below the
 * category folder and its label, and the decoded pixels. */
static void data_key(const struct dataset *d, const struct cache *cc, char key[65])
{
	struct sha256 s;
	sha256_init(&s);
	char *head = xasprintf("darkfold data %d\n%s\n%dx%dx%d\n%d\n", CACHE_VERSION,
			       CACHE_PREPROCESS, cc->w, cc->h, cc->c, d->n);
	sha256_update(&s, head, strlen(head));
	free(head);
	for (int i = 0; i < d->n; i++) {
		char *line = xasprintf("%s\t%d\n", d->items[i].rel, d->items[i].label);
		sha256_update(&s, line, strlen(line));
		free(line);
	}
	sha256_update(&s, cc->data, sizeof(float) * (size_t)cc->n * cc->c * cc->h * cc->w);
	sha256_final_hex(&s, key);
}

char *cache_path(const struct dataset *d, int w, int h, int c, const char *cache_dir)
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, d->dir, strlen(d->dir) + 1);
	for (int i = 0; i < d->n; i++)
		sha256_update(&s, d->items[i].rel, strlen(d->items[i].rel) + 1);
	char hex[65];
	sha256_final_hex(&s, hex);
	hex[12] = '\0';
	char *name = xasprintf("%s-%dx%dx%d-%s.cache", d->category, w, h, c, hex);
	char *p = fs_join(cache_dir, name);
	free(name);
	return p;
}

const float *cache_image(const struct cache *cc, int i)
{
	return cc->data + (size_t)i * cc->c * cc->h * cc->w;
}

void cache_release(struct cache *cc)
{
	if (!cc)
		return;
	free(cc->data);
	memset(cc, 0, sizeof *cc);
}

/* Decoding is spread over threads that take images in index order; the
 * failure reported is the one of the lowest index, whatever the timing. */
struct build_job {
	const struct dataset *d;
	int w, h, c;
	float *data;
	pthread_mutex_t mu;
	int next;      /* the next image to take */
	int failed;    /* lowest failing index, or -1 */
	char err[400]; /* its message */
};

static int decode_one(struct build_job *j, int i, char *err, size_t errn)
{
	struct image im, rs;
	size_t per = (size_t)j->w * j->h * j->c;
	if (image_png_read_quiet(j->d->items[i].path, j->c, &im, NULL, err, errn) != 0)
		return -1;
	if (im.w == j->w && im.h == j->h) {
		memcpy(j->data + per * i, im.data, sizeof(float) * per);
	} else {
		image_resize(&im, j->w, j->h, &rs);
		memcpy(j->data + per * i, rs.data, sizeof(float) * per);
		image_release(&rs);
	}
	image_release(&im);
	return 0;
}

static void *build_worker(void *arg)
{
	struct build_job *j = arg;
	char err[400];
	for (;;) {
		pthread_mutex_lock(&j->mu);
		int i = j->next++;
		int stop = i >= j->d->n || (j->failed >= 0 && i > j->failed);
		pthread_mutex_unlock(&j->mu);
		if (stop)
			return NULL;
		if (decode_one(j, i, err, sizeof err) != 0) {
			pthread_mutex_lock(&j->mu);
			if (j->failed < 0 || i < j->failed) {
				j->failed = i;
				memcpy(j->err, err, sizeof err);
			}
			pthread_mutex_unlock(&j->mu);
		}
	}
}

/* Threads for decoding: the online processors, at most 8. */
static int build_threads(int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int t = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
	return t < n ? t : (n > 0 ? n : 1);
}

int cache_build(const struct dataset *d, int w, int h, int c, struct cache *out)
{
	memset(out, 0, sizeof *out);
	if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (c != 1 && c != 3))
		return error("invalid cache image size %dx%dx%d", w, h, c);
	size_t per = (size_t)w * h * c;
	out->w = w;
	out->h = h;
	out->c = c;
	out->n = d->n;
	out->data = try_calloc(per * (size_t)(d->n > 0 ? d->n : 1), sizeof(float), "the image cache");
	if (!out->data)
		return -1;
	cache_key(d, w, h, c, out->key);
	struct build_job j = { .d = d, .w = w, .h = h, .c = c, .data = out->data, .failed = -1 };
	pthread_mutex_init(&j.mu, NULL);
	int nt = build_threads(d->n), started = 0;
	pthread_t tid[8];
	for (int t = 1; t < nt; t++)
		if (pthread_create(&tid[started], NULL, build_worker, &j) == 0)
			started++;
	build_worker(&j); /* this thread works too */
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.failed >= 0) {
		cache_release(out);
		return error("%s", j.err);
	}
	return 0;
}

/* Why the file at path cannot be used, or NULL if *out now holds it. */
static const char *cache_read(const char *path, const struct dataset *d, int w, int h, int c,
			      const char *key, struct cache *out)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f)
		return "missing";
	const char *why = NULL;
	unsigned char hd[HEADER_SIZE];
	struct stat st;
	size_t per = (size_t)w * h * c, nfloats = per * (size_t)d->n;
	if (fread(hd, 1, sizeof hd, f) != sizeof hd) {
		why = "corrupt: short header";
		goto done;
	}
	if (memcmp(hd, cache_magic, 8)) {
		why = "corrupt: bad magic";
		goto done;
	}
	if (get_u32(hd + 8) != CACHE_VERSION) {
		why = "stale: other format version";
		goto done;
	}
	if (get_u32(hd + 12) != (uint32_t)w || get_u32(hd + 16) != (uint32_t)h ||
	    get_u32(hd + 20) != (uint32_t)c || get_u32(hd + 24) != (uint32_t)d->n) {
		why = "stale: other dimensions or image count";
		goto done;
	}
	if (memcmp(hd + 28, key, 64)) {
		why = "stale: source files or preprocessing changed";
		goto done;
	}
	if (fstat(fileno(f), &st) != 0 ||
	    (uint64_t)st.st_size != HEADER_SIZE + (uint64_t)nfloats * sizeof(float)) {
		why = "corrupt: wrong file length";
		goto done;
	}
	out->data = xmalloc(sizeof(float) * (nfloats ? nfloats : 1));
	if (fread(out->data, sizeof(float), nfloats, f) != nfloats) {
		why = "corrupt: short read";
		goto done;
	}
	uint64_t sum = 0;
	memcpy(&sum, hd + 92, 8);
	if (sum != payload_checksum(out->data, nfloats)) {
		why = "corrupt: checksum mismatch";
		goto done;
	}
	out->w = w;
	out->h = h;
	out->c = c;
	out->n = d->n;
	memcpy(out->key, key, 65);
done:
	fclose(f);
	if (why)
		cache_release(out);
	return why;
}

/* Write cc to path through a temporary file in the same directory, fsync and
 * rename; the temporary is removed on failure. */
static int cache_write(const char *path, const struct cache *cc)
{
	unsigned char hd[HEADER_SIZE];
	size_t nfloats = (size_t)cc->n * cc->c * cc->h * cc->w;
	memcpy(hd, cache_magic, 8);
	put_u32(hd + 8, CACHE_VERSION);
	put_u32(hd + 12, (uint32_t)cc->w);
	put_u32(hd + 16, (uint32_t)cc->h);
	put_u32(hd + 20, (uint32_t)cc->c);
	put_u32(hd + 24, (uint32_t)cc->n);
	memcpy(hd + 28, cc->key, 64);
	uint64_t sum = payload_checksum(cc->data, nfloats);
	memcpy(hd + 92, &sum, 8);
	const void *parts[2] = { hd, cc->data };
	size_t lens[2] = { sizeof hd, nfloats * sizeof(float) };
	return fs_write_atomic_parts(path, parts, lens, 2, 1);
}

int cache_load(const struct dataset *d, int w, int h, int c, const char *cache_dir,
	       struct cache *out)
{
	memset(out, 0, sizeof *out);
	if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (c != 1 && c != 3))
		return error("invalid cache image size %dx%dx%d", w, h, c);
	char key[65];
	cache_key(d, w, h, c, key);
	char *path = cache_path(d, w, h, c, cache_dir);
	const char *why = cache_read(path, d, w, h, c, key, out);
	if (!why) {
		free(path);
		data_key(d, out, out->data_key);
		return 0;
	}
	printf("cache: building '%s' from %d images at %dx%dx%d (%s)\n", path, d->n, w, h, c, why);
	fflush(stdout);
	int rc = fs_mkdir_p(cache_dir);
	if (rc == 0)
		rc = cache_build(d, w, h, c, out);
	if (rc == 0 && cache_write(path, out) != 0) {
		cache_release(out);
		rc = -1;
	}
	if (rc == 0)
		data_key(d, out, out->data_key);
	free(path);
	return rc;
}
