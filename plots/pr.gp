# pr.gp: pooled out-of-fold precision-recall curve of every model on one plot.
# Data: pr.dat (block per model: recall precision).
# Inputs: experiment, positive, ncurves, curve_titles[], curve_color[] (model
# index of each curve, for its colour), prevalence.
load common

set title sprintf('%s: precision-recall curves, pooled out-of-fold (%s class positive)', experiment, positive) font font_title
set size ratio -1
set xrange [0:1]
set yrange [0:1.0]
set xtics 0.1
set ytics 0.1
set format x '%.1f'
set format y '%.1f'
set grid xtics ytics lc rgb '#dddddd'
set xlabel 'recall (fraction)'
set ylabel 'precision (fraction)'
set key outside below center vertical spacing 1.2 width 1
plot for [i=1:ncurves] 'pr.dat' index (i - 1) using 1:2 with lines lw 2 lc rgb model_color(curve_color[i]) title curve_titles[i], \
     prevalence with lines dt 2 lw 1 lc rgb '#888888' title sprintf('random ranking (prevalence %.3f)', prevalence)
