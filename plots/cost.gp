# cost.gp: training cost per model: throughput (images/s, log scale) and
# training time per unit (mean as a bar, each unit as a point).
# Data: cost.dat (model_index images_per_second_mean train_seconds_mean
#       train_seconds_total), cost_units.dat (model_index train_seconds).
# Inputs: experiment, nmodels, models[], time_unit, time_scale, have_units.
load common

set xrange [-0.6:nmodels - 0.4]
set xtics () scale 0
do for [i=1:nmodels] { set xtics add (models[i] i - 1) }
set xlabel 'model'
set style fill solid 0.75 border lc rgb '#333333'
set boxwidth 0.6
set multiplot layout 1, 2 title sprintf('%s: training cost per model', experiment) font ',13'

set title 'throughput'
set logscale y
set ylabel 'training throughput (images/s, log scale)'
set yrange [*:*]
set autoscale ymax
stats 'cost.dat' using 2 nooutput
set yrange [STATS_min / 3.0 : STATS_max * 4.0]
set key top left
plot for [i=1:nmodels] 'cost.dat' every ::(i - 1)::(i - 1) using 1:2 with boxes lc rgb model_color(i) title (i == 1 ? 'mean over units' : ''), \
     'cost.dat' using 1:2:(sprintf('%.0f', $2)) with labels offset 0, 0.8 font ',10'

unset logscale y
set title 'training time'
set ylabel sprintf('training time per unit (%s)', time_unit)
stats 'cost.dat' using ($3 / time_scale) nooutput
tmax = STATS_max
if (have_units) {
    stats 'cost_units.dat' using ($2 / time_scale) nooutput
    tmax = STATS_max > tmax ? STATS_max : tmax
}
set yrange [0:tmax * 1.15]
set key top right
plot 'cost.dat' using 1:($3 / time_scale) with boxes fs solid 0.35 lc rgb '#0072B2' title 'mean over units', \
     'cost_units.dat' using 1:($2 / time_scale) with points pt 7 ps 0.9 lc rgb '#D55E00' title 'one unit'
unset multiplot
