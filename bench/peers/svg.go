package peers

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// Plot geometry, in SVG user units, as the root bench package draws.
const (
	svgW, svgH   = 760, 420
	padL, padR   = 76, 24
	padT, padB   = 60, 70
	plotW, plotH = svgW - padL - padR, svgH - padT - padB
)

var palette = map[string]string{"hearsay": "#1f6fb4", "memberlist": "#d9531e"}

// TradeoffSVG draws the trade-off curves as a self-contained SVG: for each
// engine, its sweep points at (steady bytes per node per second, time
// until every survivor knows of a crash), joined in order of bytes, each
// labelled with its point's name. The x axis is logarithmic; lower and
// further left is better. Points whose detection did not complete are
// left out and listed under the plot.
func TradeoffSVG(points []SweepPoint, title string) string {
	type pt struct {
		x, y  float64
		label string
	}
	series := map[string][]pt{}
	var engines, left []string
	for _, p := range points {
		if !p.Bytes.Valid() || !p.AllKnow.Valid() || p.Bytes.Median <= 0 {
			left = append(left, p.Engine+" "+p.Label)
			continue
		}
		if _, ok := series[p.Engine]; !ok {
			engines = append(engines, p.Engine)
		}
		series[p.Engine] = append(series[p.Engine], pt{p.Bytes.Median, p.AllKnow.Median, p.Label})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" font-family="sans-serif" font-size="11">`, svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, svgW, svgH)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>`, padL, esc(title))
	if len(engines) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no data</text></svg>`, svgW/2-20, svgH/2)
		return b.String()
	}
	var xs, ys []float64
	for _, s := range series {
		for _, p := range s {
			xs = append(xs, p.x)
			ys = append(ys, p.y)
		}
	}
	lx0 := math.Floor(math.Log10(slices.Min(xs)))
	lx1 := math.Ceil(math.Log10(slices.Max(xs)))
	if lx1 <= lx0 {
		lx1 = lx0 + 1
	}
	yt := niceTicks(0, slices.Max(ys)*1.05)
	y0, y1 := yt[0], yt[len(yt)-1]
	sx := func(v float64) float64 { return padL + (math.Log10(v)-lx0)/(lx1-lx0)*plotW }
	sy := func(v float64) float64 { return padT + plotH - (v-y0)/(y1-y0)*plotH }

	for _, t := range yt {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e3e3"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`, padL-6, y+4, t)
	}
	for e := lx0; e <= lx1; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if math.Log10(v) > lx1+1e-9 {
				break
			}
			x := sx(v)
			stroke := "#f0f0f0"
			if m == 1 {
				stroke = "#d8d8d8"
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, x, padT, x, padT+plotH, stroke)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, padT+plotH+16, bytesLabel(v))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#555"/>`, padL, padT, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">steady UDP payload bytes sent per node per second (log scale)</text>`, padL+plotW/2, padT+plotH+36)
	fmt.Fprintf(&b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">crash known by every survivor (s)</text>`, padT+plotH/2, padT+plotH/2)

	lx := padL
	for _, e := range engines {
		col := palette[e]
		s := series[e]
		slices.SortFunc(s, func(a, b pt) int {
			switch {
			case a.x < b.x:
				return -1
			case a.x > b.x:
				return 1
			}
			return 0
		})
		var pts []string
		for _, p := range s {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.x), sy(p.y)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.Join(pts, " "), col)
		for _, p := range s {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, sx(p.x), sy(p.y), col)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s">%s</text>`, sx(p.x)+5, sy(p.y)-5, col, esc(p.label))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/>`, lx, 36, col)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, lx+16, 41, esc(e))
		lx += 16 + 7*len(e) + 24
	}
	fmt.Fprintf(&b, `<text x="%d" y="41" fill="#444">lower left is better; medians over repetitions</text>`, lx)
	if len(left) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#444" font-size="10">not plotted (detection incomplete within the bound): %s</text>`, padL, svgH-8, esc(strings.Join(left, ", ")))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// niceTicks returns round values covering [lo, hi] in steps of 1, 2 or 5
// times a power of ten, at most 7 of them.
func niceTicks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/6)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var t []float64
	for v := math.Floor(lo/step) * step; v < hi+step*0.999; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	if len(t) < 2 {
		t = append(t, t[0]+step)
	}
	return t
}

func bytesLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
