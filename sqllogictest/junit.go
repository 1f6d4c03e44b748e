package sqllogictest

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes one test suite per file: a "records" case carrying the
// counts, and one case per failed record.
func writeJUnit(path string, results []FileResult) error {
	var doc junitSuites
	for _, fr := range results {
		s := junitSuite{
			Name:     fr.Path,
			Tests:    fr.Passed + fr.Failed + fr.KnownFailures,
			Failures: fr.Failed,
			Skipped:  fr.Skipped,
			Time:     fmt.Sprintf("%.3f", fr.Elapsed.Seconds()),
		}
		s.Cases = append(s.Cases, junitCase{Name: fmt.Sprintf("%s (%s)", fr.Path, countsLine(fr.Passed, fr.Failed, fr.Skipped, fr.KnownFailures)), Classname: "sqllogictest"})
		for _, f := range fr.Failures {
			first, _, _ := strings.Cut(f.Message, "\n")
			s.Cases = append(s.Cases, junitCase{
				Name:      fmt.Sprintf("%s:%d", f.File, f.Line),
				Classname: "sqllogictest",
				Failure:   &junitFailure{Message: first, Text: f.Message},
			})
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("sqllogictest: junit: %w", err)
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("sqllogictest: junit: %w", err)
	}
	return nil
}
