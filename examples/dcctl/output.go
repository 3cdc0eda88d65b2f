package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Output formats of -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

// table is rows under a header, printed with borders as dcmanager's CLI
// (cliff) prints them.
type table struct {
	header []string
	rows   [][]string
}

// writeTable prints t aligned, cells padded to the widest in their column.
func writeTable(w io.Writer, t table) error {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if n := utf8.RuneCountInString(c); i < len(widths) && n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	rule := func() {
		b.WriteByte('+')
		for _, wd := range widths {
			b.WriteString(strings.Repeat("-", wd+2))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(cells []string) {
		b.WriteByte('|')
		for i, wd := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteByte(' ')
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", wd-utf8.RuneCountInString(c)+1))
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	rule()
	line(t.header)
	rule()
	for _, r := range t.rows {
		line(r)
	}
	if len(t.rows) > 0 {
		rule()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fieldTable is the Field/Value table of a show command.
func fieldTable(pairs [][2]string) table {
	t := table{header: []string{"Field", "Value"}}
	for _, p := range pairs {
		t.rows = append(t.rows, []string{p[0], p[1]})
	}
	return t
}

// writeData prints v as JSON or YAML; the keys are the API's, in its order.
func writeData(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == formatJSON {
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	// JSON is YAML: decoding it into a node keeps the key order, and
	// clearing the flow style prints it as block YAML.
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	blockStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle {
		// Keep strings that YAML would read as another type quoted.
		var v any
		if err := yaml.Unmarshal([]byte(n.Value), &v); err == nil {
			if _, isString := v.(string); isString && n.Value != "" && !strings.ContainsAny(n.Value, ":#{}[],&*!|>'\"%@`") {
				n.Style = 0
			}
		}
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
