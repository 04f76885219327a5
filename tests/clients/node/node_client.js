// Acceptance checks for the SQL gateway with node-postgres (`pg` from npm).
// Usage: node node_client.js PORT PASSWORD. Exits 1 on any failed check.
'use strict';
const pg = require('pg');

const [port, password] = [Number(process.argv[2]), process.argv[3]];
const failures = [];
function check(name, ok, detail) {
  if (!ok) {
    failures.push(name);
    console.log(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}
const config = (user = 'analyst', pw = password) => ({
  host: '127.0.0.1', port, user, password: pw, database: 'lake', ssl: false,
  connectionTimeoutMillis: 10000,
});

async function sqlState(client, sql) {
  try {
    await client.query(sql);
    return 'none';
  } catch (e) {
    return e.code;
  }
}

async function main() {
  const client = new pg.Client(config());
  await client.connect();

  // Parameterised queries use the extended protocol (Parse/Bind/Describe/Execute/Sync).
  const sums = await client.query(
      'SELECT count(*) AS n, sum(amount) AS total FROM orders WHERE id < $1 AND customer = $2',
      [100, 'customer 3']);
  check('count', sums.rows[0].n === '10', sums.rows[0]);
  check('sum', sums.rows[0].total === '1200.00', sums.rows[0]);
  const named = {name: 'by-id', text: 'SELECT customer FROM orders WHERE id = $1', values: [42]};
  for (let i = 0; i < 3; i++) {
    const r = await client.query(named);
    check('named statement', r.rows[0].customer === 'customer 2', r.rows);
  }

  const types = await client.query('SELECT * FROM types');
  const row = types.rows[0];
  check('i2', row.i2 === 1, row.i2);
  check('i4', row.i4 === 2, row.i4);
  check('i8', row.i8 === '9007199254740993', row.i8);
  check('b', row.b === true, row.b);
  check('f4', row.f4 === 1.5, row.f4);
  check('f8', row.f8 === 0.1, row.f8);
  check('num', row.num === '12345.67', row.num);
  check('txt', row.txt === 'héllo, "world"', row.txt);
  check('tstz', row.tstz.toISOString() === '2026-03-04T05:06:07.000Z', row.tstz);
  check('bytes', Buffer.isBuffer(row.bytes) && row.bytes.equals(Buffer.from([0, 255])), row.bytes);
  check('uuid', row.id === '6ba7b810-9dad-11d1-80b4-00c04fd430c8', row.id);
  check('ints', JSON.stringify(row.ints) === '[1,2,null]', row.ints);
  check('time', row.t === '13:14:15', row.t);
  check('null', row.nothing === null, row.nothing);

  // Binary results: arrays in array_send format, structs as their text.
  const binary = await client.query({
    text: "SELECT [1, NULL, -3]::INTEGER[] AS a, ['x', 'y'] AS t, []::BIGINT[] AS e, " +
        "{'k': 1} AS s, 7::INTEGER AS n",
    binary: true,
  });
  const b = binary.rows[0];
  check('binary int4[]', JSON.stringify(b.a) === '[1,null,-3]', b.a);
  check('binary varchar[]', JSON.stringify(b.t) === '["x","y"]', b.t);
  check('binary empty int8[]', JSON.stringify(b.e) === '[]', b.e);
  const asText = await client.query("SELECT {'k': 1} AS s");
  check('binary struct', String(b.s) === asText.rows[0].s, [String(b.s), asText.rows[0].s]);
  check('binary int4', b.n === 7, b.n);

  check('42601', await sqlState(client, 'SELEC 1') === '42601', 'syntax');
  check('42P01', await sqlState(client, 'SELECT * FROM missing') === '42P01', 'undefined table');
  check('42501', await sqlState(client, 'SELECT * FROM hr.salaries') === '42501', 'denied');
  check('25006', await sqlState(client, 'UPDATE orders SET id = 1') === '25006', 'read-only');

  // Cancel a long query through a CancelRequest on a second connection.
  const long = client.query('SELECT count(*) FROM range(100000000000) r WHERE hash(r.range) % 7 = 1');
  const active = client.activeQuery;
  await new Promise((resolve) => setTimeout(resolve, 500));
  new pg.Client(config()).cancel(client, active);
  const started = Date.now();
  let state = 'none';
  try {
    await long;
  } catch (e) {
    state = e.code;
  }
  check('cancel', state === '57014', state);
  check('cancel prompt', Date.now() - started < 20000, Date.now() - started);
  const after = await client.query('SELECT $1::INTEGER + 1 AS v', [41]);
  check('usable after cancel', after.rows[0].v === 42, after.rows);
  await client.end();

  for (const [user, pw] of [['analyst', 'wrong'], ['nobody', password]]) {
    const bad = new pg.Client(config(user, pw));
    try {
      await bad.connect();
      check(`login ${user}`, false, 'accepted');
      await bad.end();
    } catch (e) {
      check(`login ${user}`, e.code === '28P01', e.message);
    }
  }
}

main().then(() => {
  if (failures.length > 0) process.exit(1);
  console.log('node client: all checks passed');
}, (e) => {
  console.log(`FAIL unexpected: ${e.stack}`);
  process.exit(1);
});
