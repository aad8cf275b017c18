# learning_curves.gp: training and inner-validation loss per epoch, mean
# across folds with a band of ± 1 standard deviation, one panel per model.
# Data: learning_curves.dat (block per model: epoch n train_mean train_sd
#       val_mean val_sd).
# Inputs: experiment, k, repeats, nmodels, models[], rows, cols, ymax, emax
# (axis ranges), has_curve[] (0: the model has no completed unit).
load common

set xrange [1:emax]
set yrange [0:ymax]
set xlabel 'epoch'
set ylabel 'loss (cross-entropy, nats)'
set key top right spacing 1.1 samplen 2.5
set multiplot layout rows, cols title sprintf('%s: learning curves, mean across %d folds × %d repeat%s (band: ± 1 SD)', experiment, k, repeats, repeats == 1 ? '' : 's') font font_title margins 0.07, 0.98, 0.09, 0.90 spacing 0.07, 0.12
do for [i=1:nmodels] {
    set title models[i]
    if (!has_curve[i]) {
        set label 1 'no completed unit' at graph 0.5, 0.5 center
        plot -1 notitle
        unset label 1
        continue
    }
    plot 'learning_curves.dat' index (i - 1) using 1:($3 - $4):($3 + $4) with filledcurves fs transparent solid 0.18 noborder lc rgb '#0072B2' title 'train ± 1 SD', \
         '' index (i - 1) using 1:3 with lines lw 2 lc rgb '#0072B2' title 'train, mean', \
         '' index (i - 1) using 1:($5 - $6):($5 + $6) with filledcurves fs transparent solid 0.18 noborder lc rgb '#D55E00' title 'validation ± 1 SD', \
         '' index (i - 1) using 1:5 with lines lw 2 dt 2 lc rgb '#D55E00' title 'validation, mean'
}
unset multiplot
