package bench

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The chart geometry, in SVG user units.
const (
	svgW, svgH           = 720, 356
	padL, padR           = 70, 20
	padT, padB           = 56, 66
	plotW, plotH         = svgW - padL - padR, svgH - padT - padB
	legendRow            = 16
	maxTicks             = 6
	barGap       float64 = 0.1
)

var palette = []string{"#1f6fb4", "#d9531e", "#2e9e44", "#8e44ad", "#c0392b", "#7f8c8d"}

// SVG renders a plot as a self-contained SVG element: axes with ticks and
// labels, one polyline (or bar set) per series, a legend and the marks.
// Every text is escaped; it needs no script and no stylesheet.
func SVG(p Plot) string {
	var xs, ys []float64
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if !isBad(pt.X) && !isBad(pt.Y) {
				xs = append(xs, pt.X)
				ys = append(ys, pt.Y)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" font-family="sans-serif" font-size="11">`, svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(p.Title))
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`, padL, esc(p.Title))
	if len(xs) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data</text></svg>`, svgW/2-20, svgH/2)
		return b.String()
	}
	x0, x1 := minmax(xs)
	y0, y1 := minmax(ys)
	// Marks stretch the axis by at most a third; farther ones are listed
	// as off the scale rather than squeezing the data into a corner.
	var offScale []string
	if !p.XFree {
		x0 = min(x0, 0)
	}
	span := max(x1-x0, 1e-9)
	for _, m := range p.Marks {
		switch {
		case isBad(m.X):
		case m.X > x1+span/3 || m.X < x0:
			offScale = append(offScale, fmt.Sprintf("%s at %s", m.Label, strconv.FormatFloat(m.X, 'g', 3, 64)))
		default:
			x1 = max(x1, m.X)
			x0 = min(x0, m.X)
		}
	}
	y0 = min(y0, 0)
	if p.Kind == "bars" {
		// Bars are centred on X: leave half a bar each side.
		w := barWidth(p)
		if p.XFree || x0-w/2 < 0 {
			x0 -= w / 2
		} else {
			x0 = max(x0-w/2, 0)
		}
		x1 += w / 2
	}
	xt := niceTicks(x0, x1)
	yt := niceTicks(y0, y1)
	x0, x1 = xt[0], xt[len(xt)-1]
	y0, y1 = yt[0], yt[len(yt)-1]
	sx := func(v float64) float64 { return padL + (v-x0)/(x1-x0)*plotW }
	sy := func(v float64) float64 { return padT + plotH - (v-y0)/(y1-y0)*plotH }

	// Grid, ticks and labels.
	for _, t := range yt {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e3e3"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, tickLabel(t))
	}
	for _, t := range xt {
		x := sx(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e3e3"/>`, x, padT, x, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, padT+plotH+16, tickLabel(t))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#555"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, padL+plotW/2, padT+plotH+34, esc(p.XLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, esc(p.YLabel))

	// Data.
	b.WriteString(`<g>`)
	for k, s := range p.Series {
		col := palette[k%len(palette)]
		switch p.Kind {
		case "bars":
			w := barWidth(p) * (1 - barGap)
			for _, pt := range s.Points {
				if isBad(pt.X) || isBad(pt.Y) {
					continue
				}
				left, right := sx(pt.X-w/2), sx(pt.X+w/2)
				top := sy(pt.Y)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.75"/>`,
					left, top, max(right-left, 0.5), sy(y0)-top, col)
			}
		default:
			var pts []string
			prevY := math.NaN()
			for _, pt := range s.Points {
				if isBad(pt.X) || isBad(pt.Y) {
					continue
				}
				if p.Kind == "step" && !math.IsNaN(prevY) {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(pt.X), sy(prevY)))
				}
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(pt.X), sy(pt.Y)))
				prevY = pt.Y
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.Join(pts, " "), col)
		}
	}
	b.WriteString(`</g>`)

	// Marks.
	for k, m := range p.Marks {
		if isBad(m.X) || m.X < x0 || m.X > x1 {
			continue
		}
		x := sx(m.X)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-dasharray="4 3"/>`, x, padT, x, padT+plotH)
		anchor, dx := "start", 3.0
		if x > padL+plotW*0.8 {
			anchor, dx = "end", -3
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#444" font-size="10" text-anchor="%s">%s</text>`, x+dx, padT+12+12*(k%3), anchor, esc(m.Label))
	}
	if len(offScale) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#444" font-size="10">off the scale: %s</text>`, padL, svgH-6, esc(strings.Join(offScale, "; ")))
	}

	// Legend, in a row between the title and the plot.
	lx := padL
	for k, s := range p.Series {
		col := palette[k%len(palette)]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/>`, lx, 34, col)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, lx+16, 39, esc(s.Name))
		lx += 16 + 7*len([]rune(s.Name)) + 18
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

func minmax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// barWidth is the spacing of the first bar series' X values.
func barWidth(p Plot) float64 {
	for _, s := range p.Series {
		if len(s.Points) >= 2 {
			return math.Abs(s.Points[1].X - s.Points[0].X)
		}
	}
	return 1
}

// niceTicks returns evenly spaced round values covering [lo, hi]: steps of
// 1, 2 or 5 times a power of ten, at most maxTicks+1 of them.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/maxTicks)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= maxTicks {
			step *= m
			break
		}
	}
	start := math.Floor(lo/step) * step
	var t []float64
	for v := start; v < hi+step*0.999; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	if len(t) < 2 {
		t = append(t, start+step)
	}
	return t
}

func tickLabel(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", math.Round(v*1e6)/1e6)
}
