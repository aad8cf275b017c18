/* memory.c: the memory a Darknet network needs (see memory.h). */
#include "memory.h"

#include "error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F ((double)sizeof(float))

static int is(const struct cfg_section *s, const char *name)
{
	return !strcmp(s->name, name);
}

/* Buffers of one layer, in bytes; in is its input, o its output shape and b
 * the batch. adam: whether Darknet allocates Adam's moments. */
static void layer_memory(const struct cfg_section *s, const struct cfg_shape *in,
			 const struct cfg_shape *o, double b, int adam, struct memory_layer *l)
{
	double out = (double)o->outputs * b; /* values of one output buffer */
	l->outputs = 2 * out * F; /* output and delta */
	if (is(s, "convolutional") || is(s, "connected")) {
		int conv = is(s, "convolutional");
		int bn = cfg_section_int(s, "batch_normalize", 0) != 0;
		double n = conv ? (double)o->c : (double)o->outputs;
		double size = conv ? (double)cfg_section_int(s, "size", 1) : 1;
		double groups = conv ? (double)cfg_section_int(s, "groups", 1) : 1;
		double w = conv ? (double)in->c / groups * n * size * size : (double)in->outputs * n;
		/* weights, biases and their updates; with batch norm, scales
		 * and their updates, mean, variance, their deltas and rolling
		 * averages */
		l->weights = (2 * w + 2 * n + (bn ? 8 * n : 0)) * F;
		if (adam) /* m and v of weights, biases and scales */
			l->adam = (2 * w + 2 * n + (bn ? 2 * n : 0)) * F;
		if (bn)
			l->outputs += 2 * out * F; /* x and x_norm */
		if (conv) /* im2col of one image */
			l->workspace = (double)o->h * o->w * size * size * in->c / groups * F;
	} else if (is(s, "batchnorm")) {
		l->outputs += 2 * out * F;
		l->weights = 8 * (double)o->c * F;
	} else if (is(s, "maxpool") || is(s, "softmax")) {
		l->outputs += out * F; /* indexes, or the loss per value */
	} else if (is(s, "normalization")) {
		l->outputs += 2 * out * F; /* squared and norms */
	} else if (is(s, "dropout")) {
		l->outputs = out * F; /* the mask; output and delta are the input's */
	} else if (is(s, "crop")) {
		l->outputs = out * F;
	}
}

int memory_estimate(const struct cfg *c, struct memory *m)
{
	memset(m, 0, sizeof *m);
	int nl = cfg_n_layers(c);
	if (nl < 1)
		return error("%s: no layers", c->path);
	struct cfg_shape *shapes = xcalloc((size_t)nl, sizeof *shapes);
	if (cfg_layer_shapes(c, shapes) < 0) {
		free(shapes);
		return -1;
	}
	const struct cfg_section *net = &c->sections[0];
	long subdivs = cfg_net_int(c, "subdivisions", 1);
	m->batch = cfg_section_int(net, "batch", 1) / (subdivs > 0 ? subdivs : 1);
	double b = (double)m->batch;
	int adam = cfg_section_int(net, "adam", 0) != 0;
	struct cfg_shape in = { cfg_section_int(net, "height", 0), cfg_section_int(net, "width", 0),
				cfg_section_int(net, "channels", 0), 0 };
	in.outputs = cfg_section_int(net, "inputs", in.h * in.w * in.c);
	double inputs = (double)in.outputs;
	m->layers = xcalloc((size_t)nl, sizeof *m->layers);
	double truths = 0;
	for (int i = 0; i < nl; i++) {
		const struct cfg_section *s = &c->sections[i + 1];
		if (shapes[i].outputs < 0) {
			m->unmodelled = i + 1;
			break;
		}
		struct memory_layer *l = &m->layers[m->n++];
		l->section = i + 1;
		layer_memory(s, &in, &shapes[i], b, adam, l);
		m->outputs += l->outputs;
		m->weights += l->weights;
		m->adam += l->adam;
		if (l->workspace > m->workspace)
			m->workspace = l->workspace;
		if (!is(s, "cost"))
			truths = (double)shapes[i].outputs;
		in = shapes[i];
	}
	/* the network's input and truth (the output layer's size) */
	m->outputs += (inputs + truths) * b * F;
	free(shapes);
	m->total = m->outputs + m->workspace + m->weights + m->adam;
	return 0;
}

void memory_release(struct memory *m)
{
	if (!m)
		return;
	free(m->layers);
	memset(m, 0, sizeof *m);
}

int memory_available(double *bytes)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[256];
	int rc = -1;
	while (rc < 0 && fgets(line, sizeof line, f)) {
		unsigned long long kib;
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
			*bytes = (double)kib * 1024.0;
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

int memory_parse_size(const char *s, double *bytes)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || !(v > 0))
		return -1;
	static const char units[] = "KMGT";
	double scale = 1;
	if (*end) {
		const char *u = strchr(units, *end);
		if (!u)
			return -1;
		scale = pow(1024.0, (double)(u - units + 1));
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end)
		return -1;
	*bytes = v * scale;
	return 0;
}

char *memory_format(double bytes, char *buf, size_t n)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = 0;
	while (bytes >= 1024.0 && u < 6) {
		bytes /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f bytes", bytes);
	else
		snprintf(buf, n, "%.1f %s", bytes, units[u]);
	return buf;
}

static double layer_total(const struct memory_layer *l)
{
	return l->outputs + l->workspace + l->weights + l->adam;
}

int memory_check(const struct cfg *c, const struct memory *m, double limit, const char *source)
{
	if (m->total <= limit)
		return 0;
	char need[32], lim[32], all[32];
	memory_format(limit, lim, sizeof lim);
	memory_format(m->total, all, sizeof all);
	const struct cfg_section *net = &c->sections[0];
	if (m->outputs > limit || m->n == 0) {
		int line = net->line;
		for (int i = 0; i < net->n_opts; i++)
			if (!strcmp(net->opts[i].key, "batch"))
				line = net->opts[i].line;
		return error("'%s': line %d: batch=%ld needs %s for outputs and gradients (%s in all), "
			     "above the limit of %s (%s)",
			     c->path, line, m->batch, memory_format(m->outputs, need, sizeof need), all, lim,
			     source);
	}
	const struct memory_layer *big = NULL;
	for (int i = 0; i < m->n; i++)
		if (!big || layer_total(&m->layers[i]) > layer_total(big))
			big = &m->layers[i];
	const struct cfg_section *s = &c->sections[big->section];
	const char *what = "outputs and gradients";
	double most = big->outputs;
	if (big->workspace > most)
		what = "its im2col workspace", most = big->workspace;
	if (big->weights > most)
		what = "weights and updates", most = big->weights;
	if (big->adam > most)
		what = "Adam state", most = big->adam;
	char part[32];
	return error("'%s': line %d: [%s] (layer %d) needs %s (%s for %s), the network %s in all, "
		     "above the limit of %s (%s)",
		     c->path, s->line, s->name, big->section - 1,
		     memory_format(layer_total(big), need, sizeof need),
		     memory_format(most, part, sizeof part), what, all, lim, source);
}

int memory_check_available(const struct cfg *c)
{
	double limit;
	if (memory_available(&limit) < 0)
		return 0;
	struct memory m;
	if (memory_estimate(c, &m) < 0)
		return -1;
	int rc = memory_check(c, &m, limit, "MemAvailable");
	memory_release(&m);
	return rc;
}

void memory_print(const struct cfg *c, const struct memory *m, FILE *f)
{
	char a[32], b[32], w[32], d[32], t[32];
	fprintf(f, "%5s %5s  %-14s %12s %12s %12s %12s %12s\n", "layer", "line", "section", "outputs",
		"workspace", "weights", "adam", "total");
	for (int i = 0; i < m->n; i++) {
		const struct memory_layer *l = &m->layers[i];
		const struct cfg_section *s = &c->sections[l->section];
		fprintf(f, "%5d %5d  %-14s %12s %12s %12s %12s %12s\n", l->section - 1, s->line, s->name,
			memory_format(l->outputs, a, sizeof a), memory_format(l->workspace, b, sizeof b),
			memory_format(l->weights, w, sizeof w), memory_format(l->adam, d, sizeof d),
			memory_format(layer_total(l), t, sizeof t));
	}
	if (m->unmodelled)
		fprintf(f, "sizes from line %d ([%s]) on are not modelled and not counted\n",
			c->sections[m->unmodelled].line, c->sections[m->unmodelled].name);
	fprintf(f, "batch %ld: outputs and gradients %s (with input and truth), workspace %s "
		   "(largest layer), weights %s, adam %s, total %s\n",
		m->batch, memory_format(m->outputs, a, sizeof a), memory_format(m->workspace, b, sizeof b),
		memory_format(m->weights, w, sizeof w), memory_format(m->adam, d, sizeof d),
		memory_format(m->total, t, sizeof t));
}
