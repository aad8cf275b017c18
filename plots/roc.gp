# roc.gp: pooled out-of-fold ROC curve of every model on one plot.
# Data: roc.dat (block per model: fpr tpr), roc_points.dat (the operating
# point at the units' chosen thresholds, fpr tpr, one line per curve that has
# one; point_curve[j] is line j's curve).
# Inputs: experiment, positive, ncurves, curve_titles[], curve_color[] (model
# index of each curve, for its colour), npoints, point_curve[].
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
# gnuplot reads a file even for an empty iteration: plot the points only
# when there are any
point_color(j) = curve_color[point_curve[j]]
points = npoints == 0 ? "" : \
  "for [j=1:npoints] 'roc_points.dat' every ::(j - 1)::(j - 1) using 1:2 with points pt 7 ps 2.2 * pscale lc rgb model_color(point_color(j)) notitle, " . \
  "for [j=1:npoints] 'roc_points.dat' every ::(j - 1)::(j - 1) using 1:2 with points pt 6 ps 2.2 * pscale lc rgb '#000000' title (j == 1 ? 'operating point (chosen threshold)' : ''),"
set key bottom right spacing 1.2 box opaque width 1
plot for [i=1:ncurves] 'roc.dat' index (i - 1) using 1:2 with steps lw 2 lc rgb model_color(curve_color[i]) title curve_titles[i], \
     @points \
     x with lines dt 2 lw 1 lc rgb '#888888' title 'chance'
