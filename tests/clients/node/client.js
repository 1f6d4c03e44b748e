'use strict'
// node-postgres client of the SabotSQL client matrix.
//
// Runs the shared scenario against the server named by SABOT_HOST/SABOT_PORT
// (and SABOT_SCRAM_PORT/SABOT_PASSWORD for SCRAM), prints "ok <step>" per
// step, and exits non-zero with a message on failure. For the cancel step
// it starts SABOT_LONG_QUERY and cancels it with pg's client-side query
// cancellation (a CancelRequest on a second socket) once a line arrives on
// stdin (the Go test writes it when the query has reached the server).

const assert = require('node:assert/strict')
const readline = require('node:readline')
const pg = require('pg')

const env = process.env
const config = {
  host: env.SABOT_HOST,
  port: Number(env.SABOT_PORT),
  user: env.SABOT_USER,
  database: env.SABOT_DATABASE,
}

const failed = []

function ok (step) {
  console.log('ok ' + step)
}

// step runs fn and reports it; a failure is recorded and later steps go on.
async function step (name, fn) {
  try {
    await fn()
    ok(name)
  } catch (e) {
    failed.push(name)
    console.log('FAIL ' + name + ': ' + (e && e.stack ? e.stack : e))
  }
}

async function expectCode (promise, code) {
  try {
    await promise
  } catch (e) {
    assert.equal(e.code, code, 'SQLSTATE of ' + e.message)
    return e
  }
  assert.fail('no error, want SQLSTATE ' + code)
}

async function main () {
  const client = new pg.Client(config)
  await step('connect', async () => {
    await client.connect()
    const r = await client.query('SELECT 1 AS one')
    assert.deepEqual(r.rows, [{ one: 1 }])
  })

  await step('create', async () => {
    await client.query('CREATE TABLE node_items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2))')
  })

  await step('insert with parameters', async () => {
    const r = await client.query('INSERT INTO node_items VALUES ($1, $2, $3)', [1, 'apple', '1.25'])
    assert.equal(r.rowCount, 1)
    assert.equal(r.command, 'INSERT')
    await client.query('INSERT INTO node_items VALUES ($1, $2, $3), ($4, $5, $6)', [2, "pear's", 0.5, 3, 'plum', null])
  })

  await step('select with parameters', async () => {
    const r = await client.query('SELECT id, name, price FROM node_items WHERE id >= $1 AND name <> $2 ORDER BY id', [2, 'plum'])
    assert.deepEqual(r.rows, [{ id: 2, name: "pear's", price: '0.50' }])
    assert.deepEqual(r.fields.map(f => f.name), ['id', 'name', 'price'])
    const n = await client.query('SELECT count(*) AS n FROM node_items WHERE price IS NULL')
    assert.equal(n.rows[0].n, '1')
  })

  await step('prepared reuse', async () => {
    // A named query is parsed once per connection and reused.
    for (let i = 10; i < 15; i++) {
      await client.query({ name: 'node_ins', text: 'INSERT INTO node_items (id, name) VALUES ($1, $2)', values: [i, 'n' + i] })
    }
    for (let i = 10; i < 15; i++) {
      const r = await client.query({ name: 'node_sel', text: 'SELECT name FROM node_items WHERE id = $1', values: [i], rowMode: 'array' })
      assert.deepEqual(r.rows, [['n' + i]])
    }
  })

  await step('transaction', async () => {
    await client.query('BEGIN')
    await client.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [100, 'rolled back'])
    await client.query('ROLLBACK')
    await client.query('BEGIN')
    await client.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [101, 'committed'])
    await client.query('COMMIT')
    const r = await client.query('SELECT id FROM node_items WHERE id >= $1 ORDER BY id', [100])
    assert.deepEqual(r.rows, [{ id: 101 }])
  })

  await step('types text', () => types(client))

  await step('errors', async () => {
    await expectCode(client.query('SELECT * FROM node_no_such_table'), '42P01')
    await expectCode(client.query('SELECT 1 / $1::integer', [0]), '22012')
    const e = await expectCode(client.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [1, 'dup']), '23505')
    assert.match(e.message, /duplicate key/)
    await expectCode(client.query('SELEC 1'), '42601')
    await client.query('BEGIN')
    await expectCode(client.query('SELECT 1 / 0'), '22012')
    await expectCode(client.query('SELECT 1'), '25P02')
    await client.query('ROLLBACK')
    const r = await client.query('SELECT 2 AS two')
    assert.deepEqual(r.rows, [{ two: 2 }])
  })

  await step('cancel', async () => {
    const rl = readline.createInterface({ input: process.stdin })
    const go = new Promise((resolve) => rl.once('line', resolve))
    const q = new pg.Query(env.SABOT_LONG_QUERY)
    const done = new Promise((resolve, reject) => {
      q.on('error', resolve)
      q.on('end', () => reject(new Error('long query was not canceled')))
    })
    client.query(q)
    const line = await go
    rl.close()
    assert.equal(line.trim(), 'cancel')
    new pg.Client(config).cancel(client, q)
    const err = await done
    assert.equal(err.code, '57014', err.message)
    const r = await client.query('SELECT $1::text AS s', ['alive'])
    assert.deepEqual(r.rows, [{ s: 'alive' }])
  })

  await step('scram', async () => {
    const scramConfig = { ...config, port: Number(env.SABOT_SCRAM_PORT), password: env.SABOT_PASSWORD }
    const c = new pg.Client(scramConfig)
    await c.connect()
    const r = await c.query('SELECT $1::text AS s', ['scram'])
    assert.deepEqual(r.rows, [{ s: 'scram' }])
    await c.end()
    const bad = new pg.Client({ ...scramConfig, password: 'wrong' })
    const e = await expectCode(bad.connect(), '28P01')
    assert.match(e.message, /password authentication failed/)
  })

  await client.end()
}

async function types (client) {
  // node-postgres sends parameters as text and reads results as text.
  const ts = new Date(Date.UTC(2024, 1, 29, 13, 45, 30, 123))
  const cols = [
    ['b', 'boolean', true, true],
    ['i2', 'smallint', -32768, -32768],
    ['i4', 'integer', -2147483648, -2147483648],
    ['i8', 'bigint', '9223372036854775807', '9223372036854775807'],
    ['f4', 'real', 3.25, 3.25],
    ['f8', 'double precision', 2.718281828459045, 2.718281828459045],
    ['n', 'numeric(12,4)', '-12345678.9012', '-12345678.9012'],
    ['nbig', 'numeric', '123456789012345678901234567890.000000000000000000001', '123456789012345678901234567890.000000000000000000001'],
    ['t', 'text', 'h\u00e9llo, "w\u00f6rld"\n\\ \'q\' \u2211', 'h\u00e9llo, "w\u00f6rld"\n\\ \'q\' \u2211'],
    ['vc', 'varchar(10)', 'abc d\u00e9f', 'abc d\u00e9f'],
    ['c', 'char(5)', 'ab', 'ab   '],
    ['by', 'bytea', Buffer.from([0, 0xff, 0x10, 0x5c, 0x27]), Buffer.from([0, 0xff, 0x10, 0x5c, 0x27])],
    ['d', 'date', '2024-02-29', new Date(2024, 1, 29)],
    ['tm', 'time', '13:45:30.123456', '13:45:30.123456'],
    ['ts', 'timestamp', '2024-02-29 13:45:30.123', new Date(2024, 1, 29, 13, 45, 30, 123)],
    ['tz', 'timestamptz', ts, ts],
    ['iv', 'interval', '1 year 2 mons 3 days 04:05:06.789', { years: 1, months: 2, days: 3, hours: 4, minutes: 5, seconds: 6, milliseconds: 789 }],
    ['ai', 'integer[]', [1, 2, null, 4], [1, 2, null, 4]],
    ['at', 'text[]', ['a', 'b c', '"q"', null, '{x,y}'], ['a', 'b c', '"q"', null, '{x,y}']],
    ['an', 'numeric[]', ['1.5', '-2.25'], [1.5, -2.25]], // pg-types parses numeric[] as floats
    ['ab', 'boolean[]', [true, false], [true, false]],
    ['af8', 'double precision[]', [1.5, 'Infinity'], [1.5, Infinity]],
    ['ad', 'date[]', ['2024-01-01'], [new Date(2024, 0, 1)]],
    ['ats', 'timestamptz[]', [ts], [ts]],
    ['aby', 'bytea[]', [Buffer.from([1, 0xff])], [Buffer.from([1, 0xff])]],
  ]
  await client.query('CREATE TABLE node_types (id integer, ' + cols.map(([c, t]) => c + ' ' + t).join(', ') + ')')
  const ph = cols.map((_, i) => '$' + (i + 2)).join(', ')
  await client.query('INSERT INTO node_types VALUES ($1, ' + ph + ')', [1, ...cols.map(c => c[2])])
  await client.query('INSERT INTO node_types VALUES ($1, ' + ph + ')', [2, ...cols.map(() => null)])
  const r = await client.query('SELECT * FROM node_types WHERE id = $1', [1])
  const row = r.rows[0]
  for (const [c, t, , want] of cols) {
    let got = row[c]
    if (t === 'interval') got = { ...got }
    assert.deepEqual(got, want, t)
  }
  const nulls = await client.query('SELECT * FROM node_types WHERE id = $1', [2])
  for (const [c, t] of cols) assert.equal(nulls.rows[0][c], null, 'NULL ' + t)
}

main().then(() => {
  if (failed.length > 0) {
    console.log('FAILED steps: ' + failed.join(', '))
    process.exit(1)
  }
}, (e) => {
  console.log('FAIL: ' + (e && e.stack ? e.stack : e))
  process.exit(1)
})
