# headline.gp: the primary metric first (left), then the other headline
# metrics on [0, 1] and the loss (log scale), per model and baseline: mean
# and confidence interval across folds, with the original study's VGG16 as
# dashed reference marks. The legend sits under the panels.
# Data: headline.dat (block per series: metric_index mean ci_low ci_high;
#       metric 0 is the primary metric), headline_ref.dat (metric_index value).
# Inputs: experiment, k, repeats, ci_level, nmodels, nseries, series[],
#         nmetrics, metric_labels[nmetrics], loss_index (0 when the loss is
#         the primary metric), ref_primary (1 when the original study gave
#         the primary metric).
load common

dx = 0.8 / nseries
off(s) = (s - (nseries + 1) / 2.0) * dx
is_model(s) = s <= nmodels
scol(s) = is_model(s) ? model_color(s) : greys[(s - nmodels - 1) % 3 + 1]
spt(s) = is_model(s) ? 7 : (s - nmodels == 1 ? 6 : (s - nmodels == 2 ? 4 : 8))
stitle(s) = is_model(s) ? series[s] : series[s] . ' (baseline)'
pos(y) = y > 0 ? y : 1e-3
# the [0, 1] metrics besides the primary one: x positions 1 .. nmetrics - 2
npanel = nmetrics - (loss_index > 0 ? 2 : 1)
xpos(m) = m < loss_index || loss_index == 0 ? m : m - 1
in_mid(m) = m > 0 && m != loss_index

set multiplot title sprintf('%s: primary metric %s first; mean and %g %% CI over %d folds × %d repeat%s', experiment, metric_labels[1], ci_level, k, repeats, repeats == 1 ? '' : 's') font font_title
set bmargin 9
set tmargin 3
set xlabel ''

# left: the primary metric
set size 0.26, 0.92
set origin 0.0, 0.0
set lmargin 10
set rmargin 2
set xrange [-0.5:0.5]
set xtics (sprintf('%s (primary)', metric_labels[1]) 0)
if (loss_index == 0) {
    set logscale y
    set format y '%g'
    set ylabel 'loss (cross-entropy, nats, log scale)'
} else {
    set yrange [0:1.05]
    set ytics 0.1
    set format y '%.1f'
    set ylabel 'score (fraction, 0 to 1)'
}
set title sprintf('%s: decides the verdict', metric_labels[1]) font font_cell
# the study's mark only where it gave the primary metric
ref0 = ref_primary ? "'headline_ref.dat' using ($1 == 0 ? $1 - 0.45 : NaN):2:(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb '#333333'," : ""
plot @ref0 \
     for [s=1:nseries] 'headline.dat' index (s - 1) using ($1 == 0 ? $1 + off(s) : NaN):($1 == 0 && loss_index == 0 ? pos($2) : $2):($1 == 0 && loss_index == 0 ? pos($3) : $3):($1 == 0 && loss_index == 0 ? pos($4) : $4) \
         with yerrorbars pt spt(s) ps 1.2 * pscale lw 1.5 lc rgb scol(s)
unset logscale y

# middle: the other metrics on [0, 1]; the legend goes under the panels
set size (loss_index > 0 ? 0.52 : 0.74), 0.92
set origin 0.26, 0.0
set lmargin 8
set rmargin 2
set xrange [0.5:npanel + 0.5]
set yrange [0:1.05]
set ytics 0.1
set format y '%.1f'
set xtics ()
do for [m=1:nmetrics - 1] { if (in_mid(m)) { set xtics add (metric_labels[m + 1] xpos(m)) } }
set ylabel 'score (fraction, 0 to 1)'
set title 'secondary metrics (reported, never decide)' font font_cell
set key at screen 0.5, screen 0.02 center bottom horizontal maxrows 2 Left reverse spacing 1.2 samplen 2 width 1
plot 'headline_ref.dat' using (in_mid($1) ? xpos($1) - 0.45 : NaN):2:(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb '#333333' \
         title 'original study, VGG16', \
     for [s=1:nseries] 'headline.dat' index (s - 1) using (in_mid($1) ? xpos($1) + off(s) : NaN):2:3:4 \
         with yerrorbars pt spt(s) ps 1.2 * pscale lw 1.5 lc rgb scol(s) title stitle(s)
unset key

# right: the loss (log scale: baselines that always answer one class have
# large loss), unless it is the primary metric
if (loss_index > 0) {
    set size 0.22, 0.92
    set origin 0.78, 0.0
    set lmargin 10
    set rmargin 2
    set logscale y
    set autoscale y
    set ytics autofreq
    set format y '%g'
    set xrange [-0.5:0.5]
    set xtics ('Loss' 0)
    set ylabel 'loss (cross-entropy, nats, log scale)'
    set title 'loss (lower is better)' font font_cell
    plot 'headline_ref.dat' using ($1 == loss_index ? 0 - 0.45 : NaN):2:(0.9):(0) with vectors nohead dt 2 lw 2 lc rgb '#333333', \
         for [s=1:nseries] 'headline.dat' index (s - 1) using ($1 == loss_index ? off(s) : NaN):(pos($2)):(pos($3)):(pos($4)) \
             with yerrorbars pt spt(s) ps 1.2 * pscale lw 1.5 lc rgb scol(s)
}
unset multiplot
