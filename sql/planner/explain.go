package planner

import (
	"fmt"
	"strings"
)

// Explain renders a plan tree as indented text, one node per line.
func Explain(n Node) string {
	var sb strings.Builder
	explain(&sb, n, 0)
	return sb.String()
}

func explain(sb *strings.Builder, n Node, depth int) {
	pad := strings.Repeat("  ", depth)
	if depth > 0 {
		pad = strings.Repeat("  ", depth-1) + "->  "
	}
	sb.WriteString(pad)
	sb.WriteString(describeNode(n))
	sb.WriteByte('\n')
	for _, c := range n.Children() {
		explain(sb, c, depth+1)
	}
}

func describeNode(n Node) string {
	switch x := n.(type) {
	case *Scan:
		names := make([]string, len(x.Out))
		for i, c := range x.Out {
			names[i] = c.Name
		}
		return fmt.Sprintf("Scan %s [%s]", x.Table.Name, strings.Join(names, ", "))
	case *Values:
		return fmt.Sprintf("Values (%d rows)", len(x.Rows))
	case *Filter:
		return fmt.Sprintf("Filter %s", x.Cond)
	case *Project:
		return fmt.Sprintf("Project %s", exprList(x.Exprs))
	case *Aggregate:
		aggs := make([]string, len(x.Aggs))
		for i, a := range x.Aggs {
			d := ""
			if a.Distinct {
				d = "DISTINCT "
			}
			aggs[i] = fmt.Sprintf("%s(%s%s)", a.Fn.Name, d, exprList(a.Args))
		}
		return fmt.Sprintf("HashAggregate group=[%s] aggs=[%s]", exprList(x.GroupBy), strings.Join(aggs, ", "))
	case *Join:
		kind := [...]string{"Inner", "Left", "Right", "Full", "Cross", "Semi", "Anti", "AsOf", "AsOfLeft"}[x.Kind]
		algo := "NestedLoopJoin"
		if x.Kind == JoinAsOf || x.Kind == JoinAsOfLeft {
			algo = "MergeJoin"
		} else if len(x.LeftKeys) > 0 {
			algo = "HashJoin"
		}
		s := fmt.Sprintf("%s %s", algo, kind)
		if len(x.LeftKeys) > 0 {
			s += fmt.Sprintf(" keys=[%s]=[%s]", exprList(x.LeftKeys), exprList(x.RightKeys))
		}
		if x.Cond != nil {
			s += fmt.Sprintf(" cond=%s", x.Cond)
		}
		return s
	case *Sort:
		return "Sort " + sortKeys(x.Keys)
	case *Limit:
		return fmt.Sprintf("Limit %d offset %d", x.Count, x.Offset)
	case *Distinct:
		if len(x.On) > 0 {
			return "Distinct on " + exprList(x.On)
		}
		return "Distinct"
	case *SetOp:
		all := ""
		if x.All {
			all = " All"
		}
		return [...]string{"Union", "Intersect", "Except"}[x.Kind] + all
	case *Window:
		names := make([]string, len(x.Calls))
		for i, c := range x.Calls {
			names[i] = c.Name
		}
		return "Window " + strings.Join(names, ", ")
	case *TableFunc:
		return fmt.Sprintf("TableFunc %s(%s)", x.Name, exprList(x.Args))
	case *TimeWindow:
		return fmt.Sprintf("TimeWindow %s(col %d)", x.Kind, x.TimeCol)
	}
	return n.Op()
}

func sortKeys(ks []SortKey) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		d := "ASC"
		if k.Desc {
			d = "DESC"
		}
		parts[i] = fmt.Sprintf("%s %s", k.E, d)
	}
	return strings.Join(parts, ", ")
}
