package engine

import (
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zone data for SET TimeZone on machines without it

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// settingDef describes a session setting (SET/SHOW/current_setting).
type settingDef struct {
	name     string // canonical spelling as SHOW ALL prints it
	def      string
	desc     string
	reported bool // sent to the client as ParameterStatus
	readOnly bool
	check    func(string) (string, error) // normalizes or rejects a value
}

var settingList = []settingDef{
	{name: "application_name", def: "", desc: "Sets the application name to be reported in statistics and logs.", reported: true},
	{name: "client_encoding", def: "UTF8", desc: "Sets the client's character set encoding.", reported: true, check: checkEncoding},
	{name: "DateStyle", def: "ISO, MDY", desc: "Sets the display format for date and time values.", reported: true, check: checkDateStyle},
	{name: "default_transaction_isolation", def: "read committed", desc: "Sets the transaction isolation level of each new transaction."},
	{name: "default_transaction_read_only", def: "off", desc: "Sets the default read-only status of new transactions.", check: checkBool},
	{name: "extra_float_digits", def: "1", desc: "Sets the number of digits displayed for floating-point values.", check: checkInt},
	{name: "watermark_idle_timeout", def: "0", desc: "Advances the watermark of an idle watermarked table by the elapsed time after this long without rows (ms, or with a unit; 0: never).", check: checkDuration},
	{name: "implicit_flush", def: "off", desc: "Makes each DML statement wait until its effects are visible in every materialized view.", check: checkBool},
	{name: "integer_datetimes", def: "on", desc: "Shows whether datetimes are integer based.", reported: true, readOnly: true},
	{name: "IntervalStyle", def: "postgres", desc: "Sets the display format for interval values.", reported: true, check: checkIntervalStyle},
	{name: "is_superuser", def: "on", desc: "Shows whether the current user is a superuser.", reported: true, readOnly: true},
	{name: "lc_collate", def: "C", desc: "Shows the collation order locale.", readOnly: true},
	{name: "lc_ctype", def: "C", desc: "Shows the character classification and case conversion locale.", readOnly: true},
	{name: "lc_messages", def: "C", desc: "Sets the language in which messages are displayed."},
	{name: "lc_monetary", def: "C", desc: "Sets the locale for formatting monetary amounts."},
	{name: "lc_numeric", def: "C", desc: "Sets the locale for formatting numbers."},
	{name: "lc_time", def: "C", desc: "Sets the locale for formatting date and time values."},
	{name: "max_identifier_length", def: "63", desc: "Shows the maximum identifier length.", readOnly: true},
	{name: "query_memory_limit", def: "", desc: "Memory one statement may use before failing with SQLSTATE 53200 (bytes, or with kB/MB/GB).", check: checkBytes},
	{name: "search_path", def: `"$user", public`, desc: "Sets the schema search order for names that are not schema-qualified."},
	{name: "server_encoding", def: "UTF8", desc: "Shows the server (database) character set encoding.", reported: true, readOnly: true},
	{name: "server_version", def: "15.0", desc: "Shows the server version.", reported: true, readOnly: true},
	{name: "server_version_num", def: "150000", desc: "Shows the server version as an integer.", readOnly: true},
	{name: "session_authorization", def: "", desc: "Sets the session user name.", reported: true, readOnly: true},
	{name: "standard_conforming_strings", def: "on", desc: "Causes '...' strings to treat backslashes literally.", reported: true, check: checkOn},
	{name: "statement_timeout", def: "0", desc: "Sets the maximum allowed duration of any statement (ms, or with a unit).", check: checkDuration},
	{name: "TimeZone", def: "UTC", desc: "Sets the time zone for displaying and interpreting time stamps.", reported: true, check: checkTimeZone},
	{name: "transaction_isolation", def: "read committed", desc: "Sets the current transaction's isolation level."},
	{name: "transaction_read_only", def: "off", desc: "Sets the current transaction's read-only status.", check: checkBool},
	{name: "client_min_messages", def: "notice", desc: "Sets the message levels that are sent to the client."},
	{name: "bytea_output", def: "hex", desc: "Sets the output format for bytea."},
	{name: "row_security", def: "on", desc: "Enable row security.", check: checkBool},
	{name: "synchronous_commit", def: "on", desc: "Sets the current transaction's synchronization level."},
	{name: "idle_in_transaction_session_timeout", def: "0", desc: "Sets the maximum allowed idle time between queries, when in a transaction."},
	{name: "lock_timeout", def: "0", desc: "Sets the maximum allowed duration of any wait for a lock."},
	{name: "max_connections", def: "1000", desc: "Sets the maximum number of concurrent connections.", readOnly: true},
	{name: "block_size", def: "8192", desc: "Shows the size of a disk block.", readOnly: true},
	{name: "work_mem", def: "4MB", desc: "Sets the maximum memory to be used for query workspaces."},
}

var settingDefs = func() map[string]*settingDef {
	m := map[string]*settingDef{}
	for i := range settingList {
		m[strings.ToLower(settingList[i].name)] = &settingList[i]
	}
	// RisingWave's spelling of implicit_flush.
	m["rw_implicit_flush"] = m["implicit_flush"]
	return m
}()

func normSetting(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "time zone" || n == "timezone" {
		return "timezone"
	}
	if d, ok := settingDefs[n]; ok {
		return strings.ToLower(d.name)
	}
	return n
}

func checkBool(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes", "1", "t", "y":
		return "on", nil
	case "off", "false", "no", "0", "f", "n":
		return "off", nil
	}
	return "", pgerror.New(pgerror.InvalidParameterValue, "parameter requires a Boolean value")
}

func checkOn(v string) (string, error) {
	b, err := checkBool(v)
	if err != nil {
		return "", err
	}
	if b != "on" {
		return "", pgerror.Unsupported("only standard_conforming_strings = on is supported")
	}
	return b, nil
}

func checkInt(v string) (string, error) {
	if _, err := strconv.Atoi(strings.TrimSpace(v)); err != nil {
		return "", pgerror.New(pgerror.InvalidParameterValue, "invalid value for integer parameter: %q", v)
	}
	return strings.TrimSpace(v), nil
}

func checkEncoding(v string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), "-", "")) {
	case "UTF8", "UNICODE":
		return "UTF8", nil
	case "SQL_ASCII":
		return "SQL_ASCII", nil
	}
	return "", pgerror.Unsupported("encoding %q is not supported (only UTF8)", v)
}

func checkDateStyle(v string) (string, error) {
	u := strings.ToUpper(v)
	if strings.Contains(u, "ISO") || strings.TrimSpace(u) == "MDY" || u == "" {
		return "ISO, MDY", nil
	}
	return "", pgerror.Unsupported("DateStyle %q is not supported (only ISO)", v)
}

func checkIntervalStyle(v string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(v), "postgres") {
		return "postgres", nil
	}
	return "", pgerror.Unsupported("IntervalStyle %q is not supported (only postgres)", v)
}

func checkTimeZone(v string) (string, error) {
	v = strings.TrimSpace(v)
	if _, err := parseZone(v); err != nil {
		return "", pgerror.New(pgerror.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", v)
	}
	return v, nil
}

// parseZone resolves a TimeZone setting: a zone name, or a numeric offset in
// hours (POSIX sign convention is not applied: '+2' means UTC+2, as SET
// TIME ZONE 2 does in PostgreSQL).
func parseZone(v string) (*time.Location, error) {
	switch strings.ToLower(v) {
	case "local", "default":
		return time.UTC, nil
	}
	return types.LoadZone(v)
}

func checkDuration(v string) (string, error) {
	if _, err := parseDurationMS(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(v), nil
}

func parseDurationMS(v string) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	unit := time.Millisecond
	for _, u := range []struct {
		suf string
		d   time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"min", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}, {"us", time.Microsecond}} {
		if strings.HasSuffix(s, u.suf) {
			s, unit = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.d
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, pgerror.New(pgerror.InvalidParameterValue, "invalid value for parameter \"statement_timeout\": %q", v)
	}
	return time.Duration(n * float64(unit)), nil
}

func checkBytes(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	if _, err := parseBytes(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(v), nil
}

func parseBytes(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, pgerror.New(pgerror.InvalidParameterValue, "invalid memory size %q", v)
	}
	return n * mult, nil
}

// sortedSettingNames lists settings for SHOW ALL.
func sortedSettingNames() []string {
	out := make([]string, 0, len(settingList))
	for _, d := range settingList {
		out = append(out, d.name)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}
