// The demo's flags (`npm run demo -- --help`), each validated once into a DemoConfig.
import { parseArgs } from 'node:util';
import { ISTIO_RELEASES } from './boutique-model';
import { RATE_LIMITS } from './replayer';

export interface DemoConfig {
  /** Admin HTTP address: the page, /api/topology, /metrics. */
  admin: string;
  /** ALS gRPC address the replayed sidecars stream to. */
  listen: string;
  rate: number;
  seed: number;
  /** Seconds to run; undefined: until Ctrl-C. */
  durationSeconds: number | undefined;
  /** Window of the rates the page shows, in seconds. */
  windowSeconds: number;
}

interface Flag {
  key: keyof DemoConfig;
  default: string | undefined;
  help: string;
  parse: (raw: string, flag: string) => string | number;
}

export class DemoConfigError extends Error {}

const bad = (flag: string, raw: string, allowed: string) =>
  new DemoConfigError(`--${flag}: invalid value ${JSON.stringify(raw)}; allowed: ${allowed}`);

const address = (raw: string, flag: string): string => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[2]) > 65535) throw bad(flag, raw, 'host:port with a port 0-65535 (0: any free port)');
  return raw;
};

const number = (min: number, max: number, whole: boolean) => (raw: string, flag: string): number => {
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max) || (whole && !Number.isInteger(n))) {
    throw bad(flag, raw, `${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return n;
};

export const DEMO_FLAGS: Readonly<Record<string, Flag>> = {
  admin: { key: 'admin', default: '127.0.0.1:8080', parse: address, help: 'where the page is served (host:port; port 0: any free port)' },
  listen: { key: 'listen', default: '127.0.0.1:0', parse: address, help: 'the receiver\'s ALS gRPC address the replayed sidecars stream to' },
  rate: { key: 'rate', default: '5', parse: number(RATE_LIMITS.min, RATE_LIMITS.max, false), help: 'user actions per second (loadgenerator to frontend)' },
  seed: { key: 'seed', default: '1', parse: number(0, 0xffffffff, true), help: 'seed of the replay: the same seed replays the same traffic' },
  duration: { key: 'durationSeconds', default: undefined, parse: number(1, 7 * 24 * 3600, true), help: 'seconds to run (default: until Ctrl-C)' },
  window: { key: 'windowSeconds', default: '10', parse: number(1, 3600, true), help: 'window of the request rates shown, in seconds' },
};

export type ParsedDemoArgs = { help: true } | { help: false; config: DemoConfig };

export function parseDemoArgs(argv: readonly string[]): ParsedDemoArgs {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of Object.keys(DEMO_FLAGS)) options[name] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new DemoConfigError(`${(err as Error).message}. Allowed flags: ${Object.keys(DEMO_FLAGS).map((f) => `--${f}`).join(', ')}, --help`);
  }
  if (values.help) return { help: true };
  const config: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(DEMO_FLAGS)) {
    const raw = (values[name] as string | undefined) ?? flag.default;
    config[flag.key] = raw === undefined ? undefined : flag.parse(raw, name);
  }
  return { help: false, config: config as unknown as DemoConfig };
}

/** The distinct Istio versions the replayed sidecars run, oldest first. */
export function istioVersionsOnTheWire(): string[] {
  const versions = [...new Set(Object.values(ISTIO_RELEASES).map((r) => r.version))];
  const key = (v: string) => v.split('.').map(Number);
  return versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  });
}

export function demoHelpText(): string {
  const lines = [
    'Usage: npm run demo -- [flags]    (or: node receiver/dist/replay/demo.js [flags])',
    '',
    'The receiver (memory sink) fed by a replayed hybrid Online Boutique: pods and VMs, sidecars of',
    `Istio ${istioVersionsOnTheWire().join(' and ')}, each streaming ALS over gRPC. Open the printed address to see`,
    'the live topology and its history.',
    '',
  ];
  for (const [name, f] of Object.entries(DEMO_FLAGS)) {
    lines.push(`  --${`${name} <value>`.padEnd(18)} ${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}`);
  }
  lines.push(`  --${'help'.padEnd(18)} this text`);
  return lines.join('\n') + '\n';
}
