package types

import "testing"

const benchJSON = `{"id": 12345, "name": "nexmark bidder", "tags": ["a", "b", "c"], "price": 1234.50, "nested": {"x": 1, "y": [true, false, null]}}`

func BenchmarkParseJSONB(b *testing.B) {
	benchRows(b, 1, func(int) {
		if _, err := ParseJSONB(benchJSON); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkJSONBField(b *testing.B) {
	d, err := ParseJSONB(benchJSON)
	if err != nil {
		b.Fatal(err)
	}
	benchRows(b, 1, func(int) {
		j, err := ParseJSONBDatum(d)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := j.Field("price"); !ok {
			b.Fatal("missing")
		}
	})
}

func BenchmarkCompareJSONB(b *testing.B) {
	x, _ := ParseJSONB(benchJSON)
	y, _ := ParseJSONB(`{"id": 12345, "name": "nexmark bidder", "tags": ["a", "b", "c"], "price": 1234.5, "nested": {"x": 1, "y": [true, false, null]}}`)
	benchRows(b, 1, func(int) {
		if Compare(x, y, JSONBT) != 0 {
			b.Fatal("1234.50 = 1234.5")
		}
	})
}
