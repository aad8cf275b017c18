#!/usr/bin/env bash
# mutate.sh: mutation testing for the code that decides darkfold's results.
#
# Each mutation below is a small, plausible bug: a file, an exact pattern
# that must occur exactly once in it, its replacement, the tests that should
# notice, and the behaviour it breaks. For each one, in a scratch copy of the
# tree (never the working tree), the pattern is replaced, the program and the
# named C tests are rebuilt incrementally, and the named tests run. A mutation
# is killed when a test fails, and survives when they all pass. A pattern
# that does not occur exactly once, or a mutant that does not compile, is an
# error: the list has fallen behind the code and must be updated.
#
# usage: tests/mutate.sh [--list | --check] [ID...]
#   ID...    run only these mutations (default: all)
#   --list   print the mutations and exit
#   --check  only check that every pattern occurs exactly once in the
#            working tree, and exit (0 when all do)
# environment: MUTATE_DIR (scratch copy, default build-mutate in the source
# tree; kept between runs so that builds are incremental), MUTATE_MIN (the
# kill rate in percent below which the run fails, default 90), JOBS (build
# parallelism, default 2).
# Exit status: 0 when the kill rate reaches MUTATE_MIN and no mutation is in
# error, 1 otherwise, 2 on a usage error. See docs/testing.md.
set -u
shopt -u patsub_replacement 2>/dev/null
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${MUTATE_DIR:-$SRC/build-mutate}
MIN=${MUTATE_MIN:-90}
JOBS=${JOBS:-2}

IDS=() FILES=() PATS=() REPS=() TESTS=() WHATS=()
# mut ID FILE PATTERN REPLACEMENT "TEST..." BEHAVIOUR
mut() { IDS+=("$1"); FILES+=("$2"); PATS+=("$3"); REPS+=("$4"); TESTS+=("$5"); WHATS+=("$6"); }

# ---- metrics (harness/metrics.c) ----
mut metrics-accuracy harness/metrics.c 'out->accuracy = ratio(tp + tn, n);' 'out->accuracy = ratio(tp, n);' \
  test_metrics "accuracy counts only true positives"
mut metrics-precision harness/metrics.c 'out->precision = ratio(tp, tp + fp);' 'out->precision = ratio(tp, tp + fn);' \
  test_metrics "precision divides by the positives instead of the positive calls"
mut metrics-specificity harness/metrics.c 'out->specificity = ratio(tn, tn + fp);' 'out->specificity = ratio(tn, tn + fn);' \
  test_metrics "specificity uses the wrong denominator"
mut metrics-balanced harness/metrics.c '(out->recall + out->specificity) / 2' '(out->recall + out->precision) / 2' \
  test_metrics "balanced accuracy averages recall with precision"
mut metrics-fbeta-square harness/metrics.c 'double b2 = beta * beta;' 'double b2 = beta;' \
  test_metrics "F-beta weights recall by beta instead of beta squared"
mut metrics-fbeta-other harness/metrics.c 'fbeta_counts(tn, fn, fp, beta)' 'fbeta_counts(tn, fp, fn, beta)' \
  test_metrics "F-beta with the other class positive swaps its errors"
mut metrics-threshold-tie harness/metrics.c 'int anomalous = in->p[i] >= t;' 'int anomalous = in->p[i] > t;' \
  test_metrics "a score equal to the threshold is called normal"
mut metrics-log-clip harness/metrics.c '#define LOG_CLIP 1e-15' '#define LOG_CLIP 1e-7' \
  test_metrics "the loss clips the log at another value"
mut metrics-auroc-ties harness/metrics.c 'double mid = ((double)(n - j + 1) + (double)(n - i)) / 2;' 'double mid = (double)(n - i);' \
  test_metrics "tied scores count as wins in AUROC instead of one half"
mut metrics-ap-step harness/metrics.c 'ap += (r - rprev) * ((double)tp / (tp + fp));' 'ap += (r - rprev) * ((double)tp / np);' \
  test_metrics "average precision weighs each step by tp / positives instead of the precision"
mut metrics-defect-threshold harness/metrics.c 'hit[d] += predicted_positive(in, i, threshold, 1);' 'hit[d] += predicted_positive(in, i, threshold, 0);' \
  test_metrics "recall per defect type counts the images called normal"

# ---- the tuned threshold (harness/metrics.c, harness/unit.c) ----
mut tune-class harness/metrics.c 'f = t->positive ? fbeta_counts(a1, a0' 'f = !t->positive ? fbeta_counts(a1, a0' \
  "test_metrics test_unit" "the threshold is tuned for the other class"
mut tune-tie harness/metrics.c 'fabs(c - centre) < fabs(best_t - centre)' 'fabs(c - centre) > fabs(best_t - centre)' \
  test_metrics "ties go to the candidate farthest from 0.5"
mut tune-candidate harness/metrics.c 'double c = (lo < centre && centre <= hi) ? centre : (lo + hi) / 2;' 'double c = (lo + hi) / 2;' \
  "test_metrics test_unit" "0.5 is not preferred when it gives the same split"
mut tune-policy harness/unit.c 'if (unit_threshold_policy(e, m) != EXP_THR_FIXED) {' 'if (0) {' \
  test_unit "threshold_policy tuned is ignored"
mut tune-images harness/unit.c 'unit_score(s, inner_val, nv, p, NULL);' 'unit_score(s, s->test, nv < s->n_test ? nv : s->n_test, p, NULL);' \
  test_unit "the threshold is tuned on inner-training images"
mut tune-beta harness/unit.c '.beta = e->metrics.beta,' '.beta = 1.0,' \
  test_unit "the threshold is tuned for F1 whatever beta"
mut unit-positive harness/unit.c 's->positive = e->metrics.positive == EXP_POS_ANOMALOUS;' 's->positive = e->metrics.positive == EXP_POS_ANOMALOUS || 1;' \
  test_unit "a unit ignores positive: normal"
mut unit-policy-recorded harness/unit.c 'jw_kstr(w, "policy", experiment_threshold_name(pol));' 'jw_kstr(w, "policy", "fixed");' \
  test_unit "the result file records every policy as fixed"
mut summary-unit-threshold harness/summary.c 'pl->threshold[pl->n] = u->threshold;' 'pl->threshold[pl->n] = 0.5;' \
  "test_summary test_unit" "pooled predictions are judged at 0.5, not at their unit's threshold"

# ---- statistics (harness/stats.c) ----
mut stats-t-df harness/stats.c 'gsl_cdf_tdist_Pinv(1 - alpha / 2, m - 1)' 'gsl_cdf_tdist_Pinv(1 - alpha / 2, m)' \
  test_stats "the t interval uses n degrees of freedom"
mut stats-wilson-centre harness/stats.c 'double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);' 'double centre = p;' \
  test_stats "the Wilson interval is centred on the raw proportion"
mut stats-boot-last harness/stats.c 'idx[i] = (int)stats_rng_int(r, (unsigned long)n);' 'idx[i] = (int)stats_rng_int(r, (unsigned long)n - 1);' \
  test_stats "bootstrap resamples never pick the last item"
mut stats-boot-level harness/stats.c '(size_t)m, alpha / 2);' '(size_t)m, alpha);' \
  test_stats "the bootstrap's lower quantile is alpha, not alpha/2"
mut stats-nb-correction harness/stats.c 'double var = sd * sd * (1.0 / m + test_train_ratio);' 'double var = sd * sd / m + test_train_ratio;' \
  test_stats "the Nadeau-Bengio correction is added to the variance instead of scaling it"
mut stats-t-two-sided harness/stats.c 'out->p = 2 * gsl_cdf_tdist_Q(' 'out->p = gsl_cdf_tdist_Q(' \
  test_stats "the t-test p-value is one-sided"
mut stats-holm-factor harness/stats.c 'double a = (f - j) * it[j].p;' 'double a = f * it[j].p;' \
  test_stats "Holm multiplies every p-value by the family size (Bonferroni)"
mut stats-holm-monotone harness/stats.c 'if (a > run)' 'if (a > run || j > 0)' \
  test_stats "Holm's adjusted p-values are not kept monotone"
mut stats-mcnemar-boundary harness/stats.c 'if (s < STATS_MCNEMAR_EXACT_BELOW) {' 'if (s <= STATS_MCNEMAR_EXACT_BELOW) {' \
  test_stats "McNemar uses the exact test at b + c = 25"
mut stats-mcnemar-cc harness/stats.c 'double d = fabs((double)(b - c)) - 1;' 'double d = fabs((double)(b - c));' \
  test_stats "McNemar's chi-square loses its continuity correction"
mut stats-mcnemar-exact harness/stats.c 'double p = 2 * gsl_cdf_binomial_P(' 'double p = gsl_cdf_binomial_P(' \
  "test_stats test_report_summary" "McNemar's exact test is one-sided"

# ---- folds (harness/folds.c) ----
mut folds-deal harness/folds.c 'deal(row, members, m, k, &next);' 'next = 0; deal(row, members, m, k, &next);' \
  test_folds "each class is dealt from fold 0, so fold sizes differ by two"
mut folds-repeat-seed harness/folds.c 'folds_derive_seed(seed, "folds", r, 0)' 'folds_derive_seed(seed, "folds", 0, 0)' \
  test_folds "every repeat gives the same split"
mut folds-inner-round harness/folds.c 'int nv = (int)floor(fraction * m + 0.5);' 'int nv = (int)floor(fraction * m);' \
  test_folds "the inner validation share is rounded down"
mut folds-inner-all harness/folds.c 'if (nv >= m && m > 0)' 'if (nv > m && m > 0)' \
  test_folds "a class may go to inner validation entirely"
mut folds-inner-leak harness/folds.c 'iva[niva++] = members[j];' '{ iva[niva++] = members[j]; itr[nitr++] = members[j]; }' \
  test_folds "inner-validation images are also trained on"
mut folds-stratify-check harness/folds.c '(k > count[0] || k > count[1])' '(k > count[0] && k > count[1])' \
  test_folds "stratifying more folds than the smaller class has images is accepted"

# ---- oversampling, early stopping, checkpoints and resume (harness/train.c) ----
mut oversample-minority harness/train.c 'int minority = cnt[1] < cnt[0] ? 1 : 0;' 'int minority = cnt[1] > cnt[0] ? 1 : 0;' \
  test_train "the majority class is taken for the minority"
mut oversample-images harness/train.c 'mins[k++] = i;' '{ mins[k] = k; k++; }' \
  test_train "oversampling repeats images 0..n-1 instead of the minority-class images"
mut oversample-random harness/train.c 'int j = i + (int)prng_below(r, (uint64_t)(nmin - i));' 'int j = i;' \
  test_train "the leftover extra images are the first ones, not a random draw"
mut early-improve harness/train.c 'if (val_loss < p->best_val) {' 'if (val_loss <= p->best_val) {' \
  test_train "an epoch that only equals the best counts as an improvement"
mut early-patience harness/train.c '} else if (++p->since_best >= t->patience) {' '} else if (++p->since_best > t->patience) {' \
  test_train "early stopping waits one epoch more than the patience"
mut early-restore harness/train.c 'return net_load_weights(r->n, r->o->best_weights, -1);' 'return 0;' \
  test_train "the best epoch is reported but its weights are not restored"
mut ckpt-key harness/checkpoint.c 'if (!k || strcmp(k, key ? key : "")) {' 'if (!k || strcmp(k, key ? k : "")) {' \
  "test_checkpoint test_train test_unit_resume" "a checkpoint made from other inputs is resumed"
mut ckpt-rng harness/checkpoint.c 'snprintf(hex, sizeof hex, "%016llx", (unsigned long long)p->rng.s[i]);' 'snprintf(hex, sizeof hex, "%016llx", 0ULL);' \
  "test_checkpoint test_train" "the checkpoint loses the generator state, so a resumed run differs"
mut ckpt-best harness/checkpoint.c 'if (best == 0)' 'if (best >= 0)' \
  "test_checkpoint test_train" "a resumed run forgets the best validation loss"

# ---- cfg checks (harness/cfg.c), weights (harness/net.c, harness/unit.c) ----
mut cfg-groups-filters harness/cfg.c 'if (in->c % groups || filters % groups)' 'if (in->c % groups)' \
  test_cfg "filters not divisible by groups reach Darknet"
mut cfg-softmax-groups harness/cfg.c 'if (in->outputs % groups)' 'if (0)' \
  test_cfg "softmax groups that do not divide the inputs reach Darknet"
mut cfg-conv-padding harness/cfg.c 'o->h = (in->h + 2 * padding - size) / stride + 1;' 'o->h = (in->h + padding - size) / stride + 1;' \
  test_cfg "a convolution's output height ignores half its padding"
mut weights-upto-net harness/net.c 'load_weights_upto(dn, p, 0, all ? dn->n : upto);' 'load_weights_upto(dn, p, 0, dn->n);' \
  "test_net test_unit_failures" "weights_upto is ignored: every layer is loaded"
mut weights-upto-unit harness/unit.c 'net_load_weights(s->net, m->weights, m->weights_upto)' 'net_load_weights(s->net, m->weights, -1)' \
  test_unit_failures "a unit ignores the experiment's weights_upto"

# ---- retraining triggers (the settings table's unit-hash rows, harness/experiment.c) and the result file (harness/unit.c) ----
mut current-beta harness/experiment.c '.def = "2", .hash = EXP_HASH_TRAINING,' '.def = "2",' \
  test_unit "changing beta does not retrain"
mut current-policy harness/experiment.c '.words = threshold_names, .def = "\"tuned\"", .hash = EXP_HASH_TRAINING,' '.words = threshold_names, .def = "\"tuned\"",' \
  test_unit "changing threshold_policy does not retrain"
mut current-positive harness/experiment.c '.words = positives, .def = "\"anomalous\"", .hash = EXP_HASH_TRAINING,' '.words = positives, .def = "\"anomalous\"",' \
  test_unit "changing positive does not retrain"
mut current-epochs harness/experiment.c '.max = 100000, .def = "10", .hash = EXP_HASH_TRAINING,' '.max = 100000, .def = "10",' \
  test_unit "changing epochs does not retrain"

# ---- the knn baseline as a unit (harness/unit.c, harness/experiment.c) ----
mut knn-normal-only harness/unit.c '	if (one_class) {
		s->fit = normal_only' '	if (m->kind == EXP_KIND_ONE_CLASS) {
		s->fit = normal_only' \
  test_unit_knn "a knn model also keeps the anomalous inner training images"
mut knn-pooling harness/unit.c 'knn_score_cached(s->knn, &s->cc, idx, n, s->sp.pool, s->sp.k, p, maps)' 'knn_score_cached(s->knn, &s->cc, idx, n, ANOMALY_POOL_MEAN, s->sp.k, p, maps)' \
  test_unit_knn "a knn model ignores its score pooling"
mut knn-threshold harness/unit.c 'if (exp_model_one_class(m) && e->metrics.threshold_policy == EXP_THR_FIXED)' 'if (m->kind == EXP_KIND_ONE_CLASS && e->metrics.threshold_policy == EXP_THR_FIXED)' \
  test_unit_knn "a knn model's score is thresholded at the fixed 0.5"
mut knn-hash harness/unit.c '		jw_kint(&w, "neighbours", m->neighbours);' '' \
  test_unit_knn "changing neighbours does not rerun a knn unit"
mut knn-downsample-height harness/experiment.c '(e->dataset.width % m->downsample || e->dataset.height % m->downsample)' '(e->dataset.width % m->downsample)' \
  test_experiment "a downsampling factor that does not divide the height is accepted"

# ---- summary and the best model (harness/summary.c) ----
mut summary-mcnemar-threshold harness/summary.c 'return (u->p[j] >= u->threshold) == u->label[j];' 'return (u->p[j] >= 0.5) == u->label[j];' \
  test_summary "McNemar judges predictions at 0.5, not at their unit's threshold"
mut summary-mixed-cores harness/summary.c 'mixed_cores |= differ(bc, core);' 'mixed_cores |= differ(bc, bc && core ? bc : core);' \
  test_summary "units run with different OpenBLAS cores are not flagged"
mut summary-nb-ratio harness/summary.c 'ratio = nr > 0 ? ratio / nr : 1.0 / (c->k - 1);' 'ratio = 1.0 / (c->k - 1);' \
  test_report_summary "the t-test ignores the recorded n_test/n_train"
mut summary-best harness/summary.c 'better(mean[m], mean[order[at - 1]], hib)' 'better(mean[order[at - 1]], mean[m], hib)' \
  "test_summary test_report_summary" "the best model is the one with the worst mean of the primary metric"
mut summary-best-one-fold harness/summary.c 'if (n[m] < 2)' 'if (n[m] < 1)' \
  test_summary "a model with one fold can be named best"
mut verdict-beats-baseline harness/summary.c 'better(hib ? lo[m] : hi[m], bv, hib)' 'better(((void)lo, (void)hi, v->mean[m]), bv, hib)' \
  test_summary "a model beats the baseline by its mean alone, not by its whole interval"
mut verdict-holm harness/summary.c 'sep[m] = x && x->p_holm < c->alpha' 'sep[m] = x && x->t.p < c->alpha' \
  test_summary "the top model is separated by uncorrected p-values"
# ---- the anomaly-map figure (harness/summary.c, harness/score.c) ----
mut maps-dataset-order harness/summary.c 'qsort(it, (size_t)*n, sizeof *it, map_item_cmp);' '(void)map_item_cmp;' \
  test_summary "equal margins go to the image of the first fold instead of the first in dataset order"
mut maps-first-repeat harness/summary.c 'const struct unit *u = &g->u[f];' 'const struct unit *u = &g->u[k + f];' \
  test_summary "the cells are picked from the second repeat"
mut maps-anomalous-only harness/summary.c 'if (u->label[j] == 1)' 'if (u->label[j] >= 0)' \
  test_summary "normal images are picked as cells"
mut maps-scale harness/score.c '*scale = any ? (top > 0 ? top : 1) : NAN;' '*scale = any ? 1 : NAN;' \
  test_report_maps "the maps are written on a fixed scale, not the unit's largest map value"
mut policy-quantile harness/metrics.c 'if (a0 <= (1 - t->quantile) * (double)total[0] + 1e-9)' 'if (a0 <= t->quantile * (double)total[0] + 1e-9)' \
  test_metrics "normal_quantile rejects q instead of 1 - q of the good parts"
mut policy-recall harness/metrics.c 'if (a1 >= t->recall_target * (double)total[1] - 1e-9)' 'if (a1 >= t->recall_target * (double)total[1])' \
  test_metrics "recall_target demands one image more when target x count is whole but not in double"
mut summary-boot-alpha harness/summary.c 'folds_derive_seed(c->seed, what, 0, 0), c->alpha,' 'folds_derive_seed(c->seed, what, 0, 0), 0.1,' \
  test_summary "pooled bootstrap intervals ignore alpha"
# ---- the data's identity (harness/cache.c, harness/unit.c) ----
mut data-key-pixels harness/cache.c 'sha256_update(&s, cc->data, sizeof(float)' 'if (0) sha256_update(&s, cc->data, sizeof(float)' \
  test_cache "the data key ignores the pixels"
mut unit-weights-mtime harness/unit.c '	if (sha256_file(path, hex) < 0) {' '	if (snprintf(hex, 65, "%lld", (long long)st.st_mtime) < 0) {' \
  test_unit "a unit goes stale when its pretrained weights are touched"
mut unit-weights-bytes harness/unit.c '	if (sha256_file(path, hex) < 0) {' '	if (sha256_hex(path, strlen(path), hex), 0) {' \
  test_unit "a unit stays current when its pretrained weights change"
mut unit-data-key harness/unit.c 'jw_kstr(&w, "data_key", data_key);' '(void)data_key;' \
  test_unit "a unit stays current when images are added"
# ---- inference's products (harness/accel_gemm.c, harness/accel_layers.c) ----
mut ordered-inference harness/accel_layers.c 'accel_set_ordered(!net.train);' 'accel_set_ordered(0);' \
  "test_accel test_predict" "inference runs OpenBLAS, whose results depend on the batch"
mut ordered-accumulate harness/accel_gemm.c 'int first = k0 == 0 && !j->accumulate;' 'int first = k0 == 0;' \
  test_accel "the ordered GEMM drops C's values when asked to add to them"
mut ordered-k-blocks harness/accel_gemm.c 'j->kernel(kc, u, v, c, j->ldc, first);' 'j->kernel(kc, u, v, c, j->ldc, 1);' \
  test_accel "a full tile restarts its chains at every block of k"
mut ordered-rows-accumulate harness/accel_gemm.c '	if (accumulate)
		transpose(C, (size_t)ldc, M, N, t, (size_t)M);' '	if (0)
		transpose(C, (size_t)ldc, M, N, t, (size_t)M);' \
  test_accel "a product run along its rows ignores C's values when adding to them"
mut frozen-offset harness/accel_gemm.c 'return c->data + (size_t)k0 * c->padded + (size_t)r0 * kn;' 'return c->data + (size_t)r0 * kn;' \
  test_accel "a frozen operand's packing serves the first block of k for every block"
mut frozen-range harness/accel_gemm.c 'if (x.base >= regions[i].lo && last < regions[i].hi)' 'if (x.base >= regions[i].lo && last >= x.base)' \
  test_accel "an operand only partly frozen is packed once and goes stale"
mut frozen-train harness/accel_layers.c '	if (net.train) /* a training step changes the weights after this pass */
		accel_thaw();' '' \
  test_net "inference after a training step uses the weights from before it"
mut frozen-load harness/net.c '	network *dn = n->dn;
	thaw(n);
	int all' '	network *dn = n->dn;
	int all' \
  test_net "predict after loading other weights uses the old ones"
mut frozen-free harness/net.c '	if (!n)
		return;
	thaw(n);' '	if (!n)
		return;' \
  test_net "a freed network's weights stay frozen: a network in its memory predicts with them"
mut frozen-state harness/net.c '	thaw(n);
	const char *p = buf' '	const char *p = buf' \
  test_net "predict after a training state is restored uses the weights from before it"
# ---- Winograd convolution (harness/accel_winograd.c) ----
mut wino-input-transform harness/accel_winograd.c 'v[2 * t] = d2 - d1,' 'v[2 * t] = d1 - d2,' \
  test_winograd "an entry of the input transform B^T has the wrong sign"
mut wino-accumulate harness/accel_winograd.c 'row[m * tx + jj] = accumulate ? row[m * tx + jj] + v : v;' 'row[m * tx + jj] = v;' \
  test_winograd "the input gradient overwrites net.delta instead of adding to it"
mut wino-tile-edge harness/accel_winograd.c 'i < m && m * ty + i < oh; i++)' 'i < m && m * ty + i < oh - 1; i++)' \
  test_winograd "the last output row is left out"
mut wino-padding harness/accel_winograd.c 'int yy = m * ty - pad + y, in_image' 'int yy = m * ty + y, in_image' \
  test_winograd "the input patches ignore the vertical padding"
mut wino-chunk-offset harness/accel_winograd.c 'const float *e = y + (size_t)(g - g0 + ty - ty0) * tw;' 'const float *e = y + (size_t)(g - g0 + ty) * tw;' \
  test_winograd "a chunk that starts inside an image takes the wrong tiles' outputs"
mut wino-phase-row harness/accel_winograd.c 'const float *s = src + (x - x0);' 'const float *s = src + x;' \
  test_winograd "the whole groups of a padded row are read from the wrong columns"
mut wino-rule-area harness/accel_winograd.c 'return area >= WINOGRAD4_MIN_AREA ? ACCEL_CONV_WINOGRAD4 : ACCEL_CONV_WINOGRAD;' 'return area > WINOGRAD4_MIN_AREA ? ACCEL_CONV_WINOGRAD4 : ACCEL_CONV_WINOGRAD;' \
  test_winograd "a 16x16 output gets F(2x2) instead of F(4x4)"
mut wino4-bf16 harness/accel_winograd.c 'if (a == ACCEL_CONV_WINOGRAD4 && accel_precision() == ACCEL_BF16)' 'if (0)' \
  test_winograd "F(4x4) runs in BF16, where its error reaches 0.4 S"
mut wino-kept-thaw harness/accel_gemm.c '	accel_winograd_thaw();
' '' \
  test_winograd "accel_thaw keeps the transformed kernels of weights that may change"
mut wino-kept-whole harness/accel_winograd.c 'if (!accel_is_frozen(weights, (size_t)n * c * 9))' 'if (!accel_is_frozen(weights, 1))' \
  test_winograd "weights only partly frozen have their transformed kernels kept"
mut wino4-input-transform harness/accel_winograd.c 'v[3 * t] = (d4 - d2) + 2 * (d3 - d1);' 'v[3 * t] = (d4 - d2) + 4 * (d3 - d1);' \
  test_winograd "an entry of F(4x4)'s input transform B^T is 4 instead of 2"
mut wino4-weight-grad harness/accel_winograd.c '(u3 - u4) * (1.0f / 12);' '(u3 - u4) * (1.0f / 24);' \
  test_winograd "an entry of G^T in F(4x4)'s weight gradient is 1/24 instead of 1/12"
mut wino4-kept-algo harness/accel_winograd.c '&& kept[i].c == c && kept[i].m == m)' '&& kept[i].c == c)' \
  test_accel "frozen weights' kept kernels of F(2x2) serve F(4x4)"
# ---- BF16 training products (harness/accel_gemm.c, harness/accel.c, harness/train.c, harness/experiment.c) ----
mut bf16-round harness/accel_gemm.c 'return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;' 'return x >> 16;' \
  test_accel_bf16 "the scalar kernel's inputs are truncated to bfloat16 instead of rounded to nearest even"
mut bf16-odd-k harness/accel_gemm.c 'int steps = j->to_bf16 ? (kc + 1) / 2 : kc;' 'int steps = j->to_bf16 ? kc / 2 : kc;' \
  test_accel_bf16 "the BF16 GEMM drops the last step of an odd K"
mut bf16-route harness/accel.c 'if (plain && product_precision == ACCEL_BF16) {' 'if (0) {' \
  "test_accel_bf16 test_winograd test_train" "precision bf16 leaves training's products in FP32"
mut bf16-train-switch harness/train.c 'accel_set_precision(o->training->precision == EXP_PREC_BF16 ? ACCEL_BF16 : ACCEL_FP32);' 'accel_set_precision(ACCEL_FP32);' \
  test_train "training ignores the experiment's precision"
mut bf16-hash-default harness/experiment.c 'return e->training.precision != EXP_PREC_FP32;' 'return e->training.precision >= EXP_PREC_FP32;' \
  test_experiment "the default precision enters the inputs hash, so every fp32 unit goes stale"
# ---- training's memory saving (harness/accel_memory.c, harness/accel.c) ----
mut memory-zero-late harness/accel_memory.c 'for (int o = s ? s->zero_first[step] : -1;' 'for (int o = s ? s->zero_first[step ? step - 1 : 0] : -1;' \
  test_accel_memory "a shared gradient buffer is zeroed after its first writer instead of before"
mut memory-zero-list harness/accel_memory.c '			s->zero_next[o] = s->zero_first[s->zero_at[o]];' '' \
  test_accel_memory "of two gradient buffers due for zeroing at the same backward step, one is left out"
mut memory-overlap harness/accel_memory.c 'if (free_below[b] <= end)' 'if (free_below[b] < end)' \
  test_accel_memory "two layers whose gradients are live at the same step share a buffer"
mut memory-x-norm harness/accel.c 'bn_x_norm_kernel(plane, a->x + off, a->mean[f], bn_divisor(a->var, f),' 'bn_x_norm_kernel(plane, a->x + off, 0, bn_divisor(a->var, f),' \
  test_accel_memory "the backward pass works x_norm out again without subtracting the mean"
mut memory-mmap-threshold harness/accel_memory.c '	fix_mmap_threshold();' '	(void)fix_mmap_threshold;' \
  test_accel_memory "glibc's mmap threshold is left to move, so freed scratch stays on the heap"

usage() { sed -n '/^# usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
want=() check_only=0
for a in "$@"; do
  case $a in
    --list) for i in "${!IDS[@]}"; do printf '%-26s %-18s %s [%s]\n' "${IDS[$i]}" "${FILES[$i]}" "${WHATS[$i]}" "${TESTS[$i]}"; done; exit 0;;
    --check) check_only=1;;
    -h|--help) usage;;
    -*) echo "mutate: unknown option '$a'" >&2; usage;;
    *) want+=("$a");;
  esac
done
sel=()
for i in "${!IDS[@]}"; do
  if [ ${#want[@]} = 0 ]; then sel+=("$i"); continue; fi
  for w in "${want[@]}"; do [ "$w" = "${IDS[$i]}" ] && sel+=("$i"); done
done
for w in "${want[@]}"; do
  printf '%s\n' "${IDS[@]}" | grep -qx -- "$w" || { echo "mutate: no mutation called '$w'" >&2; exit 2; }
done

# count FILE PATTERN: how often PATTERN occurs in FILE (literally).
count() {
  local text
  text=$(cat "$1"; printf x)
  local rest=${text//"$2"/}
  echo $(( (${#text} - ${#rest}) / ${#2} ))
}

# check_patterns ROOT: every selected pattern occurs exactly once under ROOT.
check_patterns() {
  local i f n bad=0
  for i in "${sel[@]}"; do
    f=$1/${FILES[$i]}
    n=$( [ -f "$f" ] && count "$f" "${PATS[$i]}" || echo 0)
    if [ "$n" != 1 ]; then
      echo "ERROR ${IDS[$i]}: the pattern occurs $n times in ${FILES[$i]}: ${PATS[$i]}"
      bad=$((bad + 1))
    fi
  done
  [ "$bad" = 0 ] || { echo "mutate: $bad patterns to update in tests/mutate.sh"; return 1; }
}
if [ "$check_only" = 1 ]; then
  check_patterns "$SRC" || exit 1
  echo "mutate: all ${#sel[@]} patterns occur exactly once"
  exit 0
fi

# The scratch tree: the working tree's files (tracked and new, not ignored),
# copied only where their content differs, so that builds stay incremental.
mkdir -p "$DIR/tree" || exit 1
T=$DIR/tree
(cd "$SRC" && git ls-files -co --exclude-standard -z) |
  while IFS= read -r -d '' f; do
    [ -f "$SRC/$f" ] || continue
    cmp -s "$SRC/$f" "$T/$f" 2>/dev/null && continue
    mkdir -p "$T/$(dirname "$f")" && cp "$SRC/$f" "$T/$f"
  done
LOG=$DIR/log
: > "$LOG"
[ -f "$T/build/CMakeCache.txt" ] ||
  cmake -S "$T" -B "$T/build" -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1 ||
  { echo "mutate: cmake failed (see $LOG)" >&2; exit 1; }

# build "TEST...": darkfold and the C test programs among the tests.
build() {
  local targets="darkfold" t
  for t in $1; do [ -f "$T/tests/$t.c" ] && targets="$targets $t"; done
  cmake --build "$T/build" -j"$JOBS" --target $targets >>"$LOG" 2>&1
}
# run "TEST...": 0 when every test passes.
run() {
  local re
  re="^($(echo $1 | tr ' ' '|'))\$"
  (cd "$T/build" && ctest -R "$re" --timeout 600 >>"$LOG" 2>&1)
}

errors=0
# Every pattern must occur exactly once before anything is built.
check_patterns "$T" || exit 1

# The unmutated tree must pass every named test.
all=$(for i in "${sel[@]}"; do echo ${TESTS[$i]}; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "mutate: ${#sel[@]} mutations; checking that the unmutated tree passes: $all"
if ! build "$all" || ! run "$all"; then
  echo "mutate: the unmutated tree fails (see $LOG); fix that first" >&2
  exit 1
fi

killed=0 survived=0 done_n=0 start=$(date +%s)
current=
# Interrupted: put the mutated file back.
trap '[ -n "$current" ] && cp "$DIR/original" "$current"; exit 130' INT TERM
survivors=()
for i in "${sel[@]}"; do
  id=${IDS[$i]} f=$T/${FILES[$i]}
  cp "$f" "$DIR/original"
  current=$f
  text=$(cat "$f"; printf x)
  text=${text%x}
  printf '%s' "${text/"${PATS[$i]}"/"${REPS[$i]}"}" > "$f"
  echo "=== $id" >> "$LOG"
  if ! build "${TESTS[$i]}"; then
    result="ERROR (does not build)"
    errors=$((errors + 1))
  elif run "${TESTS[$i]}"; then
    result="SURVIVED"
    survived=$((survived + 1))
    survivors+=("$id: ${WHATS[$i]} (${FILES[$i]})")
  else
    result="killed"
    killed=$((killed + 1))
  fi
  cp "$DIR/original" "$f" # a fresh timestamp: the next build recompiles it
  current=
  done_n=$((done_n + 1))
  el=$(( $(date +%s) - start ))
  eta=$(( el * (${#sel[@]} - done_n) / done_n ))
  printf '[%d/%d] %-26s %-22s %s  (ETA %dm%02ds)\n' "$done_n" "${#sel[@]}" "$id" "$result" \
    "${WHATS[$i]}" $((eta / 60)) $((eta % 60))
done
build "$all" >/dev/null 2>&1 # leave the scratch build unmutated

total=$((killed + survived))
pct=$(( total > 0 ? 100 * killed / total : 0 ))
echo "mutate: killed $killed of $total mutations ($pct %), $errors in error"
if [ ${#survivors[@]} -gt 0 ]; then
  echo "survivors:"
  printf '  %s\n' "${survivors[@]}"
fi
[ "$errors" = 0 ] && [ "$pct" -ge "$MIN" ]
