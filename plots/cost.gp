# cost.gp: training cost per model: throughput (images/s, log scale) and
# training time per unit (mean as a bar, each unit as a point).
# Data: cost.dat (model_index images_per_second_mean train_seconds_mean
#       train_seconds_total), cost_units.dat (model_index train_seconds).
# Inputs: experiment, nmodels, models[], time_unit, time_scale (seconds per
# unit of time), ips_low, ips_high, time_high (axis ranges), have_units (0: no
# unit files, so no points).
load common

set xrange [-0.6:nmodels - 0.4]
set xtics () scale 0
do for [i=1:nmodels] { set xtics add (models[i] i - 1) }
if (nmodels > 4) { set xtics rotate by 25 right }
set xlabel 'model'
set style fill solid 0.75 border lc rgb '#333333'
set boxwidth 0.6
set multiplot layout 1, 2 title sprintf('%s: training cost per model', experiment) font font_title

set title 'throughput'
set logscale y
set ylabel 'training throughput (images/s, log scale)'
set yrange [ips_low:ips_high]
set key top left
plot 'cost.dat' using 1:2 with boxes fs solid 0.35 lc rgb '#0072B2' title 'mean over units', \
     'cost.dat' using 1:2:(sprintf('%.0f', $2)) with labels offset 0, 0.8 font font_small

unset logscale y
set title 'training time'
set ylabel sprintf('training time per unit (%s)', time_unit)
set yrange [0:time_high]
set key top right
if (have_units) {
    plot 'cost.dat' using 1:($3 / time_scale) with boxes fs solid 0.35 lc rgb '#0072B2' title 'mean over units', \
         'cost_units.dat' using 1:($2 / time_scale) with points pt 7 ps 0.9 * pscale lc rgb '#D55E00' title 'one unit'
} else {
    plot 'cost.dat' using 1:($3 / time_scale) with boxes fs solid 0.35 lc rgb '#0072B2' title 'mean over units'
}
unset multiplot
