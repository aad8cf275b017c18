# defect_recall.gp: pooled recall per defect type (share of each defect's
# images called anomalous) for every model, as a heatmap.
# Data: defect_recall.dat (defect_index model_index recall n_images).
# Inputs: experiment, nmodels, models[], ndefects, defects[], has_defects.
load common

set title sprintf('%s: recall per defect type (pooled out-of-fold predictions)', experiment) font font_title
set palette defined (0 '#b2182b', 0.5 '#f7f7f7', 1 '#2166ac')
set cbrange [0:1]
set cbtics ('0 %%' 0, '25 %%' 0.25, '50 %%' 0.5, '75 %%' 0.75, '100 %%' 1)
set cblabel 'recall: share of the images called anomalous'
set xrange [-0.5:ndefects - 0.5]
set yrange [nmodels - 0.5:-0.5]
set xtics () rotate by 25 right scale 0
do for [d=1:ndefects] { set xtics add (defects[d] d - 1) }
set ytics () scale 0
do for [i=1:nmodels] { set ytics add (models[i] i - 1) }
set xlabel 'defect type'
set ylabel 'model'
set lmargin 14
set bmargin 9
unset grid
set key off
if (!has_defects) {
    set label 1 'no recall per defect type recorded' at graph 0.5, 0.5 center
    plot -1 notitle
} else {
    plot 'defect_recall.dat' using 1:2:3 with image pixels, \
         '' using 1:2:($3 == $3 ? sprintf('%.0f %% (n=%d)', 100 * $3, $4) : 'no images') with labels font font_small tc rgb 'black'
}
