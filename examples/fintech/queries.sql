-- The views of setup.sql, read like tables.

SELECT symbol, window_start, open, high, low, close, volume
FROM candles_1m ORDER BY symbol, window_start;

SELECT symbol, round(ewma::numeric, 4) AS ewma, trades
FROM ewma_price ORDER BY symbol;

SELECT symbol, ofi, quotes FROM ofi_quotes ORDER BY symbol;

SELECT symbol, window_start, round(vwap::numeric, 4) AS vwap, volume
FROM vwap_1m ORDER BY symbol, window_start;

SELECT symbol, ts, price, qty, quote_ts, bid, ask, round(spread_bps::numeric, 2) AS spread_bps, side
FROM trades_with_quote ORDER BY ts LIMIT 6;

SELECT symbol, side, count(*) AS trades, sum(qty) AS qty
FROM trades_with_quote GROUP BY symbol, side ORDER BY symbol, side;

-- The same as-of join as a batch query, for one minute of one symbol.
SELECT count(*) AS trades, min(t.ts - q.ts) AS min_quote_age, max(t.ts - q.ts) AS max_quote_age
FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts
WHERE t.symbol = 'GLOBEX' AND t.ts < TIMESTAMP '2026-01-05 09:31:00';
