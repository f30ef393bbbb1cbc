// `npm run open` as a user runs it: a real process, with stand-ins of gcloud and kubectl the only programs on
// PATH (besides node, which the kubectl stand-in runs on). Ctrl-C is a real SIGINT; every wait is on an
// event (a line printed, a process exit), never on time.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RECEIVER_ADMIN_PORT } from '../../infra/ports';
import { REPO_ROOT } from '../../tools/offline-program';

const SHIMS = { gcloud: path.join(__dirname, '..', 'preflight', 'shims', 'gcloud'), kubectl: path.join(__dirname, 'shims', 'kubectl') };
const OUTPUTS = {
  clusterName: 'meshscope-dev-gke', frontendAddress: '34.76.10.20', boutiqueNamespace: 'boutique',
  vms: [{ name: 'checkoutservice', instance: 'meshscope-dev-checkoutservice', internalIp: '10.10.0.20' }, { name: 'paymentservice', instance: 'meshscope-dev-paymentservice', internalIp: '10.10.0.21' }],
};

interface Started { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null>; log: () => string[] }

describe('npm run open', function () {
  this.timeout(60_000);
  let dir = '';
  let outputsFile = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-open-'));
    outputsFile = path.join(dir, 'outputs.json');
    fs.writeFileSync(outputsFile, JSON.stringify(OUTPUTS));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function start(args: string[], fake: Record<string, string> = {}): Started {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    for (const [name, file] of Object.entries(SHIMS)) fs.symlinkSync(file, path.join(bin, name));
    const log = path.join(bin, 'calls.log');
    fs.writeFileSync(log, '');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'open', 'cli.ts'), ...args], {
      cwd: REPO_ROOT, env: { PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}`, HOME: dir, SHIM_LOG: log, ...fake },
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, out: () => out, err: () => err, exited, log: () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  /** Resolves when the process has printed `pattern`, rejects if it exits first. */
  function printed(s: Started, pattern: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => { if (pattern.test(s.out())) { s.child.stdout!.off('data', check); resolve(); } };
      s.child.stdout!.on('data', check);
      check();
      void s.exited.then((code) => reject(new Error(`exited ${code} before printing ${pattern}:\n${s.out()}\n${s.err()}`)));
    });
  }

  it('gets the credentials, forwards the UI and the receiver, guides the user, and stops cleanly on Ctrl-C', async () => {
    const s = start(['--stack', 'dev', '--outputs', outputsFile, '--ui-port', '0', '--receiver-port', '0']);
    await printed(s, /Ctrl-C stops the port-forwards\./);
    const out = s.out();
    assert.match(out, /^gcloud container clusters get-credentials meshscope-dev-gke --zone europe-west1-b --project meshscope-dev$/m);
    assert.ok(s.log().includes('gcloud container clusters get-credentials meshscope-dev-gke --zone europe-west1-b --project meshscope-dev'));
    const ui = /^SkyWalking UI {3}(http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(out)?.[1];
    const receiver = /^receiver {8}(http:\/\/127\.0\.0\.1:\d+)\/metrics/m.exec(out)?.[1];
    assert.ok(ui && receiver, out);
    // The addresses printed are the forwards: each reaches its own Service.
    assert.equal(await (await fetch(`${ui}/`)).text(), 'svc/skywalking-ui /\n');
    assert.equal(await (await fetch(`${receiver}/readyz`)).text(), 'svc/meshscope-receiver /readyz\n');
    assert.ok(s.log().includes('kubectl -n skywalking port-forward svc/skywalking-ui :80 --address 127.0.0.1'));
    assert.ok(s.log().includes(`kubectl -n skywalking port-forward svc/meshscope-receiver :${RECEIVER_ADMIN_PORT} --address 127.0.0.1`));
    assert.match(out, /^the shop {8}http:\/\/34\.76\.10\.20\/ /m);
    assert.match(out, /Service Mesh → Services \(the MESH layer\), then Topology: .*checkoutservice and paymentservice on VMs/);
    assert.match(out, /time zone must match OAP's \(\+0800\)/);

    s.child.kill('SIGINT');
    assert.equal(await s.exited, 0, s.err());
    assert.match(s.out(), /stopped: both port-forwards ended\n$/);
    const stops = s.log().filter((l) => l.startsWith('stopped '));
    assert.deepEqual(stops.sort(), ['stopped svc/meshscope-receiver on SIGTERM', 'stopped svc/skywalking-ui on SIGTERM']);
  });

  it('fails with kubectl\'s words and stops the other forward when one cannot start', async () => {
    const s = start(['--stack', 'dev', '--outputs', outputsFile, '--ui-port', '0', '--receiver-port', '0'], { FAKE_KUBECTL_FAIL: 'meshscope-receiver' });
    assert.equal(await s.exited, 1);
    assert.match(s.err(), /open: kubectl port-forward svc\/meshscope-receiver exited 1: error: services "meshscope-receiver" not found/);
  });

  it('says so when the frontend has no address yet', async () => {
    const file = path.join(dir, 'no-frontend.json');
    fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, frontendAddress: undefined }));
    const s = start(['--stack', 'dev', '--outputs', file, '--ui-port', '0', '--receiver-port', '0']);
    await printed(s, /Ctrl-C stops/);
    assert.match(s.out(), /^the shop {8}no address yet/m);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
  });

  it('exits 2 naming the known stacks for an unknown stack, and 1 on outputs without a cluster', async () => {
    const unknown = start(['--stack', 'staging', '--outputs', outputsFile]);
    assert.equal(await unknown.exited, 2);
    assert.match(unknown.err(), /--stack staging: no Pulumi\.staging\.yaml; known stacks: dev, prod/);
    const file = path.join(dir, 'empty.json');
    fs.writeFileSync(file, '{}');
    const empty = start(['--stack', 'dev', '--outputs', file]);
    assert.equal(await empty.exited, 1);
    assert.match(empty.err(), /no clusterName output \(is the stack deployed\? `pulumi up`\)/);
  });
});
