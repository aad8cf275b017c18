# common.gp: terminal, fonts and colours shared by every darkfold figure.
# Inputs (set by the generated header in the figure folder):
#   name    output file name without extension
#   fmt     'png' (pngcairo, width x height pixels), 'svg' (the same size) or
#           'pdf' (pdfcairo, width/150 x height/150 inches: 1200 pixels make 8 inches)
#   width, height
set encoding utf8
if (fmt eq 'pdf') {
    set terminal pdfcairo size (width / 150.0), (height / 150.0) font 'Sans,8' noenhanced linewidth 1
}
if (fmt eq 'svg') {
    set terminal svg size width, height font 'Sans,11' noenhanced linewidth 1 background '#ffffff'
}
if (fmt eq 'png') {
    set terminal pngcairo size width, height font 'Sans,11' noenhanced linewidth 1
}
set output name . '.' . fmt
# Font and point sizes relative to the base font, so PNG and PDF agree.
fscale = fmt eq 'pdf' ? 8.0 / 11.0 : 1.0
font_title = sprintf(',%g', 13 * fscale)
font_cell = sprintf(',%g', 12 * fscale)
font_small = sprintf(',%g', 10 * fscale)
pscale = fmt eq 'pdf' ? 0.55 : 1.0
set datafile missing NaN
set border lw 1
set grid ytics lc rgb '#dddddd' lw 1 dt 1
set key noautotitle

# Okabe-Ito colours (distinguishable with colour-blindness) for models,
# greys for baselines.
array palette[8] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442']
array greys[3] = ['#555555', '#888888', '#aaaaaa']
model_color(i) = palette[(i - 1) % 8 + 1]
