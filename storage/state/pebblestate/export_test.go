package pebblestate

// Ingested is the number of epochs t committed by ingestion since Open.
func Ingested(t *Table) int { return t.ingested }
