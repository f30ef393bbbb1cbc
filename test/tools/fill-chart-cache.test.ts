// `npm run charts` pulling a chart as it would from its repository: the pinned helm, a real chart repository
// (helm package + helm repo index of a cached chart) served on loopback, the archive's digest recorded, and the
// unpacked chart landing where the program and the render look for it.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChartPin, ISTIO_RELEASES } from '../../infra/charts';
import { chartCacheDir, fileDigest, treeDigest } from '../../infra/chart-cache';
import { chartStep, lockEntryOf } from '../../tools/fill-chart-cache';
import { ensureHelm } from '../../tools/packaged-binaries';

describe('npm run charts pulling from a chart repository (loopback)', () => {
  let scratch: string;
  let server: http.Server;
  let helm: string;
  let pin: ChartPin;
  let archive: string;
  before(async function () {
    this.timeout(120_000);
    helm = await ensureHelm();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-chart-repo-'));
    const repoDir = path.join(scratch, 'repo');
    fs.mkdirSync(repoDir);
    const source = ISTIO_RELEASES['1.30.3'].base;
    execFileSync(helm, ['package', path.join(chartCacheDir(), source.cachePath), '--destination', repoDir], { stdio: 'pipe' });
    archive = path.join(repoDir, fs.readdirSync(repoDir).find((f) => f.endsWith('.tgz'))!);
    server = http.createServer((req, res) => {
      const file = path.join(repoDir, path.basename(req.url ?? ''));
      if (fs.existsSync(file)) res.writeHead(200).end(fs.readFileSync(file));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    execFileSync(helm, ['repo', 'index', repoDir, '--url', url], { stdio: 'pipe' });
    pin = { ...source, repo: url };
  });
  after(() => {
    server?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('pulls the pinned version with helm, unpacks it at its cache path and returns the digest of the archive served', async function () {
    this.timeout(60_000);
    const cache = path.join(scratch, 'cache');
    const pulled = await chartStep(pin).run(cache, helm);
    assert.ok(fs.existsSync(path.join(cache, pin.cachePath, 'Chart.yaml')));
    assert.equal(pulled.archiveDigest, fileDigest(archive));
    const entry = lockEntryOf(chartStep(pin), cache, pulled);
    assert.deepEqual(entry, { ref: `${pin.repo} base 1.30.3`, digest: treeDigest(path.join(cache, pin.cachePath)), recordedFrom: 'upstream', archiveDigest: fileDigest(archive) });
  });

  it('records a target it did not pull as a copy, with no archive digest', () => {
    const entry = lockEntryOf(chartStep(pin), chartCacheDir());
    assert.equal(entry.recordedFrom, 'copy');
    assert.equal(entry.archiveDigest, undefined);
    assert.match(String(entry.note), /not pulled from http:\/\/127\.0\.0\.1:\d+ base 1\.30\.3/);
  });

  it('fails, naming the chart, when the repository does not have the pinned version', async function () {
    this.timeout(60_000);
    const missing = { ...pin, version: '1.30.99', cachePath: 'istio/1.30.99/base' };
    await assert.rejects(chartStep(missing).run(path.join(scratch, 'cache-missing'), helm), /1\.30\.99/);
  });
});
