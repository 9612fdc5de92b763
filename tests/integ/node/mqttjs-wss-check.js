// SPDX-License-Identifier: Apache-2.0
// MQTT.js over wss:// against tollgated (run by tests/integ/51-mqttjs-wss.sh):
// custom-auth credentials in the upgrade request headers, in the upgrade
// query string and only in the MQTT username/password, MQTT 3.1.1 and 5;
// a bad signature in the upgrade headers is refused with HTTP 401 before
// the function is invoked (decisions.md #9).
// Environment: TG_PORT, TG_CA (CA file), TG_SIGN_KEY (RSA token signing
// key), TG_COUNT (the authorizer's invocation count file).
// Prints one line per check; exit 1 on failure.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const mqtt = require('mqtt');
const WebSocket = require('ws');

const port = Number(process.env.TG_PORT);
const ca = fs.readFileSync(process.env.TG_CA);
const signKey = fs.readFileSync(process.env.TG_SIGN_KEY);
const base = {
  protocol: 'wss',
  host: '127.0.0.1', // the listener's address; the name goes in SNI (servername)
  port,
  ca,
  wsOptions: { servername: 'localhost', handshakeTimeout: 5000 },
  reconnectPeriod: 0,
  connectTimeout: 5000,
};
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (!ok) failures++;
}

const sign = (token) => crypto.sign('sha256', Buffer.from(token), signKey).toString('base64');
const query = (token, sig) => 'x-amz-customauthorizer-name=demo' +
  `&x-amz-customauthorizer-signature=${encodeURIComponent(sig)}&token=${token}`;
const authHeaders = (token, sig) => ({
  'x-amz-customauthorizer-name': 'demo',
  'x-amz-customauthorizer-signature': sig,
  token,
});

// Connect options carrying the credentials for @token the way @mode says.
function credentials(mode, token) {
  const sig = sign(token);
  switch (mode) {
    case 'headers':
      return { path: '/mqtt', wsOptions: { ...base.wsOptions, headers: authHeaders(token, sig) } };
    case 'query':
      return { path: `/mqtt?${query(token, sig)}` };
    case 'username':
      return { path: '/mqtt', username: `?${query(token, sig)}`, password: 'unused-password' };
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

// Resolves with the connected client, or rejects with the connect error.
function connect(opts) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ ...base, ...opts });
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

async function run(version, mode) {
  const what = `${version === 5 ? 'v5' : 'v3.1.1'} ${mode}`;
  const topic = `demo/wsjs/${mode}/${version}`;
  const token = `allow-wsjs-${mode}-${version}`;
  const opts = { protocolVersion: version, ...credentials(mode, token) };
  const sub = await connect({ ...opts, clientId: `wsjs-sub-${mode}-${version}` });
  try {
    const pub = await connect({ ...opts, clientId: `wsjs-pub-${mode}-${version}` });
    try {
      const granted = await suback(sub, [topic, 'other/y']);
      check(granted[0] === 1, `${what}: allowed filter granted QoS 1 (got ${granted[0]})`);
      const want = version === 5 ? 0x87 : 0x80;
      check(granted[1] === want,
        `${what}: denied filter refused with 0x${want.toString(16)} (got ${granted[1]})`);

      const got = new Promise((resolve) => sub.on('message', (t, m) => resolve(`${t} ${m}`)));
      await pub.publishAsync(topic, `hello-${mode}-${version}`, { qos: 1 });
      const msg = await Promise.race([got, timeout(5000, 'message')]);
      check(msg === `${topic} hello-${mode}-${version}`,
        `${what}: allowed publish reached the subscriber`);
    } finally {
      await pub.endAsync();
    }
  } finally {
    await sub.endAsync();
  }
}

// A bad signature in the upgrade headers: the upgrade is answered 401 and
// the function is not invoked. MQTT.js drops the WebSocket error (it has no
// code) and only closes, so the socket is made here to see the status.
async function badSignature(version) {
  const what = version === 5 ? 'v5' : 'v3.1.1';
  const count = () => Number(fs.readFileSync(process.env.TG_COUNT, 'utf8'));
  const before = count();
  let upgradeError = '';
  const createWebsocket = (url, protocols, opts) => {
    const ws = new WebSocket(url, protocols, opts.wsOptions);
    ws.on('error', (err) => { upgradeError = err.message; });
    return ws;
  };
  const wsOptions = { ...base.wsOptions, headers: authHeaders('allow-wsjs-bad', sign('other')) };
  let connected = false;
  try {
    const c = await connect({ protocolVersion: version, path: '/mqtt', wsOptions, createWebsocket,
      clientId: `wsjs-bad-${version}` });
    connected = true;
    await c.endAsync();
  } catch (err) {
    // Expected: the connection fails at the upgrade.
  }
  check(!connected && upgradeError === 'Unexpected server response: 401',
    `${what}: bad signature in the upgrade headers refused with HTTP 401 (got ` +
    `${connected ? 'a connection' : `"${upgradeError}"`})`);
  const calls = count() - before;
  check(calls === 0, `${what}: the function was not invoked for the bad signature (${calls} calls)`);
}

(async () => {
  for (const version of [4, 5]) {
    for (const mode of ['headers', 'query', 'username']) {
      try {
        await run(version, mode);
      } catch (err) {
        check(false, `MQTT ${version === 5 ? 5 : '3.1.1'} ${mode}: ${err.message}`);
      }
    }
    try {
      await badSignature(version);
    } catch (err) {
      check(false, `MQTT ${version === 5 ? 5 : '3.1.1'} bad signature: ${err.message}`);
    }
  }
  process.exit(failures ? 1 : 0);
})();
