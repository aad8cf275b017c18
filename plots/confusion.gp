# confusion.gp: pooled confusion matrix of each model (counts and share of
# the actual class), one panel per model.
# Data: confusion.dat (block per model: predicted actual count share;
#       class 0 normal, 1 anomalous).
# Inputs: experiment, nmodels, models[], rows, cols.
load common

set palette defined (0 '#f7fbff', 0.5 '#9ecae1', 1 '#2171b5')
set cbrange [0:1]
set cbtics 0.25
set format cb '%.0s'
set cbtics ('0 %%' 0, '25 %%' 0.25, '50 %%' 0.5, '75 %%' 0.75, '100 %%' 1)
set cblabel 'share of the actual class' offset -0.5
set xrange [-0.5:1.5]
set yrange [1.5:-0.5]
set xtics ('normal' 0, 'anomalous' 1) scale 0
set ytics ('normal' 0, 'anomalous' 1) scale 0 rotate by 90 center
set xlabel 'predicted class'
set ylabel 'actual class'
set size ratio 1
unset grid
label(c, s) = s == s ? sprintf("%d\n(%.0f %%)", c, 100 * s) : "no data"
# equal panels; one colour scale at the right edge, drawn with the last panel
# margins in pixels of the PNG (the PDF scales alike): 95 left for the
# axis label and tics, 120 right for the colour scale
lm = 95.0 / width
rm = 1 - 120.0 / width
set colorbox user origin screen (rm + 25.0 / width), screen 0.2 size screen (14.0 / width), screen 0.6
set multiplot layout rows, cols title sprintf('%s: pooled confusion matrices (out-of-fold predictions, all folds)', experiment) font font_title \
    margins lm, rm, 0.12, 0.86 spacing (50.0 / width), 0.16
do for [i=1:nmodels] {
    set title models[i]
    if (i == nmodels) { set colorbox } else { unset colorbox }
    if ((i - 1) % cols == 0) { set ylabel 'actual class' } else { unset ylabel }
    plot 'confusion.dat' index (i - 1) using 1:2:4 with image pixels, \
         '' index (i - 1) using 1:2:($4 > 0.6 ? label($3, $4) : '') with labels font font_cell tc rgb 'white', \
         '' index (i - 1) using 1:2:($4 > 0.6 ? '' : label($3, $4)) with labels font font_cell tc rgb 'black'
}
unset multiplot
