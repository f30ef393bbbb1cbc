import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { SETTINGS } from '../../receiver/src/config';
import { httpCall, nodeOf, pod } from '../fixtures/mesh-fixtures';
import { FakeOap, alsClient, report, waitFor } from './harness';
import { NodeChild } from './node-child';

// The built entry point, run as a child process the way the image runs it.
const MAIN = path.join(__dirname, '..', '..', 'receiver', 'dist', 'main.js');

class Child extends NodeChild {
  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    super(MAIN, args, { env, killAfterMs: 18_000 });
  }
  logs(): Record<string, unknown>[] {
    return this.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  async started(): Promise<{ grpcPort: number; adminPort: number }> {
    await waitFor(() => this.logs().some((l) => l.msg === 'receiver started'), 'the started log line', 12_000);
    const line = this.logs().find((l) => l.msg === 'receiver started')!;
    return { grpcPort: line.grpcPort as number, adminPort: line.adminPort as number };
  }
}

const LOOPBACK = ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];

describe('receiver main.js as a process', function () {
  this.timeout(20_000);
  const children: Child[] = [];
  const run = (args: string[], env?: NodeJS.ProcessEnv) => {
    const c = new Child(args, env);
    children.push(c);
    return c;
  };

  before(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  });
  after(() => {
    for (const c of children) if (c.running) c.proc.kill('SIGKILL');
  });

  it('prints every flag with its environment variable on --help and exits 0', async () => {
    const r = await run(['--help']).exited;
    assert.equal(r.code, 0);
    for (const s of SETTINGS) assert.ok(r.stdout.includes(`--${s.flag}`) && r.stdout.includes(s.env), s.flag);
  });

  it('exits 2 naming an unknown flag', async () => {
    const r = await run(['--oap', 'x:1']).exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--oap'/);
    assert.match(r.stderr, /--oap-address/);
  });

  it('exits 2 naming a bad value, where it came from and what is allowed', async () => {
    const r = await run([], { RECEIVER_SINK: 'kafka' }).exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /RECEIVER_SINK: invalid value "kafka"; allowed: oap \| memory \| jsonl/);
  });

  it('exits 2 naming a malformed service name rule', async () => {
    const r = await run([...LOOPBACK, '--service-name-rule', '${LABELS.app']).exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--service-name-rule/);
  });

  it('accepts a rule SkyWalking accepts with a spaced key, warning that the space is part of the key', async () => {
    const c = run([...LOOPBACK, '--service-name-rule', '${NAME, NAMESPACE}']);
    await c.started();
    c.proc.kill('SIGTERM');
    await c.exited;
    assert.ok(c.logs().some((l) => l.level === 'warn' && /" NAMESPACE" keeps its whitespace/.test(String(l.warning))), c.stderr);
  });

  it('drains and exits 0 on a SIGTERM sent the moment it says it started (its handler is already listening)', async () => {
    for (let i = 0; i < 3; i++) {
      const c = run([...LOOPBACK]);
      await c.started();
      c.proc.kill('SIGTERM');
      const r = await c.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(c.logs().some((l) => l.msg === 'shutting down'), r.stderr);
    }
  });

  it('logs structured JSON lines on stderr', async () => {
    const c = run([...LOOPBACK]);
    await c.started();
    c.proc.kill('SIGTERM');
    await c.exited;
    const logs = c.logs();
    assert.ok(logs.length >= 2);
    for (const l of logs) assert.ok(typeof l.time === 'string' && typeof l.level === 'string' && typeof l.msg === 'string', JSON.stringify(l));
  });

  it('flushes its queue to the OAP on SIGTERM and exits 0', async () => {
    const oap = new FakeOap();
    const oapPort = await oap.start();
    try {
      // A flush interval far beyond the test: only the shutdown drain can deliver these metrics.
      const c = run([...LOOPBACK, '--sink', 'oap', '--oap-address', `127.0.0.1:${oapPort}`, '--flush-interval-ms', '600000', '--batch-size', '1000']);
      const { grpcPort, adminPort } = await c.started();
      const frontend = pod('frontend', 'boutique');
      const catalog = pod('productcatalogservice', 'boutique');
      const client = alsClient(grpcPort);
      const entries = Array.from({ length: 25 }, (_, i) => httpCall(frontend, catalog, { path: `/p${i}` }).client);
      await report(client, nodeOf(frontend), [{ http: entries }]);
      client.close();
      await waitFor(async () => /receiver_sink_queue_depth\{sink="oap"\} 25/.test(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()),
        '25 metrics queued');
      assert.equal(oap.httpMetrics().length, 0);
      c.proc.kill('SIGTERM');
      const r = await c.exited;
      assert.equal(r.code, 0);
      assert.equal(oap.httpMetrics().length, 25);
      const stopped = c.logs().find((l) => l.msg === 'stopped')!;
      assert.deepEqual([stopped.received, stopped.forwarded], [25, 25]);
    } finally {
      oap.stop();
    }
  });

  it('writes one metric per line on stdout with the jsonl sink', async () => {
    const c = run([...LOOPBACK, '--sink', 'jsonl']);
    const { grpcPort } = await c.started();
    const frontend = pod('frontend', 'boutique');
    const catalog = pod('productcatalogservice', 'boutique');
    const client = alsClient(grpcPort);
    await report(client, nodeOf(frontend), [{ http: [httpCall(frontend, catalog, { path: '/a' }).client, httpCall(frontend, catalog, { path: '/b' }).client] }]);
    client.close();
    await waitFor(() => c.stdout.split('\n').length >= 3, 'two lines on stdout');
    c.proc.kill('SIGTERM');
    const r = await c.exited;
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { endpoint: string; sourceServiceName: string });
    assert.deepEqual(lines.map((l) => [l.sourceServiceName, l.endpoint]), [['frontend.boutique', 'GET:/a'], ['frontend.boutique', 'GET:/b']]);
  });

  it('answers the admin endpoints while running', async () => {
    const c = run([...LOOPBACK]);
    const { adminPort } = await c.started();
    const get = (p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`);
    assert.deepEqual([(await get('/healthz')).status, (await get('/readyz')).status, (await get('/api/topology')).status], [200, 200, 200]);
    c.proc.kill('SIGINT');
    assert.equal((await c.exited).code, 0);
  });

  it('serves the topology page with the memory sink, and no page with another sink', async () => {
    const memory = run([...LOOPBACK, '--sink', 'memory']);
    const port = (await memory.started()).adminPort;
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>[^<]*meshscope/i);
    assert.equal((await fetch(`http://127.0.0.1:${port}/vendor/cytoscape.min.js`)).status, 200);
    memory.proc.kill('SIGINT');
    assert.equal((await memory.exited).code, 0);

    const jsonl = run([...LOOPBACK, '--sink', 'jsonl']);
    const jsonlPort = (await jsonl.started()).adminPort;
    assert.equal((await fetch(`http://127.0.0.1:${jsonlPort}/`)).status, 404);
    jsonl.proc.kill('SIGINT');
    assert.equal((await jsonl.exited).code, 0);
  });
});
