// Benchmark: XEP-0199 pings pipelined by one c2s client, to the focus component and, in the
// same run, to ejabberd's own domain (the ceiling: the server answering itself). Prints
// IQs/s and p50/p99 latency for both, their ratio, and the component's RSS idle and after.
//
//   node web/bench/ping-bench.js [--count 10000] [--window 100] [--rounds 3]
//
// The client is a minimal raw-XML c2s client (SASL PLAIN, bind, then pings), so that its own
// cost is small and identical for both targets.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startTestbed } from '../test/lib/testbed.js';

const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    window: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
  },
});
const COUNT = Number(opt.count);
const WINDOW = Number(opt.window);
const ROUNDS = Number(opt.rounds);

/** A logged-in c2s connection that reports each incoming IQ's id. */
async function login(c2s, domain, user, password) {
  const [host, port] = c2s.split(':');
  const sock = net.connect(Number(port), host);
  sock.setNoDelay(true);
  let buf = '';
  let waiter = null;
  let onIq = null;
  sock.on('data', (d) => {
    buf += d.toString('utf8');
    if (onIq) {
      const cut = buf.lastIndexOf('>');
      const done = buf.slice(0, cut + 1);
      buf = buf.slice(cut + 1);
      for (const m of done.matchAll(/<iq\b[^>]*?\bid=['"]([^'"]+)['"]/g)) onIq(m[1]);
    } else if (waiter && waiter.re.test(buf)) {
      const w = waiter; waiter = null; const text = buf; buf = ''; w.resolve(text);
    }
  });
  const expect = (re) => new Promise((resolve, reject) => {
    if (re.test(buf)) { const t = buf; buf = ''; return resolve(t); }
    const timer = setTimeout(() => reject(new Error(`no ${re} in: ${buf}`)), 10000);
    waiter = { re, resolve: (t) => { clearTimeout(timer); resolve(t); } };
  });
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const open = `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
  sock.write(open);
  await expect(/<\/stream:features>/);
  const creds = Buffer.from(`\0${user}\0${password}`).toString('base64');
  sock.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${creds}</auth>`);
  await expect(/<success/);
  sock.write(open);
  await expect(/<\/stream:features>/);
  sock.write(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`);
  await expect(/<\/iq>/);
  return {
    sock,
    setIqHandler(fn) { onIq = fn; },
    close() { sock.end('</stream:stream>'); },
  };
}

/** Sends COUNT pings to `to` with at most WINDOW outstanding; returns rate and latencies. */
function pingRun(client, to, tag) {
  return new Promise((resolve, reject) => {
    const sentAt = new Map();
    const latencies = [];
    let next = 0;
    const started = process.hrtime.bigint();
    const timer = setTimeout(() => reject(new Error(`${tag}: ${latencies.length}/${COUNT} answered`)), 120000);
    const send = () => {
      let chunk = '';
      while (next < COUNT && sentAt.size < WINDOW) {
        const id = `${tag}-${next++}`;
        sentAt.set(id, process.hrtime.bigint());
        chunk += `<iq type='get' id='${id}' to='${to}'><ping xmlns='urn:xmpp:ping'/></iq>`;
      }
      if (chunk) client.sock.write(chunk);
    };
    client.setIqHandler((id) => {
      const t = sentAt.get(id);
      if (t === undefined) return;
      sentAt.delete(id);
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (latencies.length === COUNT) {
        clearTimeout(timer);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        latencies.sort((a, b) => a - b);
        const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
        resolve({ rate: COUNT / seconds, p50: pct(0.5), p99: pct(0.99) });
      } else {
        send();
      }
    });
    send();
  });
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** CPU seconds (user + system) the process has used: ticks are 1/100 s on Linux. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const bed = await startTestbed({ users: ['bench:bench'], focus: true, focusLog: 'warn' });
try {
  const { c2s, domain, focus, focusPid } = bed.info;
  const idleRss = rssKiB(focusPid);
  const client = await login(c2s, domain, 'bench', 'bench');
  // Warm-up of both paths (JIT, ejabberd routes), not measured.
  await pingRun(client, focus, 'warm-f');
  await pingRun(client, domain, 'warm-s');
  const runs = { focus: [], server: [] };
  let focusCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const cpuBefore = cpuSeconds(focusPid);
    runs.focus.push(await pingRun(client, focus, `f${r}`));
    focusCpu += cpuSeconds(focusPid) - cpuBefore;
    runs.server.push(await pingRun(client, domain, `s${r}`));
  }
  const afterRss = rssKiB(focusPid);
  client.close();
  const summary = (rs) => ({
    iqsPerSecond: Math.round(median(rs.map((r) => r.rate))),
    p50ms: Number(median(rs.map((r) => r.p50)).toFixed(3)),
    p99ms: Number(median(rs.map((r) => r.p99)).toFixed(3)),
  });
  const result = {
    count: COUNT, window: WINDOW, rounds: ROUNDS,
    component: summary(runs.focus),
    server: summary(runs.server),
    componentRssKiB: { idle: idleRss, afterRun: afterRss },
    // The focus's own CPU per answered ping: the rest of the component path is ejabberd's.
    componentCpuMicrosPerPing: Number(((focusCpu / (COUNT * ROUNDS)) * 1e6).toFixed(1)),
  };
  result.ratio = Number((result.component.iqsPerSecond / result.server.iqsPerSecond).toFixed(3));
  console.log(JSON.stringify(result, null, 2));
} finally {
  await bed.stop();
}
