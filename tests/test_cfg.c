/* test_cfg.c: reading, checking, editing and writing Darknet cfgs.
 *
 * Expected layer counts and output sizes of Debian's stock cfgs were measured
 * with libdarknet itself (parse_network_cfg, then net->n and the output
 * layer's outputs); the small networks' shapes are worked out by hand in the
 * comments next to them. */
#include "cfg.h"

#include "error.h"
#include "fsutil.h"
#include "helpers.h"
#include "sha256.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define STOCK "/usr/share/darknet/cfg/"
#define MODELS DARKFOLD_SOURCE_DIR "/cfg/"

/* Parse text; return cfg_parse's result and the stderr it printed. */
static int parse_text(const char *text, int classes, struct cfg *c, char **err)
{
	test_stderr_begin();
	int rc = cfg_parse("t.cfg", text, strlen(text), classes, c);
	char *e = test_stderr_end();
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

/* text must fail with exactly this one stderr line. */
static void expect_error(const char *text, int classes, const char *line)
{
	struct cfg c;
	char *err;
	int rc = parse_text(text, classes, &c, &err);
	if (rc == 0 || strcmp(err, line) != 0)
		fail_msg("text:\n%s\nexpected: %sgot (rc %d): %s", text, line, rc, err);
	assert_int_equal(c.n, 0); /* nothing left behind */
	cfg_release(&c);
	free(err);
}

static const char small[] = "[net]\n"		/* 1 */
			    "batch=4\n"		/* 2 */
			    "width=32\n"	/* 3 */
			    "height=32\n"	/* 4 */
			    "channels=3\n"	/* 5 */
			    "# a comment\n"	/* 6 */
			    "\n"		/* 7 */
			    "[convolutional]\n" /* 8 */
			    "filters=8\n"	/* 9 */
			    "size=3\n"		/* 10 */
			    "stride=2\n"	/* 11 */
			    "pad=1\n"		/* 12 */
			    "activation=leaky\n"
			    "\n"
			    "[maxpool]\n" /* 15 */
			    "size=2\n"
			    "stride=2\n"
			    "\n"
			    "[connected]\n" /* 19 */
			    "output=5\n"
			    "activation=linear\n"
			    "\n"
			    "[softmax]\n" /* 23 */
			    "groups=1\n";

static void cfg_should_read_sections_keys_and_lines(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse_text(small, 0, &c, NULL), 0);
	assert_int_equal(c.n, 5);
	assert_int_equal(cfg_n_layers(&c), 4);
	assert_string_equal(c.path, "t.cfg");
	assert_string_equal(c.sections[0].name, "net");
	assert_int_equal(c.sections[0].n_opts, 4);
	assert_string_equal(c.sections[1].name, "convolutional");
	assert_int_equal(c.sections[1].line, 8);
	assert_string_equal(c.sections[1].opts[2].key, "stride");
	assert_string_equal(c.sections[1].opts[2].value, "2");
	assert_int_equal(c.sections[1].opts[2].line, 11);
	assert_int_equal(c.sections[3].line, 19);
	assert_int_equal(cfg_net_int(&c, "width", 0), 32);
	assert_int_equal(cfg_net_int(&c, "subdivisions", 1), 1);
	assert_null(cfg_net_get(&c, "learning_rate"));
	assert_true(cfg_net_double(&c, "momentum", 0.9) == 0.9);
	cfg_release(&c);
	cfg_release(&c); /* a released cfg is empty */
	cfg_release(NULL);
}

static void cfg_outputs_should_follow_darknet_shape_arithmetic(void **state)
{
	(void)state;
	struct cfg c;
	/* conv: (32 + 2*1 - 3)/2 + 1 = 16 -> 16x16x8; maxpool size 2 stride 2
	 * padding 1: (16 + 1 - 2)/2 + 1 = 8 -> 8x8x8; connected 5; softmax 5. */
	assert_int_equal(parse_text(small, 5, &c, NULL), 0);
	assert_int_equal(cfg_outputs(&c), 5);
	cfg_release(&c);

	/* groups=2 dividing 4 channels and 6 filters: 8x8x6 (384 values). */
	assert_int_equal(parse_text("[net]\nwidth=8\nheight=8\nchannels=4\n"
				    "[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=2\n",
				    384, &c, NULL), 0);
	assert_int_equal(cfg_outputs(&c), 384);
	cfg_release(&c);

	/* Route and shortcut: 16x16 input.
	 * 0 conv 4 filters 3x3 pad -> 16x16x4 (1024)
	 * 1 conv 4 filters 1x1 stride 2 -> (16-1)/2+1 = 8 -> 8x8x4 (256)
	 * 2 route -1,-2: sizes differ -> flat, 256 + 1024 = 1280 values
	 * 3 route 0 -> 16x16x4
	 * 4 shortcut from=0 -> 16x16x4
	 * 5 route 3,4 -> same size: 16x16x8 (2048)
	 * 6 avgpool -> 8
	 * 7 cost -> not the output layer: the network outputs 8. */
	const char *t = "[net]\nwidth=16\nheight=16\nchannels=3\n"
			"[convolutional]\nfilters=4\nsize=3\npad=1\n"
			"[convolutional]\nfilters=4\nsize=1\nstride=2\n"
			"[route]\nlayers=-1,-2\n"
			"[route]\nlayers=0\n"
			"[shortcut]\nfrom=0\n"
			"[route]\nlayers = 3, 4\n"
			"[avgpool]\n"
			"[cost]\ntype=sse\n";
	assert_int_equal(parse_text(t, 8, &c, NULL), 0);
	assert_int_equal(cfg_outputs(&c), 8);
	assert_string_equal(c.sections[6].opts[0].value, "3,4"); /* blanks by commas dropped */
	cfg_release(&c);

	/* The flat route cannot feed a convolution. */
	expect_error("[net]\nwidth=16\nheight=16\nchannels=3\n"
		     "[convolutional]\nfilters=4\nsize=3\npad=1\n"
		     "[convolutional]\nfilters=4\nsize=1\nstride=2\n"
		     "[route]\nlayers=-1,-2\n"
		     "[convolutional]\nfilters=4\nsize=1\n",
		     0,
		     "error: t.cfg:15: [convolutional] needs an image input, but the layer before it outputs 1280 flat values\n");
}

static void cfg_should_reject_bad_input_with_file_and_line(void **state)
{
	(void)state;
	const char *head = "[net]\nbatch=4\nwidth=8\nheight=8\nchannels=1\n"; /* lines 1-5 */
	char t[1024];
#define BAD(body, classes, msg)                        \
	do {                                           \
		snprintf(t, sizeof t, "%s%s", head, body); \
		expect_error(t, classes, msg);         \
	} while (0)
	BAD("[convolutionl]\nfilters=2\n", 0, "error: t.cfg:6: unknown section [convolutionl]\n");
	BAD("[convolutional]\nfilters=abc\nsize=1\n", 0,
	    "error: t.cfg:7: 'filters' must be an integer, got 'abc'\n");
	BAD("[convolutional]\nfilters=2.5\n", 0, "error: t.cfg:7: 'filters' must be an integer, got '2.5'\n");
	BAD("[convolutional]\nfilters=0\n", 0, "error: t.cfg:7: 'filters' must be positive, got 0\n");
	BAD("[convolutional]\nstride=-1\n", 0, "error: t.cfg:7: 'stride' must be positive, got -1\n");
	BAD("[maxpool]\nsize=0\n", 0, "error: t.cfg:7: 'size' must be positive, got 0\n");
	BAD("[convolutional]\nfilter=2\n", 0, "error: t.cfg:7: unknown key 'filter' in [convolutional]\n");
	BAD("[convolutional]\nfilters=2\nsize=1\nfilters=3\n", 0,
	    "error: t.cfg:9: duplicate key 'filters' in [convolutional] (first at line 7)\n");
	BAD("[convolutional]\nfilters=2 # two\n", 0,
	    "error: t.cfg:7: value '2 # two' of 'filters' contains a blank (Darknet has no inline comments and would read it glued together)\n");
	BAD("[convolutional]\nactivation=leakyy\n", 0, "error: t.cfg:7: unknown activation 'leakyy' in [convolutional]\n");
	BAD("[convolutional]\nfilters\n", 0, "error: t.cfg:7: expected key=value or [section], got 'filters'\n");
	BAD("[convolutional]\nfilters=\n", 0, "error: t.cfg:7: 'filters' has no value\n");
	BAD("[dropout]\nprobability=1.5\n", 0, "error: t.cfg:7: 'probability' must be in [0, 1), got 1.5\n");
	BAD("[dropout]\nprobability=nan\n", 0, "error: t.cfg:7: 'probability' must be a number, got 'nan'\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[shortcut]\nfrom=-2\n", 0,
	    "error: t.cfg:10: shortcut from=-2 refers to layer -1, but only layer 0 comes before it\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[shortcut]\nfrom=1\n", 0,
	    "error: t.cfg:10: shortcut from=1 refers to layer 1, but only layer 0 comes before it\n");
	BAD("[shortcut]\nfrom=-1\n", 0,
	    "error: t.cfg:7: shortcut from=-1 refers to layer -1, but no layer comes before it\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[convolutional]\nfilters=2\nsize=1\n[shortcut]\nfrom=2\n", 0,
	    "error: t.cfg:13: shortcut from=2 refers to layer 2, but only layers 0..1 come before it\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[shortcut]\nactivation=linear\n", 0,
	    "error: t.cfg:9: [shortcut] needs from=\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[route]\nlayers=-1,x\n", 0,
	    "error: t.cfg:10: 'layers' element 2 must be an integer, got 'x'\n");
	BAD("[convolutional]\nfilters=2\nsize=1\n[route]\nlayers=-1,5\n", 0,
	    "error: t.cfg:10: route layers= element 2 (5) refers to layer 5, but only layer 0 comes before it\n");
	/* [connected] outputs a 1x1xN image in Darknet, [softmax] a flat vector. */
	BAD("[connected]\noutput=4\n[softmax]\n[convolutional]\nfilters=2\n", 0,
	    "error: t.cfg:9: [convolutional] needs an image input, but the layer before it outputs 4 flat values\n");
	BAD("[convolutional]\nfilters=2\nsize=9\n", 0,
	    "error: t.cfg:6: [convolutional] would output 0x0x2 from a 8x8x1 input\n");
	BAD("[connected]\noutput=3\n[softmax]\n", 2,
	    "error: t.cfg:8: the network outputs 3 values per image (final layer [softmax]), not 2 classes\n");
	BAD("[connected]\noutput=3\n[net]\n", 0, "error: t.cfg:8: [net] may only be the first section\n");
	BAD("[connected\n", 0, "error: t.cfg:6: malformed section header '[connected'\n");
	BAD("[convolutional]\nfilters=2000000000\nsize=3\n", 0,
	    "error: t.cfg:6: [convolutional] would have too many weights\n");
	BAD("[connected]\noutput=2000000000\n", 0,
	    "error: t.cfg:6: [connected] would have too many weights (64 inputs x 2000000000 outputs)\n");
	BAD("[upsample]\nstride=2000000000\n", 0, "error: t.cfg:6: [upsample] would output too many values\n");
	/* Grouped convolutions: groups must divide the input channels (4 here)
	 * and the filters. */
	BAD("[convolutional]\nfilters=4\nsize=1\n[convolutional]\nfilters=3\nsize=1\ngroups=2\n", 0,
	    "error: t.cfg:12: groups=2 must divide both the input channels (4) and filters (3)\n");
	BAD("[convolutional]\nfilters=4\nsize=1\n[convolutional]\nfilters=6\nsize=1\ngroups=3\n", 0,
	    "error: t.cfg:12: groups=3 must divide both the input channels (4) and filters (6)\n");
	BAD("[connected]\noutput=4\n[softmax]\ngroups=3\n", 0,
	    "error: t.cfg:9: softmax groups=3 does not divide its 4 inputs\n");
#undef BAD
	expect_error("[net]\nbatch=6\nsubdivisions=4\nwidth=8\nheight=8\nchannels=1\n[connected]\noutput=2\n", 0,
		     "error: t.cfg:2: batch 6 is not divisible by subdivisions 4\n");
	expect_error("[net]\nwidth=2000000000\nheight=2000000000\nchannels=3\n[connected]\noutput=2\n", 0,
		     "error: t.cfg:1: input size 2000000000x2000000000x3 is too large\n");
	expect_error("[net]\nbatch=4\n[connected]\noutput=2\n", 0,
		     "error: t.cfg:1: no input size: set width, height and channels in [net]\n");
	expect_error("[net]\nwidth=8\nheight=8\nchannels=1\npolicy=steps\nsteps=10,20\nscales=.1\n[connected]\noutput=2\n",
		     0, "error: t.cfg:7: steps has 2 values but scales has 1\n");
	expect_error("[net]\nwidth=8\nheight=8\nchannels=1\npolicy=steps\nsteps=10,y\nscales=.1,.1\n", 0,
		     "error: t.cfg:6: 'steps' element 2 must be an integer, got 'y'\n");
	expect_error("[net]\nwidth=8\nheight=8\nchannels=1\n", 0, "error: t.cfg:1: no layers after [net]\n");
	expect_error("# only a comment\n", 0,
		     "error: t.cfg:1: no sections; the first section must be [net] or [network]\n");
	expect_error("", 0, "error: t.cfg:1: no sections; the first section must be [net] or [network]\n");
	expect_error("batch=1\n[net]\n", 0, "error: t.cfg:1: 'batch' comes before the first section\n");
	expect_error("[convolutional]\nfilters=1\n", 0,
		     "error: t.cfg:1: first section must be [net] or [network], not [convolutional]\n");
	expect_error("[net]\nwidth=8\r\r\n", 0,
		     "error: t.cfg:2: carriage return inside a line (only LF or CRLF line ends are read)\n");
	const char nul[] = "[net]\nwidth=8\0\n";
	struct cfg c;
	test_stderr_begin();
	assert_int_equal(cfg_parse("t.cfg", nul, sizeof nul - 1, 0, &c), -1);
	char *err = test_stderr_end();
	assert_string_equal(err, "error: t.cfg:2: NUL byte in line\n");
	free(err);
}

/* A [route] of 100000 entries is walked element by element: the last one,
 * bad, is named by its position. */
static void cfg_should_check_a_long_route_to_its_last_element(void **state)
{
	(void)state;
	const char *head = "[net]\nbatch=4\nwidth=8\nheight=8\nchannels=1\n"
			   "[convolutional]\nfilters=2\nsize=1\n[route]\nlayers=";
	size_t hl = strlen(head), n = 100000;
	char *t = xmalloc(hl + 3 * n + 8);
	memcpy(t, head, hl);
	char *p = t + hl;
	for (size_t i = 0; i + 1 < n; i++, p += 3)
		memcpy(p, "-1,", 3);
	strcpy(p, "7\n");
	expect_error(t, 0, "error: t.cfg:10: route layers= element 100000 (7) refers to layer 7, "
			   "but only layer 0 comes before it\n");
	free(t);
}

static void cfg_load_should_name_a_missing_file(void **state)
{
	(void)state;
	struct cfg c;
	test_stderr_begin();
	assert_int_equal(cfg_load("/nonexistent/dir/x.cfg", 0, &c), -1);
	char *err = test_stderr_end();
	assert_non_null(strstr(err, "error: "));
	assert_non_null(strstr(err, "'/nonexistent/dir/x.cfg'"));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(c.n, 0);
	free(err);
}

static void cfg_should_read_crlf_and_bom_like_lf(void **state)
{
	(void)state;
	/* The same cfg with LF, CRLF, and BOM + CRLF serialises identically. */
	size_t n = strlen(small);
	char *crlf = xmalloc(2 * n + 4), *bom = xmalloc(2 * n + 4);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (small[i] == '\n')
			crlf[k++] = '\r';
		crlf[k++] = small[i];
	}
	crlf[k] = '\0';
	memcpy(bom, "\xEF\xBB\xBF", 3);
	memcpy(bom + 3, crlf, k + 1);
	struct cfg a, b, d;
	assert_int_equal(parse_text(small, 5, &a, NULL), 0);
	assert_int_equal(parse_text(crlf, 5, &b, NULL), 0);
	assert_int_equal(parse_text(bom, 5, &d, NULL), 0);
	char *ta = cfg_to_text(&a), *tb = cfg_to_text(&b), *td = cfg_to_text(&d);
	assert_string_equal(ta, tb);
	assert_string_equal(ta, td);
	assert_null(strchr(tb, '\r'));
	assert_int_equal(b.sections[1].opts[2].line, 11);
	assert_int_equal(d.sections[3].line, 19);
	free(ta);
	free(tb);
	free(td);
	free(crlf);
	free(bom);
	cfg_release(&a);
	cfg_release(&b);
	cfg_release(&d);
}

static void cfg_to_text_should_be_canonical(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse_text("[net]\n  width = 8 \nheight=8\n\tchannels=1\n\n# c\n; c\n"
				    "[ conn ]\noutput=2\n",
				    2, &c, NULL),
			 0);
	char *t = cfg_to_text(&c);
	assert_string_equal(t, "# effective cfg written by darkfold: edit the model's cfg, not this file\n"
			       "[net]\nwidth=8\nheight=8\nchannels=1\n\n[conn]\noutput=2\n");
	char *t2 = cfg_to_text(&c);
	assert_string_equal(t, t2);
	free(t);
	free(t2);
	cfg_release(&c);
}

static void cfg_set_net_should_replace_or_append(void **state)
{
	(void)state;
	struct cfg c;
	assert_int_equal(parse_text(small, 0, &c, NULL), 0);
	cfg_set_net_int(&c, "width", 64);
	cfg_set_net_int(&c, "height", 48);
	cfg_set_net_double(&c, "learning_rate", 0.001);
	cfg_set_net_double(&c, "momentum", 0.9);
	cfg_set_net_double(&c, "decay", 5e-4);
	cfg_set_net(&c, "adam", "1");
	cfg_set_net_double(&c, "B1", 0.9);
	cfg_set_net_double(&c, "B2", 0.999);
	cfg_set_net_double(&c, "eps", 1e-7);
	assert_int_equal(cfg_check(&c, 5), 0);
	char *t = cfg_to_text(&c);
	assert_non_null(strstr(t, "[net]\nbatch=4\nwidth=64\nheight=48\nchannels=3\nlearning_rate=0.001\n"
				  "momentum=0.9\ndecay=0.0005\nadam=1\nB1=0.9\nB2=0.999\neps=1e-07\n\n"));
	free(t);
	assert_int_equal(cfg_net_int(&c, "width", 0), 64);
	assert_true(cfg_net_double(&c, "learning_rate", 1) == 0.001);
	/* conv at 64x48: 32x24x8, maxpool 16x12x8, connected 5. */
	assert_int_equal(cfg_outputs(&c), 5);
	/* A bad override is caught by cfg_check, with the line of the key. */
	cfg_set_net_int(&c, "batch", 3);
	cfg_set_net_int(&c, "subdivisions", 2);
	test_stderr_begin();
	assert_int_equal(cfg_check(&c, 0), -1);
	char *err = test_stderr_end();
	assert_string_equal(err, "error: t.cfg:2: batch 3 is not divisible by subdivisions 2\n");
	free(err);
	cfg_release(&c);
}

static void cfg_set_classes_should_make_a_stock_imagenet_cfg_two_class(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = fs_join(dir, "resnet18.cfg");
	struct cfg c;
	assert_int_equal(cfg_load(STOCK "resnet18.cfg", 1000, &c), 0);
	assert_int_equal(cfg_set_classes(&c, 2), 0);
	assert_int_equal(cfg_outputs(&c), 2);
	/* Training overrides as the experiment gives them. */
	cfg_set_net_int(&c, "width", 64);
	cfg_set_net_int(&c, "height", 64);
	cfg_set_net_int(&c, "batch", 16);
	char hex[65];
	assert_int_equal(cfg_write(&c, path, hex), 0);
	char *out;
	char *cmd = xasprintf("sha256sum '%s'", path);
	assert_int_equal(test_run(cmd, &out), 0);
	assert_memory_equal(out, hex, 64);
	free(out);
	free(cmd);
	cfg_release(&c);

	/* The written file is a valid 2-class cfg whose last conv has 2 filters. */
	assert_int_equal(cfg_load(path, 2, &c), 0);
	assert_int_equal(cfg_n_layers(&c), 29);
	struct cfg_section *last_conv = &c.sections[c.n - 2];
	assert_string_equal(last_conv->name, "convolutional");
	assert_string_equal(last_conv->opts[0].key, "filters");
	assert_string_equal(last_conv->opts[0].value, "2");
	assert_int_equal(cfg_net_int(&c, "batch", 0), 16);
	/* Writing it again gives the same bytes and hash. */
	char *again = fs_join(dir, "again.cfg");
	char hex2[65];
	assert_int_equal(cfg_write(&c, again, hex2), 0);
	assert_string_equal(hex, hex2);
	cfg_release(&c);

	/* A [connected] head (vgg-16) is rewritten too. */
	assert_int_equal(cfg_load(STOCK "vgg-16.cfg", 1000, &c), 0);
	assert_int_equal(cfg_set_classes(&c, 2), 0);
	assert_int_equal(cfg_check(&c, 2), 0);
	assert_string_equal(c.sections[c.n - 2].name, "connected");
	assert_string_equal(c.sections[c.n - 2].opts[0].key, "output");
	assert_string_equal(c.sections[c.n - 2].opts[0].value, "2");
	cfg_release(&c);

	free(again);
	free(path);
	test_rm_rf(dir);
	free(dir);
}

static void cfg_set_classes_should_refuse_a_head_it_cannot_rewrite(void **state)
{
	(void)state;
	struct cfg c;
	/* A route after the last conv: no single layer sets the class count. */
	assert_int_equal(parse_text("[net]\nwidth=4\nheight=4\nchannels=1\n"
				    "[convolutional]\nfilters=3\nsize=1\n"
				    "[route]\nlayers=-1\n[softmax]\n",
				    0, &c, NULL),
			 0);
	test_stderr_begin();
	assert_int_equal(cfg_set_classes(&c, 2), -1);
	char *err = test_stderr_end();
	assert_string_equal(err, "error: t.cfg:8: cannot set the class count: [route] follows the last [convolutional] or [connected] layer\n");
	free(err);
	cfg_release(&c);

	/* A final conv without pooling outputs h*w*filters, never the classes;
	 * the cfg is left as it was. */
	assert_int_equal(parse_text("[net]\nwidth=4\nheight=4\nchannels=1\n"
				    "[convolutional]\nfilters=3\nsize=1\n[softmax]\n",
				    0, &c, NULL),
			 0);
	test_stderr_begin();
	assert_int_equal(cfg_set_classes(&c, 2), -1);
	err = test_stderr_end();
	assert_string_equal(err, "error: t.cfg:8: the network outputs 32 values per image (final layer [softmax]), not 2 classes\n");
	free(err);
	assert_string_equal(c.sections[1].opts[0].value, "3");
	cfg_release(&c);
}

static void cfg_write_should_leave_nothing_on_failure(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char *path = fs_join(dir, "eff.cfg");
	struct cfg c;
	assert_int_equal(parse_text(small, 0, &c, NULL), 0);
	cfg_set_net_int(&c, "width", 0); /* no input size any more */
	char hex[65];
	test_stderr_begin();
	assert_int_equal(cfg_write(&c, path, hex), -1);
	char *err = test_stderr_end();
	assert_non_null(strstr(err, "error: t.cfg:1: no input size"));
	assert_false(fs_is_file(path));
	free(err);
	cfg_set_net_int(&c, "width", 32);
	char *bad = fs_join(dir, "no/such/dir/eff.cfg");
	test_stderr_begin();
	assert_int_equal(cfg_write(&c, bad, hex), -1);
	err = test_stderr_end();
	assert_non_null(strstr(err, "no/such/dir/eff.cfg"));
	free(err);
	free(bad);
	cfg_release(&c);
	free(path);
	test_rm_rf(dir);
	free(dir);
}

struct expect_net {
	const char *file;
	int layers;
	long outputs;
};

static void stock_cfgs_should_pass_with_darknets_sizes_and_become_two_class(void **state)
{
	(void)state;
	/* net->n and the output layer's outputs, from libdarknet. */
	static const struct expect_net stock[] = {
		{ "resnet50.cfg", 69, 1000 },	  { "resnet18.cfg", 29, 1000 },
		{ "resnet34.cfg", 53, 1000 },	  { "resnet101.cfg", 138, 1000 },
		{ "resnet152.cfg", 205, 1000 },	  { "resnext50.cfg", 69, 1000 },
		{ "resnext101-32x4d.cfg", 137, 1000 }, { "resnext152-32x4d.cfg", 205, 1000 },
		{ "darknet19.cfg", 26, 1000 },	  { "darknet19_448.cfg", 26, 1000 },
		{ "darknet.cfg", 16, 1000 },	  { "darknet53.cfg", 78, 1000 },
		{ "vgg-16.cfg", 25, 1000 },	  { "alexnet.cfg", 14, 1000 },
		{ "densenet201.cfg", 305, 1000 }, { "extraction.cfg", 27, 1000 },
		{ "extraction22k.cfg", 27, 21842 }, { "tiny.cfg", 22, 1000 },
		{ "cifar.cfg", 17, 10 },	  { "strided.cfg", 26, 1000 },
	};
	for (size_t i = 0; i < sizeof stock / sizeof stock[0]; i++) {
		char *p = xasprintf(STOCK "%s", stock[i].file);
		struct cfg c;
		if (cfg_load(p, (int)stock[i].outputs, &c))
			fail_msg("%s did not pass", p);
		assert_int_equal(cfg_n_layers(&c), stock[i].layers);
		assert_int_equal(cfg_outputs(&c), stock[i].outputs);
		/* Each becomes a valid 2-class network. */
		if (cfg_set_classes(&c, 2) || cfg_check(&c, 2))
			fail_msg("%s: cannot be made 2-class", p);
		assert_int_equal(cfg_outputs(&c), 2);
		cfg_release(&c);
		free(p);
	}
}

static int count_sections(const struct cfg *c, const char *name)
{
	int n = 0;
	for (int i = 0; i < c->n; i++)
		n += !strcmp(c->sections[i].name, name);
	return n;
}

static void study_models_should_be_two_class_with_their_topology(void **state)
{
	(void)state;
	struct cfg c;
	/* dense: 3 connected + softmax. */
	assert_int_equal(cfg_load(MODELS "dense.cfg", 2, &c), 0);
	assert_int_equal(cfg_n_layers(&c), 4);
	assert_int_equal(count_sections(&c, "connected"), 3);
	assert_int_equal(cfg_net_int(&c, "width", 0), 64);
	cfg_release(&c);
	/* cnn: 3 conv + 3 pool + 2 connected + dropout + softmax. */
	assert_int_equal(cfg_load(MODELS "cnn.cfg", 2, &c), 0);
	assert_int_equal(cfg_n_layers(&c), 10);
	assert_int_equal(count_sections(&c, "convolutional"), 3);
	cfg_release(&c);
	/* vgg16: 13 conv + 5 pool + 3 connected + 2 dropout + softmax. */
	assert_int_equal(cfg_load(MODELS "vgg16.cfg", 2, &c), 0);
	assert_int_equal(cfg_n_layers(&c), 24);
	assert_int_equal(count_sections(&c, "convolutional"), 13);
	assert_int_equal(count_sections(&c, "maxpool"), 5);
	assert_int_equal(count_sections(&c, "connected"), 3);
	cfg_release(&c);
	/* resnet50: stem + 16 blocks x 3 conv + 4 projections = 53 conv;
	 * 1 max pool; 16 shortcuts; 4 routes; avgpool, connected, softmax
	 * = 77 layers. */
	assert_int_equal(cfg_load(MODELS "resnet50.cfg", 2, &c), 0);
	assert_int_equal(cfg_n_layers(&c), 77);
	assert_int_equal(count_sections(&c, "maxpool"), 1);
	assert_int_equal(count_sections(&c, "convolutional"), 53);
	assert_int_equal(count_sections(&c, "shortcut"), 16);
	assert_int_equal(count_sections(&c, "route"), 4);
	cfg_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cfg_should_read_sections_keys_and_lines),
		cmocka_unit_test(cfg_outputs_should_follow_darknet_shape_arithmetic),
		cmocka_unit_test(cfg_should_reject_bad_input_with_file_and_line),
		cmocka_unit_test(cfg_should_check_a_long_route_to_its_last_element),
		cmocka_unit_test(cfg_load_should_name_a_missing_file),
		cmocka_unit_test(cfg_should_read_crlf_and_bom_like_lf),
		cmocka_unit_test(cfg_to_text_should_be_canonical),
		cmocka_unit_test(cfg_set_net_should_replace_or_append),
		cmocka_unit_test(cfg_set_classes_should_make_a_stock_imagenet_cfg_two_class),
		cmocka_unit_test(cfg_set_classes_should_refuse_a_head_it_cannot_rewrite),
		cmocka_unit_test(cfg_write_should_leave_nothing_on_failure),
		cmocka_unit_test(stock_cfgs_should_pass_with_darknets_sizes_and_become_two_class),
		cmocka_unit_test(study_models_should_be_two_class_with_their_topology),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
