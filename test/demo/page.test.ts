import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLocalDemo, type LocalDemo } from '../../receiver/src/replay/local-demo';
import { EXPECTED_EDGES, EXPECTED_SERVICES, serviceName } from './expected-mesh';

// The demo end to end in real headless Chromium (Debian's package): receiver and replayer on ephemeral
// loopback ports, the page loaded from the admin port, what it draws read back from cytoscape's state.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const SCREENSHOT = path.join(__dirname, '..', '..', 'test-output', 'demo-topology.png');

interface DrawnNode { id: string; platform: string; shape: string; color: string; label: string }
interface DrawnEdge { id: string; source: string; target: string; label: string; lineStyle: string }

// Browser globals, seen only inside page.evaluate callbacks (the root tsconfig has no DOM lib).
declare const window: { meshscope: { cy: any; state: { refreshes: number } } };
declare const document: any;

describe('the demo page in headless Chromium', function () {
  this.timeout(90_000);
  let demo: LocalDemo | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let userDataDir: string;
  const pageErrors: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    }
    demo = await startLocalDemo({ admin: '127.0.0.1:0', listen: '127.0.0.1:0', rate: 25, seed: 7, durationSeconds: undefined, windowSeconds: 10 });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000,
      viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // Loopback only: anything else the page asks for is refused.
    await page.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
    await page.goto(demo.pageUrl);
    await page.waitForFunction(
      ([nodes, edges]) => window.meshscope?.state.refreshes > 0 && window.meshscope.cy.nodes().length === nodes
        && window.meshscope.cy.edges().length === edges,
      [EXPECTED_SERVICES.length, EXPECTED_EDGES.length],
    );
  });

  after(async () => {
    await context?.close();
    await demo?.stop();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  const drawnNodes = () => page.evaluate((): DrawnNode[] => window.meshscope.cy.nodes().map((n: any) => ({
    id: n.id(), platform: n.data('platform'), shape: n.style('shape'), color: n.style('background-color'), label: n.style('label'),
  })));
  const drawnEdges = () => page.evaluate((): DrawnEdge[] => window.meshscope.cy.edges().map((e: any) => ({
    id: `${e.source().id()}->${e.target().id()}`, source: e.source().id(), target: e.target().id(),
    label: e.style('label'), lineStyle: e.style('line-style'),
  })));

  it('draws a node for every service of the Online Boutique and nothing else', async () => {
    const ids = (await drawnNodes()).map((n) => n.id).sort();
    assert.deepEqual(ids, EXPECTED_SERVICES.map((s) => s.name).sort());
  });

  it('marks the VM services as VMs (orange hexagons) and the others as Kubernetes (blue rounded rectangles)', async () => {
    for (const n of await drawnNodes()) {
      const expected = EXPECTED_SERVICES.find((s) => s.name === n.id)!.platform;
      assert.equal(n.platform, expected, n.id);
      assert.deepEqual([n.shape, n.color], expected === 'vm' ? ['hexagon', 'rgb(227,116,0)'] : ['round-rectangle', 'rgb(50,108,229)'], n.id);
    }
  });

  it('labels nodes with the service name without its namespace', async () => {
    const n = (await drawnNodes()).find((x) => x.id === serviceName('checkoutservice'))!;
    assert.equal(n.label, 'checkoutservice');
  });

  it('draws an edge for every call of the call graph and nothing else', async () => {
    assert.deepEqual((await drawnEdges()).map((e) => e.id).sort(), EXPECTED_EDGES.map((e) => e.id).sort());
  });

  it('labels every HTTP and gRPC edge with its request rate, error rate and p95 latency', async () => {
    for (const e of (await drawnEdges()).filter((x) => !x.id.endsWith(serviceName('redis-cart')))) {
      assert.match(e.label, /^[\d.]+ req\/s · [\d.<]+ % err\np95 \d+ ms$/, e.id);
    }
  });

  it('draws the TCP edge to redis-cart dashed, labelled with connections and bytes', async () => {
    const e = (await drawnEdges()).find((x) => x.target === serviceName('redis-cart'))!;
    assert.equal(e.lineStyle, 'dashed');
    assert.match(e.label, /^[\d.]+ conn\/s · [\d.]+ (B|kB|MB)\np95 \d+ ms$/);
  });

  it('lists every service in the side table, the VMs with a VM badge', async () => {
    const rows = await page.$$eval('#services tbody tr', (trs) => trs.map((tr) => ({
      service: tr.getAttribute('data-service'), badge: tr.querySelector('.badge')?.textContent,
    })));
    assert.deepEqual(rows.map((r) => r.service).sort(), EXPECTED_SERVICES.map((s) => s.name).sort());
    assert.deepEqual(rows.filter((r) => r.badge === 'VM').map((r) => r.service).sort(),
      EXPECTED_SERVICES.filter((s) => s.platform === 'vm').map((s) => s.name).sort());
  });

  it('shows a service\'s metrics when its node is clicked', async () => {
    const at = await page.evaluate((id) => {
      const n = window.meshscope.cy.getElementById(id);
      const box = document.getElementById('graph').getBoundingClientRect();
      return { x: box.left + n.renderedPosition().x, y: box.top + n.renderedPosition().y };
    }, serviceName('paymentservice'));
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(() => document.getElementById('details-title').textContent.startsWith('paymentservice'));
    const details = await page.textContent('#details-body');
    assert.match(details!, /served\d+ calls · [\d.]+\/s · [\d.<]+ % errors/);
    assert.match(details!, /p50 \d+ ms · p95 \d+ ms · p99 \d+ ms/);
    assert.match(details!, /← checkoutservice \(gRPC\)/);
  });

  it('keeps refreshing from /api/topology', async () => {
    const before = await page.evaluate(() => window.meshscope.state.refreshes);
    await page.waitForFunction((n) => window.meshscope.state.refreshes > n, before, { timeout: 10_000 });
    assert.match((await page.textContent('#status'))!, /^12 services · 16 calls · updated /);
  });

  it('raises no script error', () => {
    assert.deepEqual(pageErrors, []);
  });

  it('saves a screenshot of the page under test-output/', async () => {
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    assert.ok(fs.statSync(SCREENSHOT).size > 20_000, 'a screenshot of a drawn page is more than a blank image');
  });
});
