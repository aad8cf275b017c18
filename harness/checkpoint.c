/* checkpoint.c: writing and reading a unit's checkpoint (see checkpoint.h). */
#include "checkpoint.h"

#include "error.h"
#include "fsutil.h"
#include "json.h"
#include "sha256.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CKPT_MAGIC[8] = { 'D', 'F', 'C', 'K', 'P', 'T', '0', '2' };
#define CKPT_HEAD 24 /* magic and the two lengths */
#define CKPT_SUM 64

int ckpt_write(const char *path, const char *key, const struct progress *p, const struct net *n)
{
	struct jw w;
	jw_init(&w);
	jw_obj_begin(&w);
	jw_kstr(&w, "key", key ? key : "");
	jw_kint(&w, "epoch", p->epoch);
	jw_kint(&w, "stopped", p->stopped);
	jw_key(&w, "rng");
	jw_arr_begin(&w);
	for (int i = 0; i < 4; i++) {
		char hex[17];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)p->rng.s[i]);
		jw_str(&w, hex);
	}
	jw_arr_end(&w);
	jw_kint(&w, "best_epoch", p->best_epoch);
	jw_knum(&w, "best_val_loss", p->best_val);
	jw_kint(&w, "since_best", p->since_best);
	jw_knum(&w, "seconds", p->seconds);
	jw_knum(&w, "step_seconds", p->step_seconds);
	jw_kint(&w, "images", p->images);
	jw_key(&w, "curve");
	train_curve_write(&w, p->curve, p->epoch);
	jw_obj_end(&w);

	char *state;
	size_t slen;
	net_state_save(n, &state, &slen);
	uint64_t jl = w.len, sl = slen;
	size_t total = CKPT_HEAD + jl + sl + CKPT_SUM;
	char *buf = xmalloc(total), *q = buf;
	memcpy(q, CKPT_MAGIC, 8), q += 8;
	memcpy(q, &jl, 8), q += 8;
	memcpy(q, w.buf, jl), q += jl;
	memcpy(q, &sl, 8), q += 8;
	memcpy(q, state, sl), q += sl;
	char hex[65];
	sha256_hex(buf, total - CKPT_SUM, hex);
	memcpy(q, hex, CKPT_SUM);
	int rc = fs_write_atomic(path, buf, total);
	free(buf);
	free(state);
	jw_release(&w);
	return rc;
}

/* Integer member key of j in [lo, hi] into *v; -1 when absent or not such
 * an integer. */
static int ckpt_int(const struct json *j, const char *key, long long lo, long long hi,
		    long long *v)
{
	double x = json_number(json_get(j, key));
	if (!(x >= (double)lo && x <= (double)hi) || x != floor(x))
		return -1;
	*v = (long long)x;
	return 0;
}

/* Number member key of j (null reads as NAN, the writer's form of a
 * non-finite value) into *v; -1 when absent or of another type. */
static int ckpt_num(const struct json *j, const char *key, double *v)
{
	const struct json *x = json_get(j, key);
	if (json_type(x) == JSON_NULL) {
		*v = NAN;
		return 0;
	}
	if (json_type(x) != JSON_NUMBER)
		return -1;
	*v = json_number(x);
	return 0;
}

/* The progress held by a checkpoint's JSON; -1 when a field is missing or
 * out of range. */
static int ckpt_progress(const struct json *j, int epochs, struct progress *p)
{
	long long ep, stopped, best, since, images;
	const struct json *curve = json_get(j, "curve"), *rng = json_get(j, "rng");
	if (ckpt_int(j, "epoch", 1, epochs, &ep) < 0 || ckpt_int(j, "stopped", 0, 1, &stopped) < 0 ||
	    ckpt_int(j, "best_epoch", 0, ep, &best) < 0 ||
	    ckpt_int(j, "since_best", 0, ep, &since) < 0 ||
	    ckpt_int(j, "images", 0, 1LL << 52, &images) < 0 ||
	    ckpt_num(j, "best_val_loss", &p->best_val) < 0 ||
	    ckpt_num(j, "seconds", &p->seconds) < 0 ||
	    ckpt_num(j, "step_seconds", &p->step_seconds) < 0 || json_type(curve) != JSON_ARRAY ||
	    json_size(curve) != ep || json_type(rng) != JSON_ARRAY || json_size(rng) != 4)
		return -1;
	if (best == 0)
		p->best_val = INFINITY;
	p->epoch = (int)ep;
	p->stopped = (int)stopped;
	p->best_epoch = (int)best;
	p->since_best = (int)since;
	p->images = images;
	for (int i = 0; i < 4; i++) {
		const char *hex = json_string(json_at(rng, i));
		char *end;
		if (!hex || strlen(hex) != 16)
			return -1;
		p->rng.s[i] = strtoull(hex, &end, 16);
		if (*end)
			return -1;
	}
	for (int e = 0; e < ep; e++) {
		const struct json *c = json_at(curve, e);
		struct train_epoch *t = &p->curve[e];
		long long n;
		if (ckpt_int(c, "epoch", e + 1, e + 1, &n) < 0 ||
		    ckpt_num(c, "train_loss", &t->train_loss) < 0 ||
		    ckpt_num(c, "val_loss", &t->val_loss) < 0 ||
		    ckpt_num(c, "val_accuracy", &t->val_accuracy) < 0 ||
		    ckpt_num(c, "learning_rate", &t->learning_rate) < 0)
			return -1;
		t->epoch = (int)n;
	}
	return 0;
}

/* The JSON header of a checkpoint's bytes, after checking its magic, its
 * checksum and its two lengths; *state and *state_len receive where the
 * network state lies. NULL with *why set when something does not hold. */
static struct json *ckpt_frame(const char *data, size_t len, const char *path,
			       const char **state, uint64_t *state_len, const char **why)
{
	uint64_t jl = 0, sl;
	char hex[65];
	if (len < CKPT_HEAD + CKPT_SUM || memcmp(data, CKPT_MAGIC, 8)) {
		*why = "not a checkpoint of this darkfold version";
		return NULL;
	}
	sha256_hex(data, len - CKPT_SUM, hex);
	if (memcmp(hex, data + len - CKPT_SUM, CKPT_SUM)) {
		*why = "checksum mismatch (truncated or corrupt)";
		return NULL;
	}
	memcpy(&jl, data + 8, 8);
	if (jl > len - CKPT_HEAD - CKPT_SUM) {
		*why = "inconsistent lengths";
		return NULL;
	}
	memcpy(&sl, data + 16 + jl, 8);
	if (sl != len - CKPT_HEAD - CKPT_SUM - jl) {
		*why = "inconsistent lengths";
		return NULL;
	}
	char *text = xmalloc(jl + 1);
	memcpy(text, data + 16, jl);
	text[jl] = '\0';
	struct json *j = json_parse(text, path);
	free(text);
	if (!j)
		*why = "its header is not valid JSON";
	*state = data + CKPT_HEAD + jl;
	*state_len = sl;
	return j;
}

int ckpt_read(const char *path, const char *key, int epochs, struct progress *p, struct net *n)
{
	if (!fs_is_file(path))
		return 0;
	char *data;
	size_t len;
	if (fs_read_file(path, &data, &len) < 0)
		return -1;
	int rc = 0;
	const char *why = NULL, *state = NULL;
	uint64_t sl = 0;
	struct json *j = ckpt_frame(data, len, path, &state, &sl, &why);
	if (!j)
		goto out;
	const char *k = json_string(json_get(j, "key"));
	if (!k || strcmp(k, key ? key : "")) {
		why = "it was made from other inputs";
		goto out;
	}
	struct progress q = *p;
	if (ckpt_progress(j, epochs, &q) < 0) {
		why = "a field is missing or out of range";
		goto out;
	}
	if (net_state_load(n, state, sl, path) < 0) {
		rc = -1;
		goto out;
	}
	*p = q;
	rc = 1;
out:
	if (why)
		warning("'%s': %s: discarding the checkpoint, restarting the unit", path, why);
	json_free(j);
	free(data);
	return rc;
}
