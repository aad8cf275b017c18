/* cache.h: decoded, resized images of a dataset, kept in one binary file so
 * each PNG is decoded once per preprocessing setting.
 *
 * File layout (little-endian): magic "DFCACHE\0", u32 version, u32 width,
 * u32 height, u32 channels, u32 count, 64-byte hex key, u64 payload checksum,
 * then count images of (C, H, W) floats in [0,1]. The key hashes the source
 * list (paths, sizes, mtimes) and the preprocessing; a file with another key,
 * version or size is stale, a file whose length or checksum is wrong is
 * corrupt, and either is rebuilt (saying so), never used.
 *
 * The file is <cache_dir>/<category>-<W>x<H>x<C>-<id>.cache, where id hashes
 * the category directory and the list of selected images, so different
 * sizes, channel counts and selections keep separate files. */
#ifndef DARKFOLD_CACHE_H
#define DARKFOLD_CACHE_H

#include "dataset.h"

#define CACHE_VERSION 1

struct cache {
	int w, h, c, n;
	float *data; /* (n, c, h, w), owned */
	char key[65];
	/* What the images are, not where or when they were written: SHA-256
	 * over the preprocessing, the size, each image's path below the
	 * category folder and label, and the decoded pixels. The same for a
	 * moved checkout or regenerated identical data; set by cache_load. */
	char data_key[65];
};

/* Load the cache for (dataset, w, h, c) from cache_dir, building it (and
 * writing it atomically) when missing or stale. Prints one progress line when
 * it builds. Returns 0 or -1 (e.g. an image that does not decode, naming it). */
int cache_load(const struct dataset *d, int w, int h, int c, const char *cache_dir,
	       struct cache *out);
/* Pointer to image i: (c, h, w) floats. */
const float *cache_image(const struct cache *cc, int i);
void cache_release(struct cache *cc);

/* The cache file cache_load() uses for these arguments (new string). */
char *cache_path(const struct dataset *d, int w, int h, int c, const char *cache_dir);

/* Decode the PNG of every item of d, resized to w x h with c channels, into
 * out without touching any file. Images are decoded in parallel (one thread
 * per online processor, at most 8); the result does not depend on the
 * number of threads. Returns 0, or -1 naming the failing image of lowest
 * index. */
int cache_build(const struct dataset *d, int w, int h, int c, struct cache *out);

#endif
