# Cases for gen_pgcases.py: (session TimeZone, function or operator, argument types, text arguments).
# (tz, fn, types, args)
C = []
def c(fn, ts, *args, tz="UTC"):
    C.append((tz, fn, ts.split(), list(args)))

# integer arithmetic
for t, mx, mn in [("int2", "32767", "-32768"), ("int4", "2147483647", "-2147483648"), ("int8", "9223372036854775807", "-9223372036854775808")]:
    c("+", f"{t} {t}", "1", "2"); c("+", f"{t} {t}", mx, "1"); c("+", f"{t} {t}", mn, "-1")
    c("-", f"{t} {t}", "5", "7"); c("-", f"{t} {t}", mn, "1"); c("-", f"{t} {t}", "0", mn)
    c("*", f"{t} {t}", "-6", "7"); c("*", f"{t} {t}", mx, "2"); c("*", f"{t} {t}", mn, "-1"); c("*", f"{t} {t}", "-1", mn)
    c("/", f"{t} {t}", "7", "2"); c("/", f"{t} {t}", "-7", "2"); c("/", f"{t} {t}", "7", "-2"); c("/", f"{t} {t}", "1", "0"); c("/", f"{t} {t}", mn, "-1")
    c("%", f"{t} {t}", "-7", "3"); c("%", f"{t} {t}", "7", "-3"); c("%", f"{t} {t}", "7", "0"); c("%", f"{t} {t}", mn, "-1")
    c("u-", t, mn); c("u-", t, "5"); c("abs", t, mn); c("abs", t, "-3")
    c("mod", f"{t} {t}", "-7", "3"); c("mod", f"{t} {t}", "1", "0")
c("gcd", "int4 int4", "12", "-18"); c("gcd", "int4 int4", "-2147483648", "0"); c("gcd", "int8 int8", "0", "0")
c("lcm", "int4 int4", "4", "6"); c("lcm", "int4 int4", "2147483647", "2"); c("lcm", "int8 int8", "-4", "6")
# float arithmetic
for t in ["float4", "float8"]:
    c("+", f"{t} {t}", "0.1", "0.2"); c("-", f"{t} {t}", "1.5", "2.25"); c("*", f"{t} {t}", "1.1", "3")
    c("/", f"{t} {t}", "1", "3"); c("/", f"{t} {t}", "1", "0"); c("/", f"{t} {t}", "NaN", "0"); c("/", f"{t} {t}", "0", "0")
    c("*", f"{t} {t}", "1e30" if t=="float4" else "1e300", "1e30" if t=="float4" else "1e300")
    c("*", f"{t} {t}", "1e-30" if t=="float4" else "1e-300", "1e-30" if t=="float4" else "1e-300")
    c("+", f"{t} {t}", "Infinity", "-Infinity"); c("+", f"{t} {t}", "Infinity", "1")
    c("u-", t, "1.5"); c("abs", t, "-2.5")
# numeric arithmetic
c("+", "numeric numeric", "1.5", "2.25"); c("-", "numeric numeric", "1", "1.000"); c("*", "numeric numeric", "1.5", "2.25")
c("*", "numeric numeric", "-0.1", "0"); c("/", "numeric numeric", "1", "3"); c("/", "numeric numeric", "2", "3")
c("/", "numeric numeric", "10", "4"); c("/", "numeric numeric", "1.00000", "3"); c("/", "numeric numeric", "123456789", "0.001")
c("/", "numeric numeric", "0.0001", "7"); c("/", "numeric numeric", "1", "0"); c("/", "numeric numeric", "-7", "9999")
c("/", "numeric numeric", "9999", "10000"); c("/", "numeric numeric", "1", "12345678901234567890"); c("/", "numeric numeric", "5", "0.5")
c("/", "numeric numeric", "0.5", "-0.05"); c("/", "numeric numeric", "NaN", "0"); c("/", "numeric numeric", "Infinity", "2")
c("/", "numeric numeric", "1", "Infinity"); c("/", "numeric numeric", "Infinity", "0")
c("%", "numeric numeric", "7.5", "2"); c("%", "numeric numeric", "-7.5", "2"); c("%", "numeric numeric", "1", "0")
c("%", "numeric numeric", "Infinity", "2"); c("%", "numeric numeric", "5", "Infinity")
c("+", "numeric numeric", "Infinity", "-Infinity"); c("*", "numeric numeric", "Infinity", "0"); c("*", "numeric numeric", "-Infinity", "2")
c("u-", "numeric", "1.50"); c("u-", "numeric", "0"); c("u-", "numeric", "NaN")
c("mod", "numeric numeric", "10.5", "3"); c("div", "numeric numeric", "-7.5", "2"); c("div", "numeric numeric", "1", "0")
# numeric math
for x in ["2", "100", "0.0001", "12345678.9", "0.5", "2.000000000000000000"]:
    c("sqrt", "numeric", x)
c("sqrt", "numeric", "-1")
for x in ["1", "10", "-10", "0.5", "0", "100.5"]:
    c("exp", "numeric", x)
for x in ["2", "1.05", "1000", "0.001", "1", "0.95", "123456789.123"]:
    c("ln", "numeric", x)
c("ln", "numeric", "0"); c("ln", "numeric", "-1")
c("log", "numeric", "100"); c("log", "numeric", "2"); c("log10", "numeric", "0.001"); c("log", "numeric numeric", "2", "64")
c("log", "numeric numeric", "10", "0.5"); c("log", "numeric numeric", "1", "10")
for b, e in [("2","10"),("2.5","2"),("2","-2"),("2","0.5"),("1.5","3"),("10","20"),("-2","3"),("-2","0.5"),("0","-1"),("0","0"),("2.00","0"),("1.1","100"),("3","-3"), ("7", "1.5")]:
    c("power", "numeric numeric", b, e)
for x, s in [("2.5","0"),("-2.5","0"),("1234.5678","2"),("1234.5678","-2"),("0.5","-1"),("-0.004","2"),("99.5","-2")]:
    c("round", "numeric int4", x, s); c("trunc", "numeric int4", x, s)
for x in ["2.5", "-2.5", "0.49", "-0.5", "1.000"]:
    c("round", "numeric", x); c("trunc", "numeric", x); c("ceil", "numeric", x); c("floor", "numeric", x); c("sign", "numeric", x); c("abs", "numeric", x)
c("gcd", "numeric numeric", "1.5", "2.5"); c("lcm", "numeric numeric", "1.5", "2.5"); c("gcd", "numeric numeric", "-12", "18"); c("lcm", "numeric numeric", "0", "5")
c("factorial", "int8", "20"); c("factorial", "int8", "0"); c("factorial", "int8", "-1"); c("factorial", "int8", "25")
c("width_bucket", "numeric numeric numeric int4", "5.35", "0.024", "10.06", "5")
c("width_bucket", "numeric numeric numeric int4", "10.06", "0.024", "10.06", "5")
c("width_bucket", "numeric numeric numeric int4", "5", "10", "0", "4")
c("width_bucket", "numeric numeric numeric int4", "5", "1", "1", "4")
# float math
for x in ["2.5", "-2.5", "0.5", "1.5", "-0.5"]:
    c("round", "float8", x); c("trunc", "float8", x); c("ceil", "float8", x); c("floor", "float8", x); c("sign", "float8", x)
c("sqrt", "float8", "2"); c("sqrt", "float8", "-1"); c("cbrt", "float8", "27"); c("cbrt", "float8", "-8")
c("exp", "float8", "1"); c("exp", "float8", "1000"); c("exp", "float8", "-1000"); c("ln", "float8", "10"); c("ln", "float8", "0"); c("ln", "float8", "-1")
c("log", "float8", "1000"); c("log10", "float8", "0.01"); c("power", "float8 float8", "2", "0.5"); c("power", "float8 float8", "0", "-1")
c("power", "float8 float8", "-8", "0.333"); c("power", "float8 float8", "10", "400"); c("power", "float8 float8", "-2", "3"); c("pow", "float8 float8", "NaN", "0")
c("degrees", "float8", "1"); c("radians", "float8", "180"); c("sin", "float8", "1"); c("cos", "float8", "1"); c("tan", "float8", "1"); c("cot", "float8", "1")
c("asin", "float8", "0.5"); c("acos", "float8", "0.5"); c("atan", "float8", "1"); c("atan2", "float8 float8", "1", "2"); c("asin", "float8", "2")
c("sin", "float8", "Infinity"); c("sinh", "float8", "1"); c("cosh", "float8", "1"); c("tanh", "float8", "1"); c("cot", "float8", "0")
c("width_bucket", "float8 float8 float8 int4", "5.35", "0.024", "10.06", "5"); c("width_bucket", "float8 float8 float8 int4", "-1", "0", "10", "5")
c("width_bucket", "float8 float8 float8 int4", "10", "0", "10", "5"); c("width_bucket", "float8 float8 float8 int4", "1", "0", "10", "0")
c("width_bucket", "float8 float8 float8 int4", "3", "10", "0", "4"); c("width_bucket", "float8 float8 float8 int4", "1", "0", "Infinity", "4")
# comparisons
for op in ["=", "<>", "<", "<=", ">", ">="]:
    c(op, "int4 int8", "1", "2"); c(op, "float8 float8", "NaN", "1"); c(op, "float8 float8", "NaN", "NaN"); c(op, "float4 float8", "0.1", "0.1")
    c(op, "text text", "abc", "abd"); c(op, "bpchar bpchar", "ab  ", "ab"); c(op, "numeric numeric", "1.0", "1.00")
    c(op, "interval interval", "1 mon", "30 days"); c(op, "interval interval", "1 day", "23:59:59")
    c(op, "date timestamp", "2024-01-02", "2024-01-02 00:00:01"); c(op, "bool bool", "false", "true")
    c(op, "bytea bytea", "\\x01", "\\x0102"); c(op, "int4[] int4[]", "{1,2}", "{1,2,0}")
    c(op, "timestamp timestamptz", "2024-01-02 00:00:00", "2024-01-02 00:00:00+00", tz="America/New_York")
    c(op, "date timestamptz", "2024-01-02", "2024-01-02 03:00:00+00", tz="Asia/Tokyo")
    c(op, "float8 float8", "-0", "0")
# date/time arithmetic
c("+", "date int4", "2024-02-28", "2"); c("+", "int4 date", "1", "2024-12-31"); c("-", "date int4", "2024-03-01", "1")
c("-", "date date", "2024-03-01", "2024-01-01"); c("+", "date interval", "2024-01-31", "1 mon"); c("-", "date interval", "2024-03-31", "1 mon 1 day")
c("+", "date time", "2024-01-02", "03:04:05.5"); c("+", "timestamp interval", "2024-01-31 10:00:00", "1 mon 2 days 03:00:00")
c("+", "timestamp interval", "2023-01-31 00:00:00", "1 mon"); c("-", "timestamp interval", "2024-03-31 00:00:00", "1 mon")
c("+", "timestamp interval", "2024-02-29 12:00:00", "1 year"); c("+", "timestamp interval", "2024-01-01 00:00:00", "-36:00:00")
c("-", "timestamp timestamp", "2024-01-03 02:00:00", "2024-01-02 00:00:00"); c("-", "timestamp timestamp", "2024-01-01 00:00:00", "2024-01-03 02:00:01")
c("-", "timestamp timestamp", "2024-03-01 00:00:00", "2024-01-01 00:00:00")
c("-", "timestamptz timestamptz", "2024-03-11 00:00:00-04", "2024-03-10 00:00:00-05", tz="America/New_York")
c("+", "timestamptz interval", "2024-03-09 12:00:00-05", "1 day", tz="America/New_York")
c("+", "timestamptz interval", "2024-03-09 12:00:00-05", "24:00:00", tz="America/New_York")
c("+", "timestamptz interval", "2024-01-31 12:00:00+00", "1 mon", tz="America/New_York")
c("-", "timestamptz interval", "2024-11-04 12:00:00-05", "1 day", tz="America/New_York")
c("+", "time interval", "23:00:00", "2 hours"); c("-", "time interval", "01:00:00", "3 hours"); c("+", "time interval", "10:00:00", "1 day 01:00:00")
c("-", "time time", "01:00:00", "03:30:00"); c("+", "interval interval", "1 mon 2 days", "3 days 04:00:00"); c("-", "interval interval", "1 day", "02:00:00")
c("u-", "interval", "1 mon -2 days 03:00:00")
c("*", "interval float8", "1 mon", "1.5"); c("*", "interval float8", "1 day", "0.3"); c("*", "float8 interval", "2.5", "1 mon 1 day 01:00:00")
c("*", "interval float8", "1 mon 1 day", "-0.7"); c("/", "interval float8", "1 mon", "7"); c("/", "interval float8", "3 days 01:00:00", "2")
c("/", "interval float8", "1 day", "0"); c("*", "interval float8", "00:00:01", "1e300"); c("/", "interval float8", "1 year 5 mons", "3.3")
c("+", "date int4", "5874897-12-31", "1"); c("-", "date date", "infinity", "2024-01-01"); c("+", "timestamp interval", "infinity", "1 day")
# concatenation
c("||", "text text", "ab", "cd"); c("||", "text int4", "n=", "42"); c("||", "float8 text", "0.1", "x"); c("||", "text float4", "f=", "0.1")
c("||", "text date", "d:", "2024-01-02"); c("||", "text numeric", "", "1.50"); c("||", "text bool", "b", "true"); c("||", "interval text", "1 day 02:00:00", "!")
c("||", "text timestamptz", "t ", "2024-01-02 03:04:05+00", tz="Asia/Kolkata")
# LIKE
for s, p in [("hello", "h%"), ("hello", "%llo"), ("hello", "%ell%"), ("hello", "h_llo"), ("hello", "h__"), ("hello", "hello"), ("", "%"), ("", "_"),
             ("a%b", "a\\%b"), ("axb", "a\\%b"), ("abc", "a%c%"), ("abcabc", "%bc%bc"), ("héllo", "h_llo"), ("ab", "ab\\"), ("a_b", "a\\_b"), ("abc", "%%%"), ("mississippi", "%iss%ppi")]:
    c("~~", "text text", s, p); c("!~~", "text text", s, p)
for s, p in [("HeLLo", "hel%"), ("ÄBC", "äbc"), ("abc", "A_C")]:
    c("~~*", "text text", s, p); c("!~~*", "text text", s, p)
c("~~", "bpchar text", "ab ", "ab"); c("~~", "bpchar text", "ab ", "ab_")
for p, e in [("a#%b", "#"), ("a\\b%", ""), ("a\\b#_", "#"), ("ab", "##"), ("a##b", "#"), ("a%", "\\")]:
    c("like_escape", "text text", p, e)
# regex
for s, p in [("hello", "^h.*o$"), ("hello", "L+"), ("a\nb", "a.b"), ("foo bar", "\\ybar\\y"), ("foobar", "\\ybar"), ("abc123", "[[:digit:]]+$"), ("abc", "("), ("x", "[[:alpha:]]"), ("ab", "a|"), ("abc", "\\mabc\\M")]:
    c("~", "text text", s, p); c("~*", "text text", s, p); c("!~", "text text", s, p); c("!~*", "text text", s, p)
# --- round 2
c("~~", "text text", "abc", "ab\\"); c("~~", "text text", "abc", "%\\"); c("~~", "text text", "", "\\")
c("~~", "text text text", "a%b", "a#%b", "#"); c("~~", "text text text", "a\\b", "a\\b", ""); c("!~~", "text text text", "a_b", "a!_b", "!")
c("~~*", "text text text", "A%B", "a#%b", "#"); c("~~", "text text text", "ab", "ab", "xy")
c("~~", "bytea bytea", "\\x610062", "a%"); c("~~", "bytea bytea", "\\x6162", "a_")
for tz, ts, iv in [("America/New_York", "2024-03-09 02:30:00-05", "1 day"), ("America/New_York", "2024-11-02 01:30:00-04", "1 day"),
                   ("America/New_York", "2024-11-03 01:30:00-04", "1 day"), ("America/New_York", "2024-11-03 01:30:00-05", "-1 day"),
                   ("Europe/Berlin", "2024-03-30 02:30:00+01", "1 day"), ("Europe/Berlin", "2024-01-31 23:00:00+00", "1 mon"),
                   ("Australia/Lord_Howe", "2024-04-06 01:45:00+11", "1 day")]:
    c("+", "timestamptz interval", ts, iv, tz=tz)
for tz, a, b in [("America/New_York", "2024-11-03 01:30:00", "2024-11-03 05:30:00+00"), ("America/New_York", "2024-11-03 01:30:00", "2024-11-03 06:30:00+00"),
                 ("America/New_York", "2024-03-10 02:30:00", "2024-03-10 07:30:00+00")]:
    c("=", "timestamp timestamptz", a, b, tz=tz)
c("=", "numeric numeric", "NaN", "NaN"); c("<", "numeric numeric", "Infinity", "NaN"); c(">", "numeric numeric", "-Infinity", "-1e100")
c("<", "text text", "a", "ab"); c("<", "text text", "Z", "a"); c("<", "text text", "é", "z"); c("=", "varchar varchar", "a ", "a"); c("=", "bpchar bpchar", "", "   ")
c("<", "time time", "24:00:00", "23:59:59.999999"); c("=", "interval interval", "1 year", "360 days"); c("<", "interval interval", "-1 mon", "-29 days 23:59:59")
c("<", "int4[] int4[]", "{1,NULL}", "{1,2}"); c("=", "text[] text[]", "{a,b}", "{a,b}"); c("<", "int4[] int4[]", "{}", "{0}")
c("=", "date timestamptz", "2024-01-02", "2024-01-01 15:00:00+00", tz="Asia/Tokyo")
c("/", "numeric numeric", "1e-20", "3"); c("/", "numeric numeric", "100000000000000000000", "3"); c("/", "numeric numeric", "-1", "-0.0003")
c("/", "numeric numeric", "2.5", "1.00000000000000000000000000001"); c("*", "numeric numeric", "1.10", "-0.20"); c("-", "numeric numeric", "0.1", "0.10")
c("+", "numeric numeric", "99999999999999999999.99", "0.01"); c("%", "numeric numeric", "-0.0", "3"); c("/", "numeric numeric", "0", "-3")
c("round", "numeric int4", "-0.4", "0"); c("round", "numeric int4", "1.5e5", "-5"); c("trunc", "numeric int4", "-1.99", "1"); c("round", "numeric int4", "NaN", "1")
c("round", "numeric", "Infinity"); c("ceil", "numeric", "-0.1"); c("floor", "numeric", "-1.1"); c("sign", "numeric", "-Infinity"); c("sqrt", "numeric", "Infinity")
c("exp", "numeric", "-Infinity"); c("ln", "numeric", "Infinity"); c("abs", "numeric", "-Infinity"); c("log", "numeric numeric", "2", "0.5")
c("power", "numeric numeric", "0.5", "-3"); c("power", "numeric numeric", "1.000001", "1000000"); c("power", "numeric numeric", "2", "100")
c("sqrt", "numeric", "1e-10"); c("exp", "numeric", "1e-10"); c("ln", "numeric", "1e-10"); c("ln", "numeric", "1.0000001"); c("ln", "numeric", "9999")
c("power", "float8 float8", "-1", "Infinity"); c("power", "float8 float8", "0", "0"); c("power", "float8 float8", "1e-200", "2")
c("sqrt", "float8", "NaN"); c("sqrt", "float8", "Infinity"); c("exp", "float8", "Infinity"); c("exp", "float8", "-Infinity"); c("ln", "float8", "Infinity")
c("round", "float8", "-0.4"); c("ceil", "float8", "-0.4"); c("trunc", "float8", "NaN"); c("round", "float8", "4503599627370497")
c("-", "int8 int8", "-9223372036854775807", "2"); c("*", "int8 int8", "4294967296", "4294967296"); c("*", "int8 int8", "3037000499", "3037000499"); c("*", "int8 int8", "-3037000500", "3037000500")
c("*", "int8 int8", "-4611686018427387904", "2"); c("*", "int8 int8", "4611686018427387904", "-2"); c("*", "int8 int8", "4611686018427387904", "2")
c("gcd", "int8 int8", "-9223372036854775808", "-9223372036854775808"); c("gcd", "int8 int8", "-9223372036854775808", "6"); c("lcm", "int8 int8", "-9223372036854775808", "1")
c("+", "float4 float4", "3e38", "3e38"); c("-", "float8 float8", "-1e308", "1e308"); c("/", "float8 float8", "1e-300", "1e300"); c("/", "float8 float8", "1e300", "1e-300")
c("/", "float8 float8", "Infinity", "0"); c("/", "float8 float8", "1", "Infinity"); c("*", "float8 float8", "Infinity", "0")
c("||", "text int4[]", "a", "{1,2}") if False else None
c("+", "date int4", "2024-01-01", "-2147483648"); c("-", "date date", "2024-01-01", "-infinity")
c("+", "time interval", "24:00:00", "0"); c("-", "time time", "24:00:00", "00:00:00"); c("+", "date interval", "2024-01-01", "-1 year -2 mons 3 days -04:00:00")
c("-", "timestamp timestamp", "290000-12-31 23:59:59", "2000-01-01 00:00:00"); c("-", "timestamp timestamp", "infinity", "2024-01-01 00:00:00")
c("+", "timestamp interval", "290000-12-31 00:00:00", "2 days"); c("-", "timestamp interval", "4713-11-25 00:00:00 BC", "2 days")
c("*", "interval float8", "1 mon", "NaN"); c("*", "interval float8", "2 days 03:00:00", "0.5"); c("/", "interval float8", "-1 mon -1 day", "3")
c("*", "interval float8", "1 mon 29 days 23:59:59", "1.0000001"); c("-", "interval interval", "-178000000 years", "1 year")
c("u-", "interval", "-178000000 years"); c("+", "interval interval", "2147483647 days", "1 day")
# --- round 3: operator spellings and bitwise
for t in ["int2", "int4", "int8"]:
    c("&", f"{t} {t}", "12", "10"); c("|", f"{t} {t}", "12", "10"); c("#", f"{t} {t}", "12", "-10")
    c("<<", f"{t} int4", "3", "4"); c("<<", f"{t} int4", "1", "33"); c("<<", f"{t} int4", "1", "-1"); c(">>", f"{t} int4", "-8", "1"); c(">>", f"{t} int4", "-5", "70")
    c("<<", f"{t} int4", "12", "14"); c("u~", t, "5"); c("u@", t, "-7")
c("^", "float8 float8", "2", "10"); c("^", "numeric numeric", "2.0", "3"); c("u|/", "float8", "16"); c("u||/", "float8", "27"); c("u@", "numeric", "-5.50"); c("u@", "float8", "-0.5")
c("*", "numeric numeric", "1e100000", "1e100000"); c("power", "numeric numeric", "10", "131072"); c("power", "numeric numeric", "2", "1e9"); c("power", "numeric numeric", "0.5", "1000")
c("~", "text text", "foo bar", "[[:<:]]bar"); c("~", "text text", "foobar", "[[:<:]]bar"); c("~", "text text", "a1", "[\\d]"); c("~", "text text", "a]b", "[]]"); c("~", "text text", "a-b", "[^]a]-"); c("~", "text text", "ab", "a{2"); c("~", "text text", "x", "*")
c("~", "text text", "ABC", "(?i)abc"); c("~*", "text text", "ÄX", "äx"); c("~", "text text", "a\nb", "^b"); c("~", "text text", "a.b", "a\\.b"); c("~", "text text", "tab\there", "\\t")
# --- round 4: bpchar concatenation trims, float4 text
c("||", "bpchar text", "ab  ", "x"); c("||", "text bpchar", "x", "ab  "); c("||", "float4 text", "0.1", "!"); c("||", "text varchar", "a", "b ")
# --- round 5: numeric power with infinities
for b, e in [("Infinity", "2"), ("Infinity", "-2"), ("-Infinity", "3"), ("-Infinity", "2"), ("-Infinity", "-3"), ("-Infinity", "0.5"), ("Infinity", "0"),
             ("2", "Infinity"), ("0.5", "Infinity"), ("2", "-Infinity"), ("0.5", "-Infinity"), ("-2", "Infinity"), ("-0.5", "Infinity"), ("1", "Infinity"),
             ("-1", "Infinity"), ("0", "-Infinity"), ("0", "Infinity"), ("Infinity", "Infinity"), ("Infinity", "-Infinity"), ("NaN", "0"), ("1", "NaN"), ("NaN", "1")]:
    c("power", "numeric numeric", b, e)
# --- round 6: numeric overflow/underflow guards
c("exp", "numeric", "-7000"); c("exp", "numeric", "7000"); c("exp", "numeric", "5000"); c("power", "numeric numeric", "0.5", "100000.5")
c("power", "numeric numeric", "10", "5000.5"); c("power", "numeric numeric", "-0.5", "99999999999"); c("power", "numeric numeric", "1.0000000001", "100000000000")
