package planner

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// figureColname names a select-list expression the way PostgreSQL's
// FigureColname does.
func figureColname(n *pg_query.Node) string {
	if name, ok := figure(n); ok {
		return name
	}
	return "?column?"
}

func figure(n *pg_query.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_ColumnRef:
		f := x.ColumnRef.Fields
		if len(f) > 0 {
			if s := strVal(f[len(f)-1]); s != "" {
				return s, true
			}
		}
	case *pg_query.Node_AIndirection:
		return figure(x.AIndirection.Arg)
	case *pg_query.Node_FuncCall:
		return strVal(x.FuncCall.Funcname[len(x.FuncCall.Funcname)-1]), true
	case *pg_query.Node_AExpr:
		if x.AExpr.Kind == pg_query.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", true
		}
	case *pg_query.Node_TypeCast:
		if name, ok := figure(x.TypeCast.Arg); ok {
			return name, true
		}
		tn := x.TypeCast.TypeName.Names
		if len(tn) > 0 {
			return strVal(tn[len(tn)-1]), true
		}
	case *pg_query.Node_CaseExpr:
		if name, ok := figure(x.CaseExpr.Defresult); ok {
			return name, true
		}
		return "case", true
	case *pg_query.Node_CoalesceExpr:
		return "coalesce", true
	case *pg_query.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg_query.MinMaxOp_IS_GREATEST {
			return "greatest", true
		}
		return "least", true
	case *pg_query.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists", true
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array", true
		case pg_query.SubLinkType_EXPR_SUBLINK:
			if sel := x.SubLink.Subselect.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 {
				rt := sel.TargetList[0].GetResTarget()
				if rt.Name != "" {
					return rt.Name, true
				}
				return figure(rt.Val)
			}
		}
	case *pg_query.Node_AArrayExpr:
		return "array", true
	case *pg_query.Node_SqlvalueFunction:
		switch x.SqlvalueFunction.Op {
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return "current_date", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
			return "current_time", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return "current_timestamp", true
		case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
			return "localtime", true
		case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			return "localtimestamp", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
			return "current_role", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:
			return "current_user", true
		case pg_query.SQLValueFunctionOp_SVFOP_USER:
			return "user", true
		case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
			return "session_user", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
			return "current_catalog", true
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
			return "current_schema", true
		}
	case *pg_query.Node_BooleanTest, *pg_query.Node_NullTest:
		return "", false
	}
	return "", false
}
