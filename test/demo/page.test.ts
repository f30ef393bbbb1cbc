import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLocalDemo, type LocalDemo } from '../../receiver/src/replay/local-demo';
import { EXPECTED_EDGES, EXPECTED_SERVICES, serviceName } from './expected-mesh';

// The demo end to end in real headless Chromium (Debian's package): receiver and replayer on ephemeral
// loopback ports, the page loaded from the admin port at a wide and a narrow window, what it draws read
// back from cytoscape's state and bounding boxes.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const OUTPUT = path.join(__dirname, '..', '..', 'test-output');
export const screenshotOf = (width: number, height: number) => path.join(OUTPUT, `demo-page-${width}x${height}.png`);
/** The widths the issue asks for: a laptop window, and one where the panel must move under the graph. */
const VIEWPORTS = [{ width: 1400, height: 900 }, { width: 800, height: 900 }];
/** A service whose callers see Envoy-flagged failures (timeouts) and whose own sidecar sees others (resets). */
const DETAILED = serviceName('paymentservice');

interface DrawnNode { id: string; platform: string; shape: string; color: string; label: string }
interface DrawnEdge { id: string; source: string; target: string; label: string; lineStyle: string }
interface Box { id: string; x1: number; y1: number; x2: number; y2: number }

// Browser globals, seen only inside page.evaluate callbacks (the root tsconfig has no DOM lib).
declare const window: { meshscope: { cy: any; state: { refreshes: number; hiddenLabels: number; arrangement: unknown } } };
declare const document: any;

describe('the demo page in headless Chromium', function () {
  this.timeout(120_000);
  let demo: LocalDemo | undefined;
  let context: BrowserContext | undefined;
  let userDataDir: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
    }
    demo = await startLocalDemo({ admin: '127.0.0.1:0', listen: '127.0.0.1:0', rate: 25, seed: 7, durationSeconds: undefined, windowSeconds: 10 });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000, deviceScaleFactor: 1,
    });
  });

  after(async () => {
    await context?.close();
    await demo?.stop();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  for (const viewport of VIEWPORTS) {
    describe(`at ${viewport.width}×${viewport.height}`, () => {
      let page: Page;
      const pageErrors: string[] = [];

      before(async () => {
        page = await context!.newPage();
        await page.setViewportSize(viewport);
        page.setDefaultTimeout(30_000);
        page.on('pageerror', (err) => pageErrors.push(err.message));
        // Loopback only: anything else the page asks for is refused.
        await page.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
        await page.goto(demo!.pageUrl);
        await page.waitForFunction(
          ([nodes, edges]) => window.meshscope?.state.refreshes > 0 && window.meshscope.cy.nodes().length === nodes
            && window.meshscope.cy.edges().length === edges,
          [EXPECTED_SERVICES.length, EXPECTED_EDGES.length],
        );
      });

      after(() => page?.close());

      const drawnNodes = () => page.evaluate((): DrawnNode[] => window.meshscope.cy.nodes().map((n: any) => ({
        id: n.id(), platform: n.data('platform'), shape: n.style('shape'), color: n.style('background-color'), label: n.style('label'),
      })));
      const drawnEdges = () => page.evaluate((): DrawnEdge[] => window.meshscope.cy.edges().map((e: any) => ({
        id: `${e.source().id()}->${e.target().id()}`, source: e.source().id(), target: e.target().id(),
        label: e.data('label'), lineStyle: e.style('line-style'),
      })));
      /** Every label drawn (services' and calls'), and every service's body, as cytoscape bounds them. */
      // (No named functions inside: tsx would wrap them in a helper the page does not have.)
      const boxes = () => page.evaluate(() => {
        const cy = window.meshscope.cy;
        const only = { includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false, includeUnderlays: false };
        const body = { includeLabels: false, includeOverlays: false, includeUnderlays: false };
        const shown = cy.edges().filter((e: any) => e.style('label') !== '');
        return {
          labels: [...cy.nodes().toArray(), ...shown.toArray()]
            .map((x: any) => ({ id: `label of ${x.id()}`, ...x.boundingBox(only) }))
            .filter((b: any) => b.x2 > b.x1),
          bodies: cy.nodes().map((n: any) => ({ id: n.id(), ...n.boundingBox(body) })),
          edgeLabels: shown.length,
        };
      }) as Promise<{ labels: Box[]; bodies: Box[]; edgeLabels: number }>;
      const overlapping = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
      const assertNoOverlaps = async () => {
        const { labels, bodies } = await boxes();
        const pairs: string[] = [];
        labels.forEach((a, i) => labels.slice(i + 1).forEach((b) => { if (overlapping(a, b)) pairs.push(`${a.id} / ${b.id}`); }));
        for (const l of labels.filter((x) => x.id.startsWith('label of call:'))) {
          for (const b of bodies) if (overlapping(l, b)) pairs.push(`${l.id} / service ${b.id}`);
        }
        assert.deepEqual(pairs, [], 'overlapping labels');
      };

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

      it('gives every HTTP and gRPC edge a label of its request rate, error rate and p95 latency', async () => {
        for (const e of (await drawnEdges()).filter((x) => !x.id.endsWith(serviceName('redis-cart')))) {
          assert.match(e.label, /^[\d.]+ req\/s · [\d.<]+ % err\np95 \d+ ms$/, e.id);
        }
      });

      it('draws the TCP edge to redis-cart dashed, labelled with connections and bytes', async () => {
        const e = (await drawnEdges()).find((x) => x.target === serviceName('redis-cart'))!;
        assert.equal(e.lineStyle, 'dashed');
        assert.match(e.label, /^[\d.]+ conn\/s · [\d.]+ (B|kB|MB)\np95 \d+ ms$/);
      });

      it('draws no label over another label or over a service', assertNoOverlaps);

      it('shows most calls\' labels without pointing at them', async () => {
        const { edgeLabels } = await boxes();
        assert.ok(edgeLabels >= EXPECTED_EDGES.length / 2, `${edgeLabels} of ${EXPECTED_EDGES.length} labels shown`);
      });

      it('shows a hidden label while its call is hovered', async () => {
        const id = await page.evaluate(() => {
          const e = window.meshscope.cy.edges('.nolabel').first();
          if (e.empty()) return null;
          e.emit('mouseover');
          return e.id();
        });
        if (id === null) return; // every label fits: nothing to show
        assert.notEqual(await page.evaluate((x) => window.meshscope.cy.getElementById(x).style('label'), id), '');
        await page.evaluate((x) => { window.meshscope.cy.getElementById(x).emit('mouseout'); }, id);
      });

      it('lists every service in the side table, the VMs with a VM badge', async () => {
        const rows = await page.$$eval('#services tbody tr', (trs) => trs.map((tr) => ({
          service: tr.getAttribute('data-service'), badge: tr.querySelector('.badge')?.textContent,
        })));
        assert.deepEqual(rows.map((r) => r.service).sort(), EXPECTED_SERVICES.map((s) => s.name).sort());
        assert.deepEqual(rows.filter((r) => r.badge === 'VM').map((r) => r.service).sort(),
          EXPECTED_SERVICES.filter((s) => s.platform === 'vm').map((s) => s.name).sort());
      });

      it('draws a sparkline of its recent requests/s beside every service that served calls', async () => {
        // The first 10 s step must complete before a sparkline has a point: wait for it, however long it takes.
        await page.waitForFunction((n) => document.querySelectorAll('#services svg.spark polyline').length === n
          && [...document.querySelectorAll('#services svg.spark')].filter((s: any) => Number(s.dataset.max) > 0).length === n - 1,
        EXPECTED_SERVICES.length, { timeout: 90_000 });
        const sparks = await page.$$eval('#services tbody tr', (trs) => trs.map((tr) => {
          const svg = tr.querySelector('svg.spark') as any;
          return { service: tr.getAttribute('data-service'), steps: Number(svg.dataset.points), max: Number(svg.dataset.max),
            drawn: svg.querySelector('polyline').getAttribute('points').split(' ').length, height: svg.getBoundingClientRect().height };
        }));
        for (const s of sparks) {
          assert.equal(s.steps, 89, `${s.service}: 15 min of 10 s steps, the running one left out`);
          assert.ok(s.height > 10, `${s.service}'s sparkline is drawn`);
          assert.equal(s.max > 0, s.service !== serviceName('loadgenerator'), `${s.service}: max ${s.max}`);
        }
      });

      it('shows a service\'s metrics, a chart of its history and its errors by response code and Envoy flag when its node is clicked', async () => {
        const at = await page.evaluate((id) => {
          const n = window.meshscope.cy.getElementById(id);
          const box = document.getElementById('graph').getBoundingClientRect();
          return { x: box.left + n.renderedPosition().x, y: box.top + n.renderedPosition().y };
        }, DETAILED);
        await page.mouse.click(at.x, at.y);
        await page.waitForFunction(() => document.getElementById('details-title').textContent.startsWith('paymentservice'));
        const details = await page.textContent('#details-body');
        assert.match(details!, /served\d+ calls · [\d.]+\/s · [\d.<]+ % errors/);
        assert.match(details!, /p50 \d+ ms · p95 \d+ ms · p99 \d+ ms/);
        assert.match(details!, /← checkoutservice \(gRPC\)/);
        // The chart: three lines with points from completed steps; the breakdown: Envoy's flags on the errors.
        await page.waitForFunction(() => {
          const lines = [...document.querySelectorAll('#details-chart polyline')];
          return lines.length === 3 && lines.every((l: any) => Number(l.dataset.points) > 0)
            && [...document.querySelectorAll('#breakdown table[data-field="errorFlags"] tr[data-key]')].some((r: any) => r.dataset.key !== 'none');
        }, undefined, { timeout: 90_000 });
        const chart = await page.$eval('#details-chart', (svg: any) => ({
          series: [...svg.querySelectorAll('polyline')].map((l: any) => l.dataset.series),
          height: svg.getBoundingClientRect().height,
        }));
        assert.deepEqual(chart.series, ['rate', 'errorRate', 'p95']);
        assert.ok(chart.height > 100, `the chart is ${chart.height} px tall`);
        const codes = await page.$$eval('#breakdown table[data-field="errorCodes"] tr[data-key]', (trs) => trs.map((tr) => tr.getAttribute('data-key')));
        assert.ok(codes.every((c) => /^5\d\d$/.test(c!)), `codes ${codes.join(', ')}`);
      });

      it('still draws no label over another or over a service with a service selected', assertNoOverlaps);

      it('keeps the page usable at this width: the graph at least 450 px wide, nothing wider than the window', async () => {
        const m = await page.evaluate(() => ({
          graph: document.getElementById('graph').getBoundingClientRect().width,
          scroll: document.documentElement.scrollWidth,
        }));
        assert.ok(m.graph >= 450, `graph ${m.graph} px wide`);
        assert.ok(m.scroll <= viewport.width, `page ${m.scroll} px wide in a ${viewport.width} px window`);
      });

      it('keeps refreshing from /api/topology and /api/history', async () => {
        const before = await page.evaluate(() => window.meshscope.state.refreshes);
        await page.waitForFunction((n) => window.meshscope.state.refreshes > n, before);
        assert.match((await page.textContent('#status'))!, /^12 services · 16 calls · updated /);
      });

      it('raises no script error', () => {
        assert.deepEqual(pageErrors, []);
      });

      it('saves a screenshot of the page under test-output/', async () => {
        const file = screenshotOf(viewport.width, viewport.height);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        await page.screenshot({ path: file, fullPage: true });
        assert.ok(fs.statSync(file).size > 20_000, 'a screenshot of a drawn page is more than a blank image');
      });
    });
  }
});
