package funcs

func (e *env) registerToChar() {}
