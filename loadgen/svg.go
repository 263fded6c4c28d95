package loadgen

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// WriteSVG draws the report's timeline: throughput (top panel) and p99
// latency (bottom panel) against the time since the run started, one
// series per workload and side. Each round of a series is its own line,
// since the sides take turns. Every line carries data-series="workload
// side", so a reader (or a test) can find the series without the colours.
func WriteSVG(w io.Writer, rep *Report) error {
	const (
		width, height = 960, 560
		left, right   = 70, 220
		top           = 30
		panelH        = 220
		gap           = 50
	)
	var maxT, maxRate, maxLat float64
	for _, iv := range rep.Timeline {
		maxT = math.Max(maxT, iv.Start)
		maxRate = math.Max(maxRate, iv.PerSecond)
		maxLat = math.Max(maxLat, iv.P99ms)
	}
	maxT = math.Max(maxT*1.02, 1e-3)
	maxRate, maxLat = niceCeil(maxRate), niceCeil(maxLat)
	plotW := float64(width - left - right)
	x := func(t float64) float64 { return left + t/maxT*plotW }
	y := func(v, vmax float64, panelTop float64) float64 { return panelTop + panelH - v/vmax*panelH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, "<title>wxlogin bench, %d clients, %s</title>\n", rep.Clients, rep.Started.Format("2006-01-02 15:04 UTC"))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	panels := []struct {
		title string
		top   float64
		max   float64
		value func(Interval) float64
	}{
		{"throughput (requests/s)", top, maxRate, func(iv Interval) float64 { return iv.PerSecond }},
		{"p99 latency (ms)", top + panelH + gap, maxLat, func(iv Interval) float64 { return iv.P99ms }},
	}
	series := seriesOf(rep)
	for _, p := range panels {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-weight="bold">%s</text>`+"\n", left, p.top-8, p.title)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="none" stroke="#999"/>`+"\n", left, p.top, plotW, panelH)
		for i := 0; i <= 4; i++ {
			v := p.max * float64(i) / 4
			yy := y(v, p.max, p.top)
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", left, left+plotW, yy, yy)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, yy+4, label(v))
		}
		for _, s := range series {
			for _, seg := range segments(rep.Timeline, s) {
				var pts []string
				for _, iv := range seg {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(iv.Start), y(p.value(iv), p.max, p.top)))
				}
				fmt.Fprintf(&b, `<polyline data-series="%s" fill="none" stroke="%s" stroke-width="1.5"%s points="%s"/>`+"\n",
					html.EscapeString(s.name()), colour(series, s), dash(s.side), strings.Join(pts, " "))
			}
		}
	}
	bottom := top + 2*panelH + gap
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">seconds since the start of the run</text>`+"\n", left+plotW/2, bottom+30)
	for i := 0; i <= 4; i++ {
		t := maxT * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(t), bottom+14, label(t))
	}
	for si, s := range series {
		ly := top + 10 + si*20
		lx := width - right + 15
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx, lx+25, ly, ly, colour(series, s), dash(s.side))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", lx+32, ly+4, html.EscapeString(s.name()))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type seriesKey struct{ workload, side string }

func (s seriesKey) name() string { return s.workload + " " + s.side }

func seriesOf(rep *Report) []seriesKey {
	var out []seriesKey
	seen := map[seriesKey]bool{}
	for _, iv := range rep.Timeline {
		k := seriesKey{iv.Workload, iv.Side}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// segments splits a series into its rounds, in order.
func segments(tl []Interval, s seriesKey) [][]Interval {
	var out [][]Interval
	round := -1
	for _, iv := range tl {
		if iv.Workload != s.workload || iv.Side != s.side {
			continue
		}
		if iv.Round != round {
			out = append(out, nil)
			round = iv.Round
		}
		out[len(out)-1] = append(out[len(out)-1], iv)
	}
	return out
}

// colour gives each workload its own colour, the same for all its sides.
func colour(all []seriesKey, s seriesKey) string {
	palette := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}
	var workloads []string
	for _, k := range all {
		if !slices.Contains(workloads, k.workload) {
			workloads = append(workloads, k.workload)
		}
	}
	return palette[slices.Index(workloads, s.workload)%len(palette)]
}

// dash draws the baseline dashed and the bare backend dotted, in their
// workload's colour.
func dash(side string) string {
	switch side {
	case SideBaseline:
		return ` stroke-dasharray="5,3"`
	case SideBackend:
		return ` stroke-dasharray="1,3"`
	}
	return ""
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func label(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
