package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// walkProto calls fn for every *pg_query.Node directly below n.
func walkProto(n *pg_query.Node, fn func(any)) {
	var visit func(m protoreflect.Message)
	handle := func(m protoreflect.Message) {
		if node, ok := m.Interface().(*pg_query.Node); ok {
			fn(node)
			return
		}
		visit(m)
	}
	visit = func(m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Message() == nil {
				return true
			}
			if fd.IsList() {
				l := v.List()
				for i := 0; i < l.Len(); i++ {
					handle(l.Get(i).Message())
				}
				return true
			}
			if fd.IsMap() {
				return true
			}
			handle(v.Message())
			return true
		})
	}
	visit(n.ProtoReflect())
}

func newBatch(fields []arrow.Field, arrs []arrow.Array, n int64) arrow.RecordBatch {
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, n)
}
