package workflow

import (
	"fmt"
	"strconv"
	"strings"
)

// stateLabel is a state's name with its status code and name.
func (d *Definition) stateLabel(s *State) string {
	name := s.NameVI
	if name == "" {
		name = s.Status.NameVI()
	}
	return fmt.Sprintf("%s\n%d %s", s.Name, s.Status, name)
}

// edges lists the definition's transitions in file order, one per
// (action, from state); a stay action gives a loop on each of its states.
func (d *Definition) edges(yield func(from, to, action string)) {
	for _, a := range d.Actions {
		for _, f := range a.From {
			to := a.To
			if a.Stay {
				to = f
			}
			yield(f, to, a.Name)
		}
	}
}

// DOT draws the definition's state diagram in Graphviz DOT: a node per
// state labelled with its national status, the new-dossier start point, an
// edge per action and state it leaves, terminal states doubled.
func (d *Definition) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", strconv.Quote(d.Key()))
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  rankdir=LR;\n", strconv.Quote(d.NameVI+" ("+d.Key()+")"))
	b.WriteString("  node [shape=box, style=rounded, fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\", fontsize=10];\n")
	fmt.Fprintf(&b, "  %s [shape=point, width=0.2];\n", strconv.Quote(StartState))
	for i := range d.States {
		s := &d.States[i]
		extra := ""
		if s.Terminal {
			extra = ", peripheries=2"
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", strconv.Quote(s.Name), strconv.Quote(d.stateLabel(s)), extra)
	}
	d.edges(func(from, to, action string) {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", strconv.Quote(from), strconv.Quote(to), strconv.Quote(action))
	})
	b.WriteString("}\n")
	return b.String()
}

// Mermaid draws the definition's state diagram as a Mermaid stateDiagram-v2.
func (d *Definition) Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "  %%%% %s — %s\n", d.Key(), d.NameVI)
	for i := range d.States {
		s := &d.States[i]
		fmt.Fprintf(&b, "  %s: %s\n", s.Name, strings.ReplaceAll(d.stateLabel(s), "\n", " — "))
	}
	d.edges(func(from, to, action string) {
		if from == StartState {
			from = "[*]"
		}
		fmt.Fprintf(&b, "  %s --> %s: %s\n", from, to, action)
	})
	for _, s := range d.States {
		if s.Terminal {
			fmt.Fprintf(&b, "  %s --> [*]\n", s.Name)
		}
	}
	return b.String()
}
