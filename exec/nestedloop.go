package exec

import "github.com/sabotsql/sabotsql/sql/planner"

// A join without equi-keys (cross join, theta joins of every kind) runs as a
// nested loop: the Join operator in hashjoin.go with every build row a
// candidate for every probe row (Join.first/nextCand with nested set),
// the condition applied to candidate pairs one batch at a time, so memory
// stays bounded by the build side plus one batch of pairs.

// newNestedLoopJoin builds a join that has no equality keys.
func newNestedLoopJoin(env *Env, n *planner.Join, left, right Operator) (*Join, error) {
	return newJoin(env, n, left, right)
}
