import { strict as assert } from 'node:assert';
import { ConfigError, helpText, parseConfig, SETTINGS, splitHostPort, type ReceiverConfig } from '../../receiver/src/config';

const config = (argv: string[], env: NodeJS.ProcessEnv = {}): ReceiverConfig => {
  const parsed = parseConfig(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
};

describe('receiver config', () => {
  it('defaults to the ALS port 11800 and the admin port 8080 on loopback only', () => {
    const c = config([]);
    assert.deepEqual([c.listen, c.admin, c.sink, c.serviceNameRule, c.instanceNameRule], ['127.0.0.1:11800', '127.0.0.1:8080', 'memory', undefined, undefined]);
  });

  it('runs one worker unless told more by --workers or RECEIVER_WORKERS', () => {
    assert.equal(config([]).workers, 1);
    assert.equal(config(['--workers', '4']).workers, 4);
    assert.equal(config([], { RECEIVER_WORKERS: '2' }).workers, 2);
  });

  it('grants sidecars a 256 KiB HTTP/2 receive window unless --receive-window-bytes says otherwise, never below 64 KiB', () => {
    assert.equal(config([]).receiveWindowBytes, 262_144);
    assert.equal(config(['--receive-window-bytes', '1048576']).receiveWindowBytes, 1_048_576);
    assert.throws(() => config([], { RECEIVER_RECEIVE_WINDOW_BYTES: '1000' }), /allowed: a whole number from 65535/);
  });

  it('rejects a worker count of 0 or beyond 64, naming the range', () => {
    assert.throws(() => config(['--workers', '0']), /--workers: invalid value "0"; allowed: a whole number from 1 to 64/);
    assert.throws(() => config([], { RECEIVER_WORKERS: '65' }), /RECEIVER_WORKERS: invalid value "65"/);
  });

  it('defaults every addition to SkyWalking\'s meaning', () => {
    const c = config([]);
    assert.deepEqual([c.protocolDetection, c.peerlessCalls, c.instanceProperties, c.nodeWithoutMetadata],
      ['skywalking', 'skywalking', 'skywalking', 'skywalking']);
  });

  it('turns each addition on by its flag or its environment variable', () => {
    const byFlag = config(['--protocol-detection', 'grpc', '--peerless-calls', 'upstream-host', '--instance-properties', 'extended',
      '--node-without-metadata', 'node-id']);
    const byEnv = config([], { RECEIVER_PROTOCOL_DETECTION: 'grpc', RECEIVER_PEERLESS_CALLS: 'upstream-host',
      RECEIVER_INSTANCE_PROPERTIES: 'extended', RECEIVER_NODE_WITHOUT_METADATA: 'node-id' });
    for (const c of [byFlag, byEnv]) {
      assert.deepEqual([c.protocolDetection, c.peerlessCalls, c.instanceProperties, c.nodeWithoutMetadata],
        ['grpc', 'upstream-host', 'extended', 'node-id']);
    }
  });

  it('rejects an addition\'s unknown value, naming what is allowed', () => {
    assert.throws(() => config(['--peerless-calls', 'address']), /--peerless-calls: invalid value "address"; allowed: skywalking \| upstream-host/);
    assert.throws(() => config(['--protocol-detection', 'auto']), /allowed: skywalking \| grpc/);
  });

  it('reads every setting the stack relies on from its environment variable', () => {
    const c = config([], {
      RECEIVER_LISTEN: '127.0.0.1:9000', RECEIVER_ADMIN: '127.0.0.1:9001', RECEIVER_SINK: 'oap',
      RECEIVER_OAP_ADDRESS: 'skywalking-oap.skywalking:11800', RECEIVER_SERVICE_NAME_RULE: '${NAME}',
      RECEIVER_INSTANCE_NAME_RULE: '${NAME}.${NAMESPACE}',
    });
    assert.deepEqual([c.listen, c.admin, c.sink, c.oapAddress, c.serviceNameRule, c.instanceNameRule],
      ['127.0.0.1:9000', '127.0.0.1:9001', 'oap', 'skywalking-oap.skywalking:11800', '${NAME}', '${NAME}.${NAMESPACE}']);
  });

  it('lets a flag win over its environment variable', () => {
    assert.equal(config(['--listen', '127.0.0.1:1'], { RECEIVER_LISTEN: '127.0.0.1:2' }).listen, '127.0.0.1:1');
    assert.equal(config(['--batch-size=7'], { RECEIVER_BATCH_SIZE: '9' }).batchSize, 7);
  });

  it('treats an empty environment variable as unset', () => {
    assert.equal(config([], { RECEIVER_SINK: '' }).sink, 'memory');
  });

  it('ignores RECEIVER_* variables it does not know (Kubernetes injects service links such as RECEIVER_PORT)', () => {
    assert.equal(config([], { RECEIVER_PORT: 'tcp://10.0.0.1:11800', RECEIVER_SERVICE_HOST: '10.0.0.1' }).listen, '127.0.0.1:11800');
  });

  it('gives every setting a RECEIVER_ environment variable', () => {
    for (const s of SETTINGS) assert.match(s.env, /^RECEIVER_[A-Z_]+$/, s.flag);
  });

  it('accepts IPv6 listen addresses in brackets', () => {
    assert.equal(config(['--listen', '[::]:11800']).listen, '[::]:11800');
    assert.deepEqual(splitHostPort('[::1]:8080'), { host: '::1', port: 8080 });
  });

  it('rejects an unknown flag, naming it and every allowed flag', () => {
    assert.throws(() => config(['--lisen', 'x']), (e: Error) =>
      e instanceof ConfigError && /--lisen/.test(e.message) && /--listen, --admin, --sink, --oap-address/.test(e.message));
  });

  it('rejects a bad address, naming the flag, the value and the allowed form', () => {
    assert.throws(() => config(['--listen', 'localhost']), /--listen: invalid value "localhost"; allowed: host:port/);
    assert.throws(() => config(['--admin', '0.0.0.0:70000']), /--admin: invalid value "0.0.0.0:70000"/);
  });

  it('rejects a bad value that came from the environment, naming the variable', () => {
    assert.throws(() => config([], { RECEIVER_SINK: 'kafka' }), /RECEIVER_SINK: invalid value "kafka"; allowed: oap \| memory \| jsonl/);
  });

  it('rejects a number out of range or not a number, naming the range', () => {
    assert.throws(() => config(['--queue-capacity', '0']), /--queue-capacity: invalid value "0"; allowed: a whole number from 1 to/);
    assert.throws(() => config(['--batch-size', '12abc']), /--batch-size: invalid value "12abc"/);
  });

  it('rejects a log level outside the known ones', () => {
    assert.throws(() => config(['--log-level', 'verbose']), /allowed: debug \| info \| warn \| error/);
  });

  it('requires the OAP address with the oap sink', () => {
    assert.throws(() => config(['--sink', 'oap']), /--sink oap needs the OAP address: set --oap-address or RECEIVER_OAP_ADDRESS/);
  });

  it('rejects positional arguments', () => {
    assert.throws(() => config(['oap']), ConfigError);
  });

  it('answers --help without validating anything else', () => {
    assert.deepEqual(parseConfig(['--help'], { RECEIVER_SINK: 'nonsense' }), { help: true });
  });

  it('lists every flag and its environment variable in the help text', () => {
    const text = helpText();
    for (const s of SETTINGS) {
      assert.ok(text.includes(`--${s.flag} `), s.flag);
      assert.ok(text.includes(s.env), s.env);
    }
  });
  it('ages ALS connections after 5 minutes with a 90 s grace by default', () => {
    const c = config([]);
    assert.deepEqual([c.maxConnectionAgeMs, c.maxConnectionAgeGraceMs, c.oapReresolveMs], [300_000, 90_000, 30_000]);
  });

  it('reads the connection age and its grace from RECEIVER_MAX_CONNECTION_AGE_MS and _GRACE_MS', () => {
    const c = config([], { RECEIVER_MAX_CONNECTION_AGE_MS: '60000', RECEIVER_MAX_CONNECTION_AGE_GRACE_MS: '15000' });
    assert.deepEqual([c.maxConnectionAgeMs, c.maxConnectionAgeGraceMs], [60_000, 15_000]);
  });

  it('rejects a grace shorter than a fifth of the age plus a second, naming both and the least allowed grace', () => {
    assert.throws(() => config(['--max-connection-age-ms', '60000', '--max-connection-age-grace-ms', '12999']),
      (e: unknown) => e instanceof ConfigError && /--max-connection-age-grace-ms 12999/.test(e.message) && /at least a fifth of the age plus 1000 ms \(13000\)/.test(e.message));
    assert.equal(config(['--max-connection-age-ms', '60000', '--max-connection-age-grace-ms', '13000']).maxConnectionAgeGraceMs, 13_000);
  });

  it('takes any grace when connections never age (age 0)', () => {
    assert.equal(config(['--max-connection-age-ms', '0', '--max-connection-age-grace-ms', '0']).maxConnectionAgeMs, 0);
  });

  it('accepts a dns:/// OAP target and an ipv4: list of OAP addresses', () => {
    for (const target of ['dns:///skywalking-oap-grpc.skywalking.svc.cluster.local:11800', 'dns:oap:11800', 'ipv4:127.0.0.2:11800,127.0.0.3:11800']) {
      assert.equal(config(['--sink', 'oap', '--oap-address', target]).oapAddress, target);
    }
  });

  it('rejects an OAP target in another scheme or without a port, naming the forms allowed', () => {
    for (const target of ['http://oap:11800', 'dns:///oap', 'ipv4:127.0.0.2', 'ipv4:oap:11800']) {
      assert.throws(() => config(['--sink', 'oap', '--oap-address', target]),
        (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(target)) && /dns:\/\/\/host:port or ipv4:/.test(e.message));
    }
  });
});
