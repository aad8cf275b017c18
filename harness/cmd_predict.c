/* cmd_predict.c: `darkfold predict`: score images with a trained unit, or a
 * cfg and its weights, one line per image. */
#include "commands.h"
#include "cfg.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "net.h"
#include "score.h"
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_predict_usage[] =
	"usage: darkfold predict [--maps DIR] MODEL IMAGE...\n"
	"   or: darkfold predict --cfg FILE --weights FILE [--threshold T] IMAGE...\n"
	"\n"
	"Print, for each PNG image, its path, P(anomalous) and the verdict at the\n"
	"model's threshold, tab-separated, one line per image:\n"
	"  data/cable/test/cut/000.png\t0.973412\tanomalous\n"
	"\n"
	"MODEL is a trained unit: its result file (results/<exp>/<model>/r<R>-f<F>.json)\n"
	"or its work folder (results/<exp>/<model>/r<R>-f<F>/). The unit's effective\n"
	"cfg, trained weights and threshold are used. Images are decoded and resized\n"
	"exactly as for training.\n"
	"\n"
	"options:\n"
	"  --cfg FILE       a Darknet cfg ending in a 2-way [softmax] (class 1 = anomalous)\n"
	"  --weights FILE   its weights\n"
	"  --threshold T    call an image anomalous when P >= T (default: the unit's, or 0.5)\n"
	"  --maps DIR       one-class models: also write each image's anomaly map\n"
	"                   (squared reconstruction error, mean over channels) as\n"
	"                   DIR/<image name>.map.png, 8-bit grey, white at an error of 0.25\n"
	"\n"
	"A one-class unit (kind one_class) prints its anomaly score (pooled as its\n"
	"experiment says) instead of P; a reconstruction cfg given with --cfg is\n"
	"scored with max_local pooling over 4x4 windows.";

/* Grey level 255 of a written anomaly map: squared error 0.25, an error of
 * half the intensity range. */
#define PREDICT_MAP_WHITE 0.25

struct model {
	char *cfg, *weights;
	double threshold;
	struct score_spec sp;
};

static void model_release(struct model *m)
{
	free(m->cfg);
	free(m->weights);
}

/* Fill m from a unit's result file. */
static int model_from_result(const char *path, struct model *m)
{
	struct json *j = unit_file_parse(path);
	if (!j)
		return -1;
	int rc = 0;
	const char *status = json_string(json_get(j, "status"));
	const char *cfg = json_string(json_get(json_get(j, "cfg"), "effective"));
	const char *w = json_string(json_get(j, "weights"));
	double t = json_number(json_get(json_get(j, "threshold"), "value"));
	if (!status || !json_get(j, "format"))
		rc = error("'%s' is not a darkfold unit result file", path);
	else if (strcmp(status, "ok"))
		rc = error("'%s': the unit has status %s, not ok: it has no trained model", path,
			   status);
	else if (!cfg || !w || !isfinite(t))
		rc = error("'%s' lacks the effective cfg, weights or threshold", path);
	const char *kind = json_string(json_get(j, "kind"));
	const struct json *score = json_get(j, "score");
	const char *pool = json_string(json_get(score, "pooling"));
	if (rc == 0) {
		m->cfg = xstrdup(cfg);
		m->weights = xstrdup(w);
		m->threshold = t;
		m->sp.one_class = kind && !strcmp(kind, "one_class");
		m->sp.pool = pool && !strcmp(pool, "mean") ? ANOMALY_POOL_MEAN : ANOMALY_POOL_MAX_LOCAL;
		m->sp.k = json_type(json_get(score, "k")) == JSON_NUMBER
				  ? (int)json_number(json_get(score, "k"))
				  : 4;
	}
	json_free(j);
	return rc;
}

static int model_resolve(const char *arg, struct model *m)
{
	if (fs_is_file(arg))
		return model_from_result(arg, m);
	if (!fs_is_dir(arg))
		return error("no trained unit at '%s' (give its result file or work folder)", arg);
	size_t len = strlen(arg);
	while (len > 1 && arg[len - 1] == '/')
		len--;
	char *result = xasprintf("%.*s.json", (int)len, arg);
	int rc;
	if (fs_is_file(result)) {
		rc = model_from_result(result, m);
	} else {
		m->cfg = fs_join(arg, "effective.cfg");
		m->weights = fs_join(arg, "final.weights");
		m->threshold = 0.5;
		rc = 0;
		if (!fs_is_file(m->cfg) || !fs_is_file(m->weights))
			rc = error("'%s' holds no effective.cfg and final.weights", arg);
	}
	free(result);
	return rc;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	*out = strtod(s, &end);
	return *s && !*end && isfinite(*out);
}

int cmd_predict(int argc, char **argv)
{
	struct model m = { NULL, NULL, NAN, { 0, ANOMALY_POOL_MAX_LOCAL, 4 } };
	const char *cfg = NULL, *weights = NULL, *maps = NULL;
	double threshold = NAN;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "error: option '%s' needs a value\n%s\n", argv[i], cmd_predict_usage);
			return 2;
		}
		if (!strcmp(argv[i], "--cfg"))
			cfg = argv[++i];
		else if (!strcmp(argv[i], "--weights"))
			weights = argv[++i];
		else if (!strcmp(argv[i], "--maps"))
			maps = argv[++i];
		else if (!strcmp(argv[i], "--threshold")) {
			if (!parse_double(argv[++i], &threshold) || threshold <= 0 || threshold >= 1) {
				fprintf(stderr, "error: --threshold: expected a number in (0, 1), got '%s'\n",
					argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "error: unknown option '%s'\n%s\n", argv[i], cmd_predict_usage);
			return 2;
		}
	}
	if ((cfg == NULL) != (weights == NULL)) {
		fprintf(stderr, "error: --cfg and --weights go together\n%s\n", cmd_predict_usage);
		return 2;
	}
	if (cfg) {
		m.cfg = xstrdup(cfg);
		m.weights = xstrdup(weights);
		m.threshold = 0.5;
		struct cfg cc;
		if (cfg_load(cfg, 0, &cc) < 0) {
			model_release(&m);
			return 1;
		}
		m.sp.one_class = cfg_is_reconstruction(&cc);
		cfg_release(&cc);
	} else {
		if (i >= argc) {
			fprintf(stderr, "error: no model given\n%s\n", cmd_predict_usage);
			return 2;
		}
		if (model_resolve(argv[i++], &m) < 0) {
			model_release(&m);
			return 1;
		}
	}
	if (!isnan(threshold))
		m.threshold = threshold;
	if (i >= argc) {
		fprintf(stderr, "error: no images given\n%s\n", cmd_predict_usage);
		model_release(&m);
		return 2;
	}

	if (maps && !m.sp.one_class) {
		fprintf(stderr, "error: --maps: '%s' is a supervised model; only one-class models "
				"have anomaly maps\n", m.cfg);
		model_release(&m);
		return 2;
	}
	if (maps && fs_mkdir_p(maps) < 0) {
		model_release(&m);
		return 1;
	}
	struct net *n = NULL;
	if ((m.sp.one_class ? net_build_reconstruction : net_build)(m.cfg, 0, NULL, &n) < 0 ||
	    net_load_weights(n, m.weights, -1) < 0) {
		net_free(n);
		model_release(&m);
		return 1;
	}
	int w = net_width(n), h = net_height(n), c = net_channels(n), status = 0;
	for (; i < argc; i++) {
		struct image im, rs;
		if (image_png_read(argv[i], c, &im, NULL) < 0) {
			status = 1;
			continue;
		}
		const struct image *x = &im;
		if (im.w != w || im.h != h) {
			image_resize(&im, w, h, &rs);
			x = &rs;
		}
		double p;
		double *map = xmalloc((size_t)w * h * sizeof(double)); /* (H, W) */
		score_images(n, &m.sp, x->data, 1, c, h, w, &p, m.sp.one_class ? map : NULL);
		if (maps && isfinite(p)) {
			const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
			size_t len = strlen(base);
			if (len > 4 && !strcmp(base + len - 4, ".png"))
				len -= 4;
			char *name = xasprintf("%.*s.map.png", (int)len, base);
			char *out = fs_join(maps, name);
			if (score_write_map(out, map, h, w, PREDICT_MAP_WHITE) < 0)
				status = 1;
			free(out);
			free(name);
		}
		free(map);
		if (!isfinite(p)) {
			error("'%s': the network gave a non-finite score (%g) with weights '%s'",
			      argv[i], p, m.weights);
			status = 1;
		} else
			printf("%s\t%.6f\t%s\n", argv[i], p, p >= m.threshold ? "anomalous" : "normal");
		fflush(stdout);
		if (x == &rs)
			image_release(&rs);
		image_release(&im);
	}
	net_free(n);
	model_release(&m);
	return status;
}
