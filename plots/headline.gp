# headline.gp: loss, accuracy, recall, F-beta and AUROC per model and
# baseline (mean and confidence interval across folds), with the original
# study's VGG16 as dashed reference marks.
# Data: headline.dat (block per series: metric_index mean ci_low ci_high),
#       headline_ref.dat (metric_index value).
# Inputs: experiment, k, repeats, ci_level, nmodels, nseries, series[], metric_labels[5].
load common

dx = 0.8 / nseries
off(s) = (s - (nseries + 1) / 2.0) * dx
is_model(s) = s <= nmodels
scol(s) = is_model(s) ? model_color(s) : greys[(s - nmodels - 1) % 3 + 1]
spt(s) = is_model(s) ? 7 : (s - nmodels == 1 ? 6 : (s - nmodels == 2 ? 4 : 8))
stitle(s) = is_model(s) ? series[s] : series[s] . ' (baseline)'
pos(y) = y > 0 ? y : 1e-3

set multiplot title sprintf('%s: headline metrics, mean and %g %% CI over %d folds × %d repeat%s', experiment, ci_level, k, repeats, repeats == 1 ? '' : 's') font font_title

# left: loss (log scale: baselines that always answer one class have large loss)
set size 0.24, 0.93
set origin 0.0, 0.0
set lmargin 10
set rmargin 2
set bmargin 4
set tmargin 2
set logscale y
set xrange [-0.5:0.5]
set xtics ('Loss' 0)
set ylabel 'loss (cross-entropy, nats, log scale)'
set format y '%g'
set xlabel 'metric'
plot 'headline_ref.dat' using ($1 == 0 ? $1 - 0.45 : NaN):2:(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb '#333333', \
     for [s=1:nseries] 'headline.dat' index (s - 1) using ($1 == 0 ? $1 + off(s) : NaN):2:(pos($3)):(pos($4)) \
         with yerrorbars pt spt(s) ps 1.2 * pscale lw 1.5 lc rgb scol(s)

# right: proportions on [0, 1]
unset logscale y
set size 0.76, 0.93
set origin 0.24, 0.0
set lmargin 8
set rmargin 34
set xrange [0.5:4.5]
set yrange [0:1.05]
set ytics 0.1
set format y '%.1f'
set xtics ()
do for [m=2:5] { set xtics add (metric_labels[m] m - 1) }
set ylabel 'score (fraction, 0 to 1)'
set key outside right top vertical Left reverse spacing 1.3 title sprintf('mean and %g %% CI', ci_level) samplen 2
plot 'headline_ref.dat' using ($1 > 0 ? $1 - 0.45 : NaN):2:(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb '#333333' \
         title 'original study, VGG16', \
     for [s=1:nseries] 'headline.dat' index (s - 1) using ($1 > 0 ? $1 + off(s) : NaN):2:3:4 \
         with yerrorbars pt spt(s) ps 1.2 * pscale lw 1.5 lc rgb scol(s) title stitle(s)
unset multiplot
