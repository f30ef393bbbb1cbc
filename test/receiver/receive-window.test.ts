import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import type { Receiver } from '../../receiver/src/receiver';
import { startReceiver } from './harness';

// The ALS server grants each sidecar connection a larger HTTP/2 receive window than Node's 64 KiB, so a
// sidecar keeps several messages in flight (BENCHMARKS.md, round 3: the receiver's idle time).
async function serverSettings(port: number): Promise<{ settings: http2.Settings; connectionWindow: number }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // Node's server sends its default SETTINGS first; the receiver's own follow, with a WINDOW_UPDATE.
    await new Promise((r) => setTimeout(r, 100));
    return { settings: session.remoteSettings, connectionWindow: session.state.remoteWindowSize ?? NaN };
  } finally {
    session.close();
  }
}

describe('ALS receive window', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.stop();
    receiver = undefined;
  });

  it('grants each sidecar connection a 256 KiB window per stream and on the connection by default', async () => {
    receiver = await startReceiver();
    const { settings, connectionWindow } = await serverSettings(receiver.grpcPort);
    assert.equal(settings.initialWindowSize, 256 * 1024);
    assert.equal(connectionWindow, 256 * 1024);
  });

  it('grants the window --receive-window-bytes sets', async () => {
    receiver = await startReceiver('--receive-window-bytes', String(1 << 20));
    const { settings, connectionWindow } = await serverSettings(receiver.grpcPort);
    assert.equal(settings.initialWindowSize, 1 << 20);
    assert.equal(connectionWindow, 1 << 20);
  });

  it('keeps HTTP/2\'s own 64 KiB when set to it', async () => {
    receiver = await startReceiver('--receive-window-bytes', '65535');
    const { settings } = await serverSettings(receiver.grpcPort);
    assert.equal(settings.initialWindowSize, 65_535);
  });
});
