# roc.gp: pooled out-of-fold ROC curve of every model on one plot.
# Data: roc.dat (block per model: fpr tpr).
# Inputs: experiment, positive, ncurves, curve_titles[], curve_color[] (model
# index of each curve, for its colour).
load common

set title sprintf('%s: ROC curves, pooled out-of-fold predictions (%s class positive)', experiment, positive) font font_title
set size ratio -1
set xrange [0:1]
set yrange [0:1.0]
set xtics 0.1
set ytics 0.1
set format x '%.1f'
set format y '%.1f'
set grid xtics ytics lc rgb '#dddddd'
set xlabel 'false positive rate (fraction)'
set ylabel 'true positive rate, recall (fraction)'
set key bottom right spacing 1.2 box opaque width 1
plot for [i=1:ncurves] 'roc.dat' index (i - 1) using 1:2 with steps lw 2 lc rgb model_color(curve_color[i]) title curve_titles[i], \
     x with lines dt 2 lw 1 lc rgb '#888888' title 'chance'
