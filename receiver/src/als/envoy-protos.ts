// Envoy's own ALS v3 protos, as shipped by @grpc/grpc-js-xds (deps/envoy-api and the deps it imports),
// loaded once. Nothing here is hand-written protocol: the decoded shapes below only name the fields the
// receiver reads, as @grpc/proto-loader produces them with LOADER_OPTIONS.
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import { createAlsDecoder } from './als-decoder';
import type { Int64Field, StreamAccessLogsMessage } from './access-log';

const XDS_DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

export const ENVOY_INCLUDE_DIRS = ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) =>
  path.join(XDS_DEPS, d),
);

/**
 * Envoy's messages keep snake_case; well-known types (Any, Struct, Timestamp …) stay camelCase. 64-bit
 * integers decode as numbers (exact up to 2^53); TCP byte counts beyond that are re-read exactly
 * (alsServiceDefinition), and stay exact from analysis to the OAP encoder (int64.ts).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  bytes: Buffer,
  includeDirs: ENVOY_INCLUDE_DIRS,
};

export const ALS_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';

let cached: { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } | undefined;

export function loadAlsProtos(): { definition: protoLoader.PackageDefinition; grpcObject: grpc.GrpcObject } {
  if (!cached) {
    const definition = protoLoader.loadSync('envoy/service/accesslog/v3/als.proto', LOADER_OPTIONS);
    cached = { definition, grpcObject: grpc.loadPackageDefinition(definition) };
  }
  return cached;
}

let service: grpc.ServiceDefinition | undefined;

/**
 * The AccessLogService definition, for `server.addService` and for test clients. Its decoder is the
 * fast one (als-decoder.ts), which gives what the reference decoder gives (referenceAlsDecoder) for the
 * fields the receiver reads, and keeps TCP byte counts exact beyond 2^53.
 */
export function alsServiceDefinition(): grpc.ServiceDefinition {
  if (!service) {
    const reference = referenceAlsDefinition();
    const method = reference.StreamAccessLogs!;
    service = { ...reference, StreamAccessLogs: { ...method, requestDeserialize: alsDecoders().fast.decode } };
  }
  return service;
}

let referenceService: grpc.ServiceDefinition | undefined;

/** proto-loader's own definition (decode + toObject of every field), TCP byte counts made exact. */
export function referenceAlsDefinition(): grpc.ServiceDefinition {
  referenceService ??= withExactTcpByteCounts(loadAlsProtos().definition[ALS_SERVICE] as grpc.ServiceDefinition);
  return referenceService;
}

let decoders: { fast: ReturnType<typeof createAlsDecoder>; reference: (bytes: Buffer) => StreamAccessLogsMessage } | undefined;

/** The fast decoder and the reference it is proven equal to (test/receiver/als-decoder.test.ts). */
export function alsDecoders(): NonNullable<typeof decoders> {
  if (!decoders) {
    const reference = referenceAlsDefinition().StreamAccessLogs!.requestDeserialize as (bytes: Buffer) => StreamAccessLogsMessage;
    decoders = { fast: createAlsDecoder(loadAlsRoot(), LOADER_OPTIONS, reference), reference };
  }
  return decoders;
}

/** The same .proto files as a protobufjs Root (what proto-loader builds inside), resolved. */
function loadAlsRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of ENVOY_INCLUDE_DIRS) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync('envoy/service/accesslog/v3/als.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

/**
 * Doubles hold a uint64 exactly only up to 2^53: a TCP message with a byte count that large (rare: 8 PiB)
 * is decoded once more with 64-bit integers as decimal strings, and its counts are taken from there.
 */
function withExactTcpByteCounts(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const method = def.StreamAccessLogs;
  if (!method) throw new Error(`${ALS_SERVICE} has no StreamAccessLogs method`);
  const decode = method.requestDeserialize as (bytes: Buffer) => StreamAccessLogsMessage;
  const requestDeserialize = (bytes: Buffer): StreamAccessLogsMessage => {
    const msg = decode(bytes);
    const entries = msg.tcp_logs?.log_entry;
    if (!entries?.some((e) => beyondDouble(e.connection_properties?.received_bytes) || beyondDouble(e.connection_properties?.sent_bytes))) {
      return msg;
    }
    const exact = exactDecoder()(bytes).tcp_logs?.log_entry ?? [];
    entries.forEach((e, i) => {
      const counts = exact[i]?.connection_properties;
      if (e.connection_properties && counts) Object.assign(e.connection_properties, counts);
    });
    return msg;
  };
  return { ...def, StreamAccessLogs: { ...method, requestDeserialize } };
}

const beyondDouble = (v: Int64Field | undefined): boolean => typeof v === 'number' && v > Number.MAX_SAFE_INTEGER;

let exact: ((bytes: Buffer) => StreamAccessLogsMessage) | undefined;

function exactDecoder(): (bytes: Buffer) => StreamAccessLogsMessage {
  if (!exact) {
    const definition = protoLoader.loadSync('envoy/service/accesslog/v3/als.proto', { ...LOADER_OPTIONS, longs: String });
    const method = (definition[ALS_SERVICE] as grpc.ServiceDefinition).StreamAccessLogs!;
    exact = method.requestDeserialize as (bytes: Buffer) => StreamAccessLogsMessage;
  }
  return exact;
}

// The shapes, for the modules that load or stream ALS messages and read them.
export type * from './access-log';
