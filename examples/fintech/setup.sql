-- SabotSQL fintech example: trades and quotes for three symbols over three
-- minutes, generated deterministically (no random(): prices wiggle by
-- fixed modular sequences), and streaming views over them.

SET implicit_flush = on;

CREATE TABLE trades (
    symbol text,
    ts     timestamp,
    price  float8,
    qty    float8
) APPEND ONLY;

CREATE TABLE quotes (
    symbol  text,
    ts      timestamp,
    bid     float8,
    bid_sz  float8,
    ask     float8,
    ask_sz  float8
) APPEND ONLY;

-- Views first, so they are maintained incrementally as the rows arrive.

-- 1-minute OHLCV candles.
CREATE MATERIALIZED VIEW candles_1m AS
SELECT symbol, window_start,
       first(price ORDER BY ts) AS open,
       max(price)               AS high,
       min(price)               AS low,
       last(price ORDER BY ts)  AS close,
       sum(qty)                 AS volume
FROM tumble(trades, ts, INTERVAL '1 minute')
GROUP BY symbol, window_start;

-- Exponentially weighted moving average of the trade price.
CREATE MATERIALIZED VIEW ewma_price AS
SELECT symbol, ewma(price, 0.94 ORDER BY ts) AS ewma, count(*) AS trades
FROM trades GROUP BY symbol;

-- Order-flow imbalance of the quote stream.
CREATE MATERIALIZED VIEW ofi_quotes AS
SELECT symbol, ofi(bid, bid_sz, ask, ask_sz ORDER BY ts) AS ofi, count(*) AS quotes
FROM quotes GROUP BY symbol;

-- Volume-weighted average price per minute.
CREATE MATERIALIZED VIEW vwap_1m AS
SELECT symbol, window_start, vwap(price, qty) AS vwap, sum(qty) AS volume
FROM tumble(trades, ts, INTERVAL '1 minute')
GROUP BY symbol, window_start;

-- Each trade joined to the latest quote at or before it.
CREATE MATERIALIZED VIEW trades_with_quote AS
SELECT t.symbol, t.ts, t.price, t.qty, q.ts AS quote_ts, q.bid, q.ask,
       spread_bps(q.bid, q.ask) AS spread_bps,
       CASE WHEN t.price >= midprice(q.bid, q.ask) THEN 'buy' ELSE 'sell' END AS side
FROM trades t ASOF JOIN quotes q ON t.symbol = q.symbol AND t.ts >= q.ts;

-- Quotes: one per symbol every 2 seconds (symbols interleaved), 09:30:00 to 09:32:59.
INSERT INTO quotes
SELECT (ARRAY['ACME', 'GLOBEX', 'INITECH'])[i % 3 + 1],
       TIMESTAMP '2026-01-05 09:30:00' + (i / 3) * INTERVAL '2 seconds' + (i % 3) * INTERVAL '100 milliseconds',
       (100 + 50 * (i % 3)) + ((i * 37) % 23 - 11) * 0.05 - 0.02,
       100 + (i * 53) % 7 * 100,
       (100 + 50 * (i % 3)) + ((i * 37) % 23 - 11) * 0.05 + 0.02 + (i % 5) * 0.01,
       100 + (i * 31) % 5 * 100
FROM generate_series(0, 269) AS i;

-- Trades: one every second, symbols in turn, a little after the quotes.
INSERT INTO trades
SELECT (ARRAY['ACME', 'GLOBEX', 'INITECH'])[i % 3 + 1],
       TIMESTAMP '2026-01-05 09:30:00' + i * INTERVAL '1 second' + INTERVAL '250 milliseconds',
       (100 + 50 * (i % 3)) + ((i * 41) % 29 - 14) * 0.04,
       10 * (1 + (i * 7) % 9)
FROM generate_series(0, 179) AS i;
