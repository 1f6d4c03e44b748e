// Package fin holds SabotSQL's built-in functions for trading and
// quantitative analysis: exponentially weighted statistics (ewma, ewvar,
// ewstd, ewcov, ewcorr), market-microstructure aggregates (ofi, vwap, twap,
// first/last for OHLC candles, realized_var, bipower_var, zscore) and quote
// scalars (midprice, microprice, spread_bps, l1_imbalance, log_return),
// added to a kernels.Registry by Register. docs/functions-fintech.md is the
// user reference: every formula, NULL rule and which functions retract.
//
// The aggregates are kernels.GroupedAcc + GroupResulter over dense group
// ids, so one implementation serves GROUP BY (with ORDER BY inside the
// call), window frames over (PARTITION BY symbol ORDER BY ts) and
// streaming views. Per-group state is a small struct held in a slice
// indexed by group id (one cache line per group touched), updated from
// Arrow value slices without boxing (first/last of variable-width types
// box one value per group per batch). Order-dependent aggregates are marked OrderSensitive and do not
// implement Retractor; the order-free sums (vwap, realized_var) do.
//
// Invariants:
//  1. Rows whose group is NoGroup, or with a NULL in any argument, change
//     no state; a group that saw no complete row yields NULL.
//  2. OrderSensitive aggregates fold rows in exactly the order Update
//     receives them (batch by batch, row by row); callers that want event
//     time order sort first.
//  3. Retract(rows) after Update(rows) restores a Retractor's result up to
//     compensated-summation rounding, and exactly when the group's row
//     count returns to zero.
//  4. A parameter outside its documented range (alpha, lambda) fails with
//     SQLSTATE 22023; out-of-order twap input with 22000; nothing a user
//     writes can make a kernel panic.
//  5. Sums are compensated (TwoSum/TwoProduct) and running moments use
//     difference updates (sₜ₋₁ + α(xₜ − sₜ₋₁), Welford), so inputs with a
//     large common offset keep their small variations.
//  6. Every streaming accumulator implements kernels.GroupStater (state.go
//     describes the byte layout): a saved group loads bit-exactly into any
//     group of an accumulator of the same overload; malformed bytes fail
//     with XX001 and leave the group untouched.
//  7. ewma's dense case (no NULLs, every alpha valid, checked in one
//     pre-pass) runs without per-row validity or range checks; its
//     AppendGroupResults (stream.GroupResultsAppender) equals AppendResult
//     group by group. Its FoldTouch (kernels.TouchFolder) takes the NULL-free
//     batches with one alpha in (0, 1) only, and then equals TouchRows then
//     Update; any other batch it returns false untouched.
package fin
