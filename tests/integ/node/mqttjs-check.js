// SPDX-License-Identifier: Apache-2.0
// MQTT.js against tollgated (run by tests/integ/41-mqttjs.sh): mqtts with
// ALPN "mqtt" and SNI, custom-auth usernames, MQTT 3.1.1 and 5.
// Environment: TG_PORT, TG_CA (CA file), TG_USER (valid username),
// TG_BAD_USER (bad signature). Prints one line per check; exit 1 on failure.
'use strict';
const fs = require('fs');
const mqtt = require('mqtt');

const base = {
  host: '127.0.0.1', // the listener's address; the name goes in SNI (servername)
  port: Number(process.env.TG_PORT),
  protocol: 'mqtts',
  servername: 'localhost',
  ALPNProtocols: ['mqtt'],
  ca: fs.readFileSync(process.env.TG_CA),
  reconnectPeriod: 0,
  connectTimeout: 5000,
};
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
}

// Resolves with the connected client, or rejects with the connect error.
function connect(version, username, clientId) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ ...base, protocolVersion: version, username, clientId });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => { c.end(true); reject(err); });
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const timeout = (ms, what) => new Promise((_, reject) =>
  setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));

// The SUBACK's codes for @filters (MQTT.js reports a refused filter as an
// error that carries the SUBACK packet).
function suback(client, filters) {
  return new Promise((resolve, reject) => {
    client.subscribe(filters, { qos: 1 }, (err, subs, packet) => {
      if (packet && packet.granted) resolve(packet.granted);
      else reject(err || new Error('no SUBACK'));
    });
  });
}

async function run(version) {
  const v = version === 5 ? 'v5' : 'v3.1.1';
  const topic = `demo/js${version}`;
  const sub = await connect(version, process.env.TG_USER, `js-sub-${version}`);
  const pub = await connect(version, process.env.TG_USER, `js-pub-${version}`);
  try {
    const granted = await suback(sub, [topic, 'other/y']);
    check(granted[0] === 1, `${v}: allowed filter granted QoS 1 (got ${granted[0]})`);
    const want = version === 5 ? 0x87 : 0x80;
    check(granted[1] === want,
      `${v}: denied filter refused with 0x${want.toString(16)} (got ${granted[1]})`);

    const got = new Promise((resolve) => sub.on('message', (t, m) => resolve(`${t} ${m}`)));
    await pub.publishAsync(topic, `hello-${version}`, { qos: 1 });
    const msg = await Promise.race([got, timeout(5000, 'message')]);
    check(msg === `${topic} hello-${version}`, `${v}: allowed publish reached the subscriber`);

    if (version === 5) {
      let code = 0;
      try {
        await pub.publishAsync('demo/readonly/a', 'secret', { qos: 1 });
      } catch (err) {
        code = err.code;
      }
      check(code === 0x87, `v5: denied publish got PUBACK 0x87 (got ${code})`);
    }
  } finally {
    await sub.endAsync();
    await pub.endAsync();
  }

  let refused = null;
  try {
    const c = await connect(version, process.env.TG_BAD_USER, `js-bad-${version}`);
    await c.endAsync();
  } catch (err) {
    refused = err.code;
  }
  const wantRc = version === 5 ? 0x86 : 4;
  check(refused === wantRc, `${v}: bad signature refused with CONNACK ${wantRc} (got ${refused})`);
}

(async () => {
  for (const version of [4, 5]) {
    try {
      await run(version);
    } catch (err) {
      check(false, `MQTT ${version === 5 ? 5 : '3.1.1'}: ${err.message}`);
    }
  }
  process.exit(failures ? 1 : 0);
})();
