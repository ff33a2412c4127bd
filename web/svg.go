package web

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/hoso-vn/hoso/workflow"
)

// The dashboard draws its charts and state diagrams on the server as
// inline SVG: geometry is computed here and written by the "chart" and
// "diagram" templates, so html/template escapes every label, pages need
// no script to show them, they print, and the CSP can forbid inline
// scripts and styles (the SVG uses presentation attributes and classes).

// chart is a bar or line chart ready to draw.
type chart struct {
	ID     string // unique on the page, for aria-labelledby
	Title  string
	W, H   float64
	Bars   []chartBar
	Line   string // polyline points of a line chart, "" for bars
	Dots   []chartDot
	Grid   []chartTick // horizontal grid lines with their values
	XTicks []chartText // labels under the plot
	Empty  string      // shown instead of the plot when there is nothing to draw
	// Desc is the chart's text alternative, shown under it and announced
	// with it (aria-describedby); "" for none (the dashboard's charts sit
	// beside their tables).
	Desc string
}

type chartBar struct {
	X, Y, W, H   float64
	Label        string
	LX, LY       float64 // label position
	Value        string
	VX, VY       float64 // value position
	Class        string
	LabelAnchor  string
	ValueAnchor  string
	Title        string // tooltip
	LabelIsLeft  bool
	ValueOutside bool
}

type chartDot struct {
	X, Y  float64
	Title string
	Value string
	VY    float64
}

type chartTick struct {
	X1, X2, Y float64
	Label     string
	LX        float64
}

type chartText struct {
	X, Y  float64
	Label string
}

// chartItem is one value to draw.
type chartItem struct {
	Label string
	Value float64
	Text  string // the value as shown; formatted by the caller
	Class string // extra CSS class of the bar
}

// hbarChart draws horizontal bars, one row per item, labels on the left.
func hbarChart(id, title string, items []chartItem) chart {
	const (
		w      = 640.0
		labelW = 230.0
		rowH   = 26.0
		barH   = 18.0
		pad    = 8.0
		valueW = 70.0
	)
	c := chart{ID: id, Title: title, W: w, H: float64(len(items))*rowH + 2*pad}
	if len(items) == 0 {
		c.H = 40
		return c
	}
	maxV := 0.0
	for _, it := range items {
		maxV = math.Max(maxV, it.Value)
	}
	plotW := w - labelW - valueW - 2*pad
	for i, it := range items {
		y := pad + float64(i)*rowH
		bw := 0.0
		if maxV > 0 {
			bw = plotW * it.Value / maxV
		}
		c.Bars = append(c.Bars, chartBar{
			X: labelW + pad, Y: y + (rowH-barH)/2, W: bw, H: barH,
			Label: truncate(it.Label, 34), LX: labelW, LY: y + rowH/2 + 4, LabelAnchor: "end",
			Value: it.Text, VX: labelW + pad + bw + 6, VY: y + rowH/2 + 4, ValueAnchor: "start",
			Class: strings.TrimSpace("bar " + it.Class), Title: it.Label + ": " + it.Text,
		})
	}
	return c
}

// The frame of the vertical charts (vbarChart, lineChart): size and the
// margins around the plot, in SVG units.
const (
	frameW      = 640.0
	frameH      = 240.0
	frameLeft   = 48.0
	frameBottom = 36.0
	frameTop    = 20.0
)

// grid adds the horizontal grid lines of a vertical chart, one per step
// from 0 to maxV, labelled with suffix.
func (c *chart) grid(plotH, maxV, step float64, suffix string) {
	for v := 0.0; v <= maxV+step/2; v += step {
		y := frameTop + plotH - plotH*v/maxV
		c.Grid = append(c.Grid, chartTick{X1: frameLeft, X2: frameW - 8, Y: y, Label: trimFloat(v) + suffix, LX: frameLeft - 4})
	}
}

// vbarChart draws vertical bars with labels under them.
func vbarChart(id, title string, items []chartItem) chart {
	c := chart{ID: id, Title: title, W: frameW, H: frameH}
	if len(items) == 0 {
		c.H = 40
		return c
	}
	maxV := 0.0
	for _, it := range items {
		maxV = math.Max(maxV, it.Value)
	}
	step, maxV := niceScale(maxV)
	plotH, plotW := frameH-frameTop-frameBottom, frameW-frameLeft-8
	c.grid(plotH, maxV, step, "")
	slot := plotW / float64(len(items))
	bw := math.Min(slot*0.7, 48)
	every := labelEvery(len(items), 14)
	for i, it := range items {
		bh := plotH * it.Value / maxV
		x := frameLeft + float64(i)*slot + (slot-bw)/2
		b := chartBar{
			X: x, Y: frameTop + plotH - bh, W: bw, H: bh, Class: strings.TrimSpace("bar " + it.Class),
			Value: it.Text, VX: x + bw/2, VY: frameTop + plotH - bh - 4, ValueAnchor: "middle",
			Title: it.Label + ": " + it.Text,
		}
		if len(items) > 14 {
			b.Value = "" // too crowded; the tooltip keeps it
		}
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			c.XTicks = append(c.XTicks, chartText{X: x + bw/2, Y: frameH - frameBottom + 16, Label: it.Label})
		}
	}
	return c
}

// lineChart draws values from 0 to 100 (percentages) as a line with dots.
func lineChart(id, title string, items []chartItem) chart {
	c := chart{ID: id, Title: title, W: frameW, H: frameH}
	if len(items) == 0 {
		c.H = 40
		return c
	}
	plotH, plotW := frameH-frameTop-frameBottom, frameW-frameLeft-56 // room on the right for the last value
	c.grid(plotH, 100, 20, "%")
	slot := plotW / float64(max(len(items)-1, 1))
	var pts []string
	every := labelEvery(len(items), 12)
	for i, it := range items {
		x := frameLeft + 12 + float64(i)*slot
		if len(items) == 1 {
			x = frameLeft + plotW/2
		}
		y := frameTop + plotH - plotH*math.Min(math.Max(it.Value, 0), 100)/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		d := chartDot{X: x, Y: y, Title: it.Label + ": " + it.Text, VY: y - 8}
		if len(items) <= 12 {
			d.Value = it.Text
		}
		c.Dots = append(c.Dots, d)
		if i%every == 0 {
			c.XTicks = append(c.XTicks, chartText{X: x, Y: frameH - frameBottom + 16, Label: it.Label})
		}
	}
	c.Line = strings.Join(pts, " ")
	return c
}

// niceScale returns a grid step and the top of the scale for values up
// to maxV: steps of 1, 2 or 5 times a power of ten, about five of them.
func niceScale(maxV float64) (step, top float64) {
	if maxV <= 0 {
		return 1, 1
	}
	raw := maxV / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * p; step >= raw {
			break
		}
	}
	step = math.Max(step, 1)
	return step, math.Ceil(maxV/step) * step
}

func labelEvery(n, most int) int { return max(1, (n+most-1)/most) }

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// diagram is a state diagram laid out in layers, top to bottom.
type diagram struct {
	ID    string
	Title string
	W, H  float64
	Nodes []diagramNode
	Edges []diagramEdge
}

type diagramNode struct {
	X, Y, W, H float64
	Name       string // state name
	Label      string // status code and name
	Class      string
	Start      bool // the pseudo-state of a new dossier: a dot
	Terminal   bool // no action leaves it: drawn with a double border
	CX, CY     float64
}

type diagramEdge struct {
	Path   string
	Label  string
	LX, LY float64 // the label's anchor (its middle)
	LW     float64 // width of the label's background
	BX, BY float64 // top left of the label's background
	Class  string
}

// Diagram geometry.
const (
	nodeW  = 210.0
	nodeH  = 44.0
	gapX   = 36.0
	gapY   = 96.0
	margin = 24.0
	charW  = 6.2 // average width of a label character at the diagram's font size
)

// layoutDiagram lays out a definition's states in layers: each state one
// layer below the deepest state with a forward transition into it (the
// longest path from the start, back edges found by a depth-first walk set
// aside), states ordered in their layer by the mean position of their
// predecessors, transitions between the same two states merged into one
// arrow labelled with every action.
func layoutDiagram(id string, d *workflow.Definition, lang string) diagram {
	names := []string{workflow.StartState}
	for _, s := range d.States {
		names = append(names, s.Name)
	}
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	type edge struct {
		from, to int
		actions  []string
	}
	var edges []*edge
	byPair := map[[2]int]*edge{}
	for _, a := range d.Actions {
		for _, f := range a.From {
			to := a.To
			if a.Stay {
				to = f
			}
			fi, ok1 := index[f]
			ti, ok2 := index[to]
			if !ok1 || !ok2 {
				continue
			}
			k := [2]int{fi, ti}
			e := byPair[k]
			if e == nil {
				e = &edge{from: fi, to: ti}
				byPair[k] = e
				edges = append(edges, e)
			}
			if !slices.Contains(e.actions, a.Name) {
				e.actions = append(e.actions, a.Name)
			}
		}
	}
	n := len(names)
	out := make([][]int, n)
	for _, e := range edges {
		if e.from != e.to {
			out[e.from] = append(out[e.from], e.to)
		}
	}
	// Back edges: those reaching a state still on the depth-first stack.
	back := map[[2]int]bool{}
	const (
		unseen = iota
		onStack
		done
	)
	mark := make([]int, n)
	var walk func(v int)
	walk = func(v int) {
		mark[v] = onStack
		for _, w := range out[v] {
			switch mark[w] {
			case unseen:
				walk(w)
			case onStack:
				back[[2]int{v, w}] = true
			}
		}
		mark[v] = done
	}
	for v := range n {
		if mark[v] == unseen {
			walk(v)
		}
	}
	// Longest path over the forward edges (a DAG now): relax n times.
	rank := make([]int, n)
	for range n {
		for _, e := range edges {
			if e.from != e.to && !back[[2]int{e.from, e.to}] && rank[e.to] < rank[e.from]+1 {
				rank[e.to] = rank[e.from] + 1
			}
		}
	}
	maxRank := slices.Max(rank)
	layers := make([][]int, maxRank+1)
	for v := range n {
		layers[rank[v]] = append(layers[rank[v]], v)
	}
	// Order: a few sweeps placing each state at the mean position of its
	// predecessors in the layers above.
	pos := make([]float64, n)
	for _, l := range layers {
		for i, v := range l {
			pos[v] = float64(i)
		}
	}
	for range 4 {
		for r := 1; r <= maxRank; r++ {
			bary := map[int]float64{}
			for _, v := range layers[r] {
				sum, cnt := 0.0, 0
				for _, e := range edges {
					if e.to == v && rank[e.from] < r {
						sum += pos[e.from]
						cnt++
					}
				}
				bary[v] = pos[v]
				if cnt > 0 {
					bary[v] = sum / float64(cnt)
				}
			}
			slices.SortStableFunc(layers[r], func(a, b int) int {
				switch {
				case bary[a] < bary[b]:
					return -1
				case bary[a] > bary[b]:
					return 1
				}
				return 0
			})
			for i, v := range layers[r] {
				pos[v] = float64(i)
			}
		}
	}
	widest := 0
	for _, l := range layers {
		widest = max(widest, len(l))
	}
	width := 2*margin + float64(widest)*nodeW + float64(widest-1)*gapX + 120 // room for loops
	dg := diagram{ID: id, Title: d.Key(), W: width, H: 2*margin + float64(maxRank+1)*nodeH + float64(maxRank)*gapY}
	nodeAt := make([]diagramNode, n)
	for r, l := range layers {
		lw := float64(len(l))*nodeW + float64(len(l)-1)*gapX
		x0 := (width-120-lw)/2 + 0
		for i, v := range l {
			x := x0 + float64(i)*(nodeW+gapX)
			y := margin + float64(r)*(nodeH+gapY)
			nd := diagramNode{X: x, Y: y, W: nodeW, H: nodeH, Name: names[v], CX: x + nodeW/2, CY: y + nodeH/2, Class: "state"}
			if v == 0 {
				nd.Start, nd.Label = true, ""
			} else {
				s := d.State(names[v])
				nd.Label = statusName(lang, s.Status)
				if s.NameVI != "" && lang != langEN {
					nd.Label = fmt.Sprintf("%d %s", s.Status, s.NameVI)
				}
				nd.Label = truncate(nd.Label, 34)
				nd.Terminal = s.Terminal
			}
			nodeAt[v] = nd
		}
	}
	dg.Nodes = nodeAt
	// Spread the ends of the arrows leaving or entering a state along its
	// bottom or top side.
	outs, ins := map[int][]*edge{}, map[int][]*edge{}
	for _, e := range edges {
		if e.from != e.to {
			outs[e.from] = append(outs[e.from], e)
			ins[e.to] = append(ins[e.to], e)
		}
	}
	for _, m := range []map[int][]*edge{outs, ins} {
		for v, es := range m {
			slices.SortFunc(es, func(a, b *edge) int {
				other := func(e *edge) int {
					if e.from == v {
						return e.to
					}
					return e.from
				}
				return int(math.Copysign(1, nodeAt[other(a)].CX-nodeAt[other(b)].CX+0.001*float64(other(a)-other(b))))
			})
		}
	}
	offset := func(list []*edge, e *edge, w float64) float64 {
		i := slices.Index(list, e)
		k := len(list)
		return (float64(i)+1)*w/float64(k+1) - w/2
	}
	for _, e := range edges {
		a, b := nodeAt[e.from], nodeAt[e.to]
		label := strings.Join(e.actions, ", ")
		lw := float64(len([]rune(label)))*charW + 8
		de := diagramEdge{Label: label, LW: lw, Class: "edge"}
		switch {
		case e.from == e.to: // a loop on the right side
			x, y := a.X+a.W, a.CY
			de.Path = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x, y-10, x+46, y-34, x+46, y+34, x, y+10)
			de.LX, de.LY = x+46+lw/2-4, y+4
		case rank[e.to] > rank[e.from] && !back[[2]int{e.from, e.to}]:
			sx := a.CX + offset(outs[e.from], e, a.W*0.8)
			sy := a.Y + a.H
			if a.Start {
				sx, sy = a.CX, a.CY+7
			}
			tx, ty := b.CX+offset(ins[e.to], e, b.W*0.8), b.Y
			dy := (ty - sy) / 2
			de.Path = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", sx, sy, sx, sy+dy, tx, ty-dy, tx, ty)
			de.LX, de.LY = bezierMid(sx, sy, sx, sy+dy, tx, ty-dy, tx, ty)
		default: // back or same-layer: around the left side
			sx, sy := a.X, a.CY+6
			tx, ty := b.X, b.CY-6
			bulge := 60.0 + 10*float64(rank[e.from]-rank[e.to])
			de.Path = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", sx, sy, sx-bulge, sy, tx-bulge, ty, tx, ty)
			de.LX, de.LY = bezierMid(sx, sy, sx-bulge, sy, tx-bulge, ty, tx, ty)
			de.Class = "edge back"
		}
		dg.Edges = append(dg.Edges, de)
	}
	// Keep every label inside the drawing.
	minX := 0.0
	for _, e := range dg.Edges {
		minX = math.Min(minX, e.LX-e.LW/2-margin)
	}
	if minX < 0 {
		dg.W -= minX
		shift := -minX
		for i := range dg.Nodes {
			dg.Nodes[i].X += shift
			dg.Nodes[i].CX += shift
		}
		for i := range dg.Edges {
			dg.Edges[i].LX += shift
			dg.Edges[i].Path = shiftPath(dg.Edges[i].Path, shift)
		}
	}
	for i := range dg.Edges {
		e := &dg.Edges[i]
		dg.W = math.Max(dg.W, e.LX+e.LW/2+margin)
		e.BX, e.BY = e.LX-e.LW/2, e.LY-12
	}
	return dg
}

// bezierMid returns the point of a cubic Bézier curve at t = 1/2.
func bezierMid(x0, y0, x1, y1, x2, y2, x3, y3 float64) (float64, float64) {
	return (x0 + 3*x1 + 3*x2 + x3) / 8, (y0+3*y1+3*y2+y3)/8 + 4
}

// shiftPath moves every x coordinate of an "M x,y C x,y x,y x,y" path.
func shiftPath(p string, dx float64) string {
	var b strings.Builder
	for i, f := range strings.Fields(p) {
		if i > 0 {
			b.WriteByte(' ')
		}
		cmd := ""
		if f[0] == 'M' || f[0] == 'C' {
			cmd, f = f[:1], f[1:]
		}
		var x, y float64
		fmt.Sscanf(f, "%f,%f", &x, &y)
		fmt.Fprintf(&b, "%s%.1f,%.1f", cmd, x+dx, y)
	}
	return b.String()
}
