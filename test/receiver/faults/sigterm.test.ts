import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { nodeOf } from '../../fixtures/mesh-fixtures';
import { alsClient, freePort, report, waitFor } from '../harness';
import { FRONTEND, SlowOap, scrape, taggedEntries } from './fault-harness';

const MAIN = path.join(__dirname, '..', '..', '..', 'receiver', 'dist', 'main.js');

describe('receiver faults: SIGTERM with a full queue', function () {
  this.timeout(25_000);

  it('delivers its whole queue to the OAP before it exits 0, and its last log accounts for every entry', async () => {
    const oapPort = await freePort();
    const proc = spawn(process.execPath, [MAIN, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--sink', 'oap',
      '--oap-address', `127.0.0.1:${oapPort}`, '--queue-capacity', '40', '--batch-size', '10', '--shutdown-timeout-ms', '10000'],
    { env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => { clearTimeout(killer); resolve(code); }));
    const logs = () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const oap = new SlowOap(0);
    try {
      await waitFor(() => logs().some((l) => l.msg === 'receiver started'), 'the started log line', 10_000);
      const { grpcPort, adminPort } = logs().find((l) => l.msg === 'receiver started') as { grpcPort: number; adminPort: number };
      const client = alsClient(grpcPort);
      // The OAP is away: 60 entries for a queue of 40, the last 20 dropped once the pause gives up.
      await report(client, nodeOf(FRONTEND), [0, 1, 2].map((m) => ({ http: taggedEntries(`m${m}`, 20) })));
      client.close();
      assert.equal((await scrape(adminPort)).value('receiver_sink_queue_depth'), 40);
      await oap.start(oapPort);
      proc.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(oap.endpoints.length, 40);
      assert.deepEqual(oap.duplicates(), []);
      const stopped = logs().find((l) => l.msg === 'stopped') as { received: number; forwarded: number; dropped: Record<string, number> };
      assert.deepEqual([stopped.received, stopped.forwarded, stopped.dropped.queue_full, stopped.dropped.shutdown_timeout], [60, 40, 20, 0]);
    } finally {
      proc.kill('SIGKILL');
      oap.stop();
    }
  });
});
