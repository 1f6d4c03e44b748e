package stream

import (
	"context"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// aligner reads several inputs with barrier alignment: it reads the inputs
// in turn, stops reading an input once it delivered barrier E, and yields
// E only when every input that has not ended delivered it.
type aligner struct {
	inputs  []Executor
	barrier []*Barrier
	ended   []bool
	cur     int
}

func newAligner(inputs ...Executor) *aligner {
	return &aligner{inputs: inputs, barrier: make([]*Barrier, len(inputs)), ended: make([]bool, len(inputs))}
}

// next returns a chunk or watermark with the index of its input, an aligned
// barrier with index -1, or (-1, nil) once every input ended.
func (a *aligner) next(ctx context.Context) (int, Message, error) {
	for {
		var b *Barrier
		waiting := false
		allEnded := true
		for i := range a.inputs {
			if !a.ended[i] {
				allEnded = false
			}
			switch {
			case a.barrier[i] != nil:
				if b != nil && b.Epoch != a.barrier[i].Epoch {
					return -1, nil, pgerror.Internal("stream: misaligned barriers %d and %d", b.Epoch, a.barrier[i].Epoch)
				}
				b = a.barrier[i]
			case !a.ended[i]:
				waiting = true
			}
		}
		if allEnded {
			return -1, nil, nil
		}
		if !waiting && b != nil {
			clear(a.barrier)
			return -1, *b, nil
		}
		// Pick the next input still inside the current epoch.
		i := a.cur
		for a.barrier[i] != nil || a.ended[i] {
			i = (i + 1) % len(a.inputs)
		}
		a.cur = (i + 1) % len(a.inputs)
		m, err := a.inputs[i].Next(ctx)
		if err != nil {
			return -1, nil, err
		}
		switch m := m.(type) {
		case nil:
			a.ended[i] = true
		case Barrier:
			a.barrier[i] = &m
		default:
			return i, m, nil
		}
	}
}

func (a *aligner) close() error {
	var err error
	for _, in := range a.inputs {
		if e := in.Close(); err == nil {
			err = e
		}
	}
	return err
}
