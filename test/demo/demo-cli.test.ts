import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ISTIO_RELEASES as PINNED_ISTIO } from '../../infra/charts';
import { ISTIO_RELEASES } from '../../receiver/src/replay/boutique-model';
import { DEMO_FLAGS } from '../../receiver/src/replay/demo-config';
import type { HistoryJson, TopologyJson } from '../../receiver/src/sinks/memory';
import { waitFor } from '../receiver/harness';
import { NodeChild } from '../receiver/node-child';

// The built demo entry point (what `npm run demo` runs after building), as a child process on loopback.
const DEMO = path.join(__dirname, '..', '..', 'receiver', 'dist', 'replay', 'demo.js');

class Demo extends NodeChild {
  constructor(args: string[]) {
    super(DEMO, args, { killAfterMs: 20_000 });
  }
  async pageUrl(): Promise<string> {
    await waitFor(() => /topology page: +http:\/\/\S+/.test(this.stdout), 'the page address on stdout', 10_000);
    return /topology page: +(http:\/\/\S+)/.exec(this.stdout)![1]!;
  }
}

describe('npm run demo (receiver/dist/replay/demo.js) as a process', function () {
  this.timeout(30_000);
  const children: Demo[] = [];
  const run = (...args: string[]) => {
    const d = new Demo(args);
    children.push(d);
    return d;
  };

  before(() => {
    if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run \`npm run build\` first (npm test does)`);
  });
  after(() => {
    for (const c of children) if (c.running) c.proc.kill('SIGKILL');
  });

  it('prints every flag on --help and exits 0', async () => {
    const r = await run('--help').exited;
    assert.equal(r.code, 0);
    for (const flag of Object.keys(DEMO_FLAGS)) assert.ok(r.stdout.includes(`--${flag}`), flag);
  });

  it('names on --help the Istio versions its sidecars run, the upgraded ones on the release the stack pins', async () => {
    const pinned = Object.keys(PINNED_ISTIO);
    assert.ok(pinned.includes(ISTIO_RELEASES.current.version), `${ISTIO_RELEASES.current.version} is not among the pinned ${pinned.join(', ')}`);
    assert.equal(ISTIO_RELEASES.currentMeshAls.version, ISTIO_RELEASES.current.version);
    const r = await run('--help').exited;
    assert.match(r.stdout.replace(/\s+/g, ' '), new RegExp(`Istio ${ISTIO_RELEASES.legacy.version.replace(/\./g, '\\.')} and ${ISTIO_RELEASES.current.version.replace(/\./g, '\\.')},`));
  });

  it('refuses a bad flag value with exit code 2, naming the value and what is allowed', async () => {
    const r = await run('--rate', 'fast').exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--rate: invalid value "fast"; allowed: a number from 0.1 to 500/);
  });

  it('says the admin port is taken and how to pick another, exiting 1', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await run('--admin', `127.0.0.1:${(busy.address() as net.AddressInfo).port}`).exited;
      assert.equal(r.code, 1);
      assert.match(r.stderr, /EADDRINUSE[\s\S]*--admin 127\.0\.0\.1:0/);
    } finally {
      busy.close();
    }
  });

  describe('running', () => {
    let demo: Demo;
    let url: string;
    before(async () => {
      demo = run('--admin', '127.0.0.1:0', '--rate', '20', '--duration', '4', '--seed', '5');
      url = await demo.pageUrl();
    });

    it('prints a loopback page address', () => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    });

    it('serves the page at /', async () => {
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /^text\/html/);
      assert.match(await res.text(), /<script src="\/vendor\/cytoscape\.min\.js"><\/script>/);
    });

    it('serves the graph library from node_modules', async () => {
      const res = await fetch(`${url}vendor/cytoscape.min.js`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /cytoscape/i);
    });

    it('answers an unknown page with a 404 that lists the pages', async () => {
      const res = await fetch(`${url}secret.txt`);
      assert.equal(res.status, 404);
      assert.deepEqual(((await res.json()) as { pages: string[] }).pages.includes('/app.js'), true);
    });

    it('serves the live topology of the replayed mesh at /api/topology', async () => {
      let topology: TopologyJson | undefined;
      await waitFor(async () => {
        topology = (await (await fetch(`${url}api/topology`)).json()) as TopologyJson;
        return topology.services.length === 12;
      }, '12 services in the topology', 8000);
      assert.ok(topology!.calls.some((c) => c.id === 'checkoutservice.boutique->paymentservice.boutique'));
    });

    it('serves 15 minutes of history at 10 s steps per service and per call at /api/history', async () => {
      let history: HistoryJson | undefined;
      await waitFor(async () => {
        history = (await (await fetch(`${url}api/history`)).json()) as HistoryJson;
        return Object.keys(history.services).length === 12 && Object.values(history.calls).some((c) => c.calls > 0);
      }, '12 services with calls in the history', 8000);
      assert.deepEqual([history!.stepSeconds, history!.steps, history!.droppedCalls], [10, 90, 0]);
      for (const s of Object.values(history!.services)) assert.equal(s.rate.length, 90);
    });

    it('stops by itself after --duration, exiting 0 with a summary', async () => {
      const r = await demo.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /stopped \(duration reached\): \d+ user actions, \d+ HTTP and \d+ TCP entries from 15 sidecars/);
    });
  });

  it('stops cleanly on Ctrl-C (SIGINT), exiting 0', async () => {
    const d = run('--admin', '127.0.0.1:0');
    await d.pageUrl();
    d.proc.kill('SIGINT');
    const r = await d.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped \(SIGINT\)/);
  });
});
