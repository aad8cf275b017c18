/* cmd_predict.c: `darkfold predict`: score images with a trained unit, or a
 * cfg and its weights, one line per image. */
#include "commands.h"
#include "cfg.h"

#include "error.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "net.h"
#include "result.h"
#include "score.h"
#include "strutil.h"
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

/* Exit status bits above the base status 0, and the base of a run that
 * scored (see the usage text). */
enum { PREDICT_ANOMALOUS = 1, PREDICT_FAILED = 2, PREDICT_SCORED_BASE = 2 };

const char cmd_predict_usage[] =
	"usage: darkfold predict [options] MODEL [IMAGE|DIR]...\n"
	"   or: darkfold predict --cfg FILE --weights FILE [options] [IMAGE|DIR]...\n"
	"\n"
	"Print, for each PNG image, its path, P(anomalous) and the verdict at the\n"
	"model's threshold, tab-separated, one line per image:\n"
	"  data/cable/test/cut/000.png\t0.973412\tanomalous\n"
	"\n"
	"MODEL is a trained unit: its result file (results/<exp>/<model>/r<R>-f<F>.json)\n"
	"or its work folder (results/<exp>/<model>/r<R>-f<F>/). The unit's effective\n"
	"cfg, trained weights and threshold are used. Images are decoded and resized\n"
	"exactly as for training. A directory stands for every PNG file below it,\n"
	"in sorted order, recursively; other files in it are reported and skipped.\n"
	"Lines are printed in the order the images were given.\n"
	"\n"
	"options:\n"
	"  --cfg FILE       a Darknet cfg ending in a 2-way [softmax] (class 1 = anomalous)\n"
	"  --weights FILE   its weights\n"
	"  --threshold T    call an image anomalous when P >= T (default: the unit's, or 0.5)\n"
	"  --list FILE      also score the images listed in FILE, one path per line\n"
	"                   ('-': standard input; empty lines are ignored)\n"
	"  --batch N        images per forward pass (default: the cfg's batch; a single\n"
	"                   image is scored at batch 1, for its latency). An image's\n"
	"                   score is the same, bit for bit, whatever the batch and its\n"
	"                   place in it, and the same as in its unit's result file.\n"
	"  --format F       tsv (default), csv (with a header line: path,score,verdict)\n"
	"                   or jsonl ({\"path\": ..., \"score\": ..., \"verdict\": ...}\n"
	"                   per line, the score written to read back exactly)\n"
	"  --maps DIR       one-class models: also write each image's anomaly map\n"
	"                   (squared reconstruction error, mean over channels) as\n"
	"                   DIR/<image name>.map.png, 8-bit grey, white at an error of 0.25\n"
	"\n"
	"A one-class unit (kind one_class) prints its anomaly score (pooled as its\n"
	"experiment says) instead of P; a reconstruction cfg given with --cfg is\n"
	"scored with max_local pooling over 4x4 windows. A knn unit keeps no model\n"
	"(its model is its training images): predicting with it is an error.\n"
	"\n"
	"An image that cannot be read or scored is reported on stderr and the others\n"
	"are still scored. Exit status:\n"
	"  0  every image scored, none anomalous\n"
	"  1  nothing scored: the model, a list or a directory could not be read,\n"
	"     or no image was found\n"
	"  2  usage error\n"
	"  3  every image scored, at least one anomalous\n"
	"  4  at least one image not scored (unreadable, not a PNG, non-finite\n"
	"     score or map not written), none of the others anomalous\n"
	"  5  at least one image not scored, and at least one anomalous";

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
	struct unit_result res;
	if (result_read(path, &res) < 0)
		return -1;
	int rc = 0;
	if (res.status != UNIT_STATUS_OK)
		rc = error("'%s': the unit has status %s, not ok: it has no trained model", path,
			   result_status_name(res.status));
	else if (res.knn)
		rc = error("'%s': a knn unit keeps no model to predict with: its model is its "
			   "normal training images, which are not saved", path);
	else if (!res.effective_cfg || !res.weights || !isfinite(res.threshold))
		rc = error("'%s' lacks the effective cfg, weights or threshold", path);
	if (rc == 0) {
		m->cfg = xstrdup(res.effective_cfg);
		m->weights = xstrdup(res.weights);
		m->threshold = res.threshold;
		m->sp.one_class = res.one_class;
		m->sp.pool = res.score_pooling && !strcmp(res.score_pooling, "mean")
				     ? ANOMALY_POOL_MEAN
				     : ANOMALY_POOL_MAX_LOCAL;
		m->sp.k = isfinite(res.score_k) ? (int)res.score_k : 4;
	}
	result_release(&res);
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

/* A growing list of owned paths. */
struct paths {
	char **v;
	int n, cap;
};

static void paths_add(struct paths *p, char *s)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->v = xrealloc(p->v, (size_t)p->cap * sizeof *p->v);
	}
	p->v[p->n++] = s;
}

static void paths_release(struct paths *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
}

static int is_png_name(const char *s)
{
	size_t len = strlen(s);
	return len > 4 && !strcasecmp(s + len - 4, ".png");
}

/* Add the PNG files below dir, sorted by name at each level, recursively;
 * report the other files on stderr. Returns 0, or -1 when dir cannot be
 * listed. */
static int paths_add_dir(struct paths *p, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return error("cannot list '%s': %s", dir, strerror(errno));
	struct paths names = { NULL, 0, 0 };
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			paths_add(&names, xstrdup(e->d_name));
	closedir(d);
	qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
	int rc = 0;
	for (int i = 0; i < names.n && rc == 0; i++) {
		char *path = fs_join(dir, names.v[i]);
		if (fs_is_dir(path)) {
			rc = paths_add_dir(p, path);
			free(path);
		} else if (is_png_name(names.v[i])) {
			paths_add(p, path);
		} else {
			fprintf(stderr, "darkfold: skipping '%s': not a .png file\n", path);
			free(path);
		}
	}
	paths_release(&names);
	return rc;
}

/* Add the paths listed in file ('-': stdin), one per line, empty lines
 * ignored. Returns 0 or -1. */
static int paths_add_list(struct paths *p, const char *file)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f)
		return error("cannot read '%s': %s", file, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (len > 0)
			paths_add(p, xstrdup(line));
	}
	int rc = ferror(f) ? error("cannot read '%s': %s", file, strerror(errno)) : 0;
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

enum predict_format { FORMAT_TSV, FORMAT_CSV, FORMAT_JSONL };

static void print_csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_line(enum predict_format f, const char *path, double p, const char *verdict)
{
	if (f == FORMAT_TSV) {
		printf("%s\t%.6f\t%s\n", path, p, verdict);
	} else if (f == FORMAT_CSV) {
		print_csv_field(path);
		printf(",%.6f,%s\n", p, verdict);
	} else {
		struct jw w;
		jw_init(&w);
		jw_str(&w, path);
		printf("{\"path\": %.*s, \"score\": %.17g, \"verdict\": \"%s\"}\n", (int)w.len, w.buf,
		       p, verdict);
		jw_release(&w);
	}
}

/* Build m's network at its cfg's batch, or at batch (> 0) through a copy of
 * its cfg with batch= set, written to a temporary file that Darknet parses.
 * Returns 0 or -1. */
static int model_build(const struct model *m, int batch, struct net **out)
{
	int (*build)(const char *, unsigned, const char *, struct net **) =
		m->sp.one_class ? net_build_reconstruction : net_build;
	*out = NULL;
	int rc;
	if (batch == 0) {
		rc = build(m->cfg, 0, NULL, out);
	} else {
		struct cfg cc;
		if (cfg_load(m->cfg, 0, &cc) < 0)
			return -1;
		cfg_set_net_int(&cc, "batch", batch);
		const char *dir = getenv("TMPDIR");
		char *tmp = xasprintf("%s/darkfold-predict-XXXXXX", dir && *dir ? dir : "/tmp");
		int fd = mkstemp(tmp);
		if (fd < 0) {
			rc = error("cannot create '%s': %s", tmp, strerror(errno));
		} else {
			char sha[65];
			close(fd);
			rc = cfg_write(&cc, tmp, sha);
			if (rc == 0)
				rc = build(tmp, 0, NULL, out);
			unlink(tmp);
		}
		cfg_release(&cc);
		free(tmp);
	}
	if (rc == 0 && net_load_weights(*out, m->weights, -1) < 0) {
		net_free(*out);
		*out = NULL;
		rc = -1;
	}
	if (rc == 0)
		net_freeze(*out);
	return rc;
}

/* Write the anomaly map of the image at path to DIR/<name>.map.png.
 * Returns 0 or -1. */
static int write_map(const char *maps, const char *path, const double *map, int h, int w)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base);
	if (len > 4 && !strcmp(base + len - 4, ".png"))
		len -= 4;
	char *name = xasprintf("%.*s.map.png", (int)len, base);
	char *out = fs_join(maps, name);
	int rc = score_write_map(out, map, h, w, PREDICT_MAP_WHITE);
	free(out);
	free(name);
	return rc;
}

/* Longest message kept for an image that cannot be decoded. */
enum { DECODE_MSG = 512 };

/* Decode the image at path to (c, h, w) into x. Returns 0, or -1 with the
 * message in err (DECODE_MSG bytes): decoding runs in a second thread
 * while the network runs, and the network's passes send stderr to its log,
 * so the main thread prints the message. */
static int decode(const char *path, int c, int h, int w, float *x, char *err)
{
	struct image im, rs;
	if (image_png_read_quiet(path, c, &im, NULL, err, DECODE_MSG) < 0)
		return -1;
	const struct image *s = &im;
	if (im.w != w || im.h != h) {
		if (image_resize(&im, w, h, &rs) < 0) {
			image_release(&im);
			snprintf(err, DECODE_MSG, "'%s': cannot resize to %dx%d", path, w, h);
			return -1;
		}
		s = &rs;
	}
	memcpy(x, s->data, (size_t)c * h * w * sizeof(float));
	if (s == &rs)
		image_release(&rs);
	image_release(&im);
	return 0;
}

/* One chunk of images, decoded: X holds k images, at[j] is image j's
 * index in the paths; msg holds the nfailed messages of the images that
 * could not be decoded, DECODE_MSG bytes each. */
struct chunk {
	float *X;  /* (batch + 1, C*H*W) */
	int *at;   /* (batch) */
	char *msg; /* (batch, DECODE_MSG) */
	int k, nfailed;
};

/* What a decoding thread needs: images [s, end) of p into ch. */
struct decode_job {
	const struct paths *p;
	int s, end, c, h, w;
	struct chunk *ch;
};

static void *decode_chunk(void *arg)
{
	struct decode_job *j = arg;
	size_t in = (size_t)j->c * j->h * j->w;
	struct chunk *ch = j->ch;
	ch->k = ch->nfailed = 0;
	for (int i = j->s; i < j->end; i++) {
		if (decode(j->p->v[i], j->c, j->h, j->w, ch->X + (size_t)ch->k * in,
			   ch->msg + (size_t)ch->nfailed * DECODE_MSG) < 0) {
			ch->nfailed++;
			continue;
		}
		ch->at[ch->k++] = i;
	}
	return NULL;
}

/* Score the k decoded images of ch and print their lines, in order. */
static void score_chunk(struct net *n, const struct model *m, const struct paths *p,
			const struct chunk *ch, double *score, double *map, enum predict_format fmt,
			const char *maps, int *anomalous, int *failed)
{
	int w = net_width(n), h = net_height(n), c = net_channels(n);
	size_t plane = (size_t)h * w;
	score_images(n, &m->sp, ch->X, ch->k, c, h, w, score, m->sp.one_class ? map : NULL);
	for (int j = 0; j < ch->k; j++) {
		const char *path = p->v[ch->at[j]];
		double v = score[j];
		if (!isfinite(v)) {
			error("'%s': the network gave a non-finite score (%g) with weights '%s'", path,
			      v, m->weights);
			*failed = 1;
			continue;
		}
		if (maps && write_map(maps, path, map + (size_t)j * plane, h, w) < 0)
			*failed = 1;
		int anom = v >= m->threshold;
		*anomalous |= anom;
		print_line(fmt, path, v, anom ? "anomalous" : "normal");
	}
	fflush(stdout);
}

/* Score every image of p in chunks of batch with network n; print one line
 * per scored image, in order. While a chunk is scored, a second thread
 * decodes the next one (decoding a full-size PNG takes about as long as
 * a small network's forward pass). Sets *anomalous and *failed. */
static void predict_all(struct net *n, const struct model *m, const struct paths *p, int batch,
			enum predict_format fmt, const char *maps, int *anomalous, int *failed)
{
	int w = net_width(n), h = net_height(n), c = net_channels(n);
	size_t in = (size_t)c * h * w;
	struct chunk ch[2];
	for (int i = 0; i < 2; i++) {
		ch[i].X = xmalloc(((size_t)batch + 1) * in * sizeof(float));
		ch[i].at = xmalloc((size_t)batch * sizeof(int));
		ch[i].msg = xmalloc((size_t)batch * DECODE_MSG);
	}
	double *score = xmalloc((size_t)batch * sizeof(double));         /* (B) */
	double *map = xmalloc((size_t)batch * h * w * sizeof(double));   /* (B, H, W) */
	if (fmt == FORMAT_CSV)
		printf("path,score,verdict\n");
	struct decode_job job = { p, 0, batch < p->n ? batch : p->n, c, h, w, &ch[0] };
	decode_chunk(&job);
	for (int s = 0, cur = 0; s < p->n; s += batch, cur ^= 1) {
		pthread_t t;
		int threaded = 0, next = s + batch;
		if (next < p->n) {
			job = (struct decode_job){ p, next, next + batch < p->n ? next + batch : p->n,
						   c, h, w, &ch[cur ^ 1] };
			threaded = pthread_create(&t, NULL, decode_chunk, &job) == 0;
			if (!threaded)
				decode_chunk(&job);
		}
		for (int i = 0; i < ch[cur].nfailed; i++)
			error("%s", ch[cur].msg + (size_t)i * DECODE_MSG);
		*failed |= ch[cur].nfailed > 0;
		if (ch[cur].k > 0)
			score_chunk(n, m, p, &ch[cur], score, map, fmt, maps, anomalous, failed);
		if (threaded)
			pthread_join(t, NULL);
	}
	for (int i = 0; i < 2; i++) {
		free(ch[i].X);
		free(ch[i].at);
		free(ch[i].msg);
	}
	free(map);
	free(score);
}

/* The lists given with --list. */
struct lists {
	const char *v[16];
	int n;
};

static int add_list(const struct cmd_option *opt, const char *v)
{
	struct lists *l = opt->value;
	if (l->n == (int)(sizeof l->v / sizeof *l->v)) {
		usage_error("--list: at most %d lists", l->n);
		return -1;
	}
	l->v[l->n++] = v;
	return 0;
}

/* --threshold: a number strictly between 0 and 1. */
static int set_threshold(const struct cmd_option *opt, const char *v)
{
	char *end;
	double t = strtod(v, &end);
	if (!*v || *end || !isfinite(t) || t <= 0 || t >= 1) {
		usage_error("--threshold: expected a number in (0, 1), got '%s'", v);
		return -1;
	}
	*(double *)opt->value = t;
	return 0;
}

struct predict_opts {
	const char *cfg, *weights, *maps;
	struct lists lists;
	int batch, format; /* format: enum predict_format */
	double threshold;  /* NAN: the model's */
};

static const char *const format_names[] = { "tsv", "csv", "jsonl", NULL };

/* Parse the options of argv into o and move the operands (MODEL, IMAGE...)
 * to argv[0..]. Returns their number, or OPT_HELP or OPT_ERROR. */
static int parse_args(int argc, char **argv, struct predict_opts *o)
{
	*o = (struct predict_opts){ .format = FORMAT_TSV, .threshold = NAN };
	const struct cmd_option opts[] = {
		OPT_STRING("cfg", 0, &o->cfg),
		OPT_STRING("weights", 0, &o->weights),
		OPT_STRING("maps", 0, &o->maps),
		OPT_CALLBACK("list", 0, &o->lists, add_list),
		OPT_INT("batch", 0, &o->batch, 1, 4096),
		OPT_CHOICE("format", 0, &o->format, format_names),
		OPT_CALLBACK("threshold", 0, &o->threshold, set_threshold),
		OPT_END(),
	};
	int n = cmd_parse_options(argc, argv, opts, cmd_predict_usage, OPT_STOP_AT_OPERAND);
	if (n >= 0 && (o->cfg == NULL) != (o->weights == NULL)) {
		usage_error("--cfg and --weights go together");
		fprintf(stderr, "%s\n", cmd_predict_usage);
		return OPT_ERROR;
	}
	return n;
}

/* The model of --cfg and --weights, or of the unit named by *model_arg
 * (NULL: none given). Returns 0, or the exit status to return. */
static int model_load(const struct predict_opts *o, const char *model_arg, struct model *m)
{
	if (o->cfg) {
		m->cfg = xstrdup(o->cfg);
		m->weights = xstrdup(o->weights);
		m->threshold = 0.5;
		struct cfg cc;
		if (cfg_load(o->cfg, 0, &cc) < 0)
			return 1;
		m->sp.one_class = cfg_is_reconstruction(&cc);
		cfg_release(&cc);
	} else if (!model_arg) {
		usage_error("no model given");
		fprintf(stderr, "%s\n", cmd_predict_usage);
		return 2;
	} else if (model_resolve(model_arg, m) < 0) {
		return 1;
	}
	if (!isnan(o->threshold))
		m->threshold = o->threshold;
	return 0;
}

/* The images to score: the n image and directory arguments, then the lists.
 * Returns 0 or -1. */
static int gather_paths(char **args, int n, const struct lists *l, struct paths *p)
{
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		if (fs_is_dir(args[i]))
			rc = paths_add_dir(p, args[i]);
		else
			paths_add(p, xstrdup(args[i]));
	for (int i = 0; i < l->n && rc == 0; i++)
		rc = paths_add_list(p, l->v[i]);
	if (rc == 0 && p->n == 0)
		rc = error("no images to score: the directories and lists given hold no PNG file");
	return rc;
}

/* Score the images of args[0..n-1] and o's lists with m. Returns -1 when
 * nothing was scored, else sets *anomalous and *failed and returns 0. */
static int predict(const struct predict_opts *o, const struct model *m, char **args, int n,
		   int *anomalous, int *failed)
{
	struct paths p = { NULL, 0, 0 };
	struct net *net = NULL;
	int rc = gather_paths(args, n, &o->lists, &p);
	if (rc == 0 && o->maps)
		rc = fs_mkdir_p(o->maps);
	if (rc == 0)
		rc = model_build(m, p.n == 1 ? 1 : o->batch, &net);
	if (rc == 0)
		predict_all(net, m, &p, net_batch(net), (enum predict_format)o->format, o->maps,
			    anomalous, failed);
	net_free(net);
	paths_release(&p);
	return rc;
}

int cmd_predict(int argc, char **argv)
{
	struct predict_opts o;
	int n = parse_args(argc, argv, &o);
	if (n < 0)
		return cmd_options_status(n);
	struct model m = { NULL, NULL, NAN, { 0, ANOMALY_POOL_MAX_LOCAL, 4 } };
	int i = 0, status = model_load(&o, o.cfg || n == 0 ? NULL : argv[i++], &m);
	if (status == 0 && i >= n && o.lists.n == 0) {
		usage_error("no images given");
		fprintf(stderr, "%s\n", cmd_predict_usage);
		status = 2;
	}
	if (status == 0 && o.maps && !m.sp.one_class)
		status = usage_error("--maps: '%s' is a supervised model; only one-class models "
				     "have anomaly maps", m.cfg);
	int anomalous = 0, failed = 0;
	if (status == 0 && predict(&o, &m, argv + i, n - i, &anomalous, &failed) < 0)
		status = 1;
	model_release(&m);
	if (status != 0)
		return status;
	return anomalous || failed ? PREDICT_SCORED_BASE + anomalous * PREDICT_ANOMALOUS +
					     failed * PREDICT_FAILED
				   : 0;
}
