// The policy pack as the Pulumi CLI meets it: policy/index.ts started as its own process, announcing a
// loopback port, and asked over gRPC (pulumirpc.Analyzer, the protocol and generated client that ship in
// @pulumi/pulumi) to analyze resources, the way `pulumi preview` and `pulumi up` do. What comes back are
// the CLI's diagnostics: policy, message and enforcement level.
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import { AnalyzeRequest, AnalyzeResponse, AnalyzerResource, AnalyzerResourceOptions, AnalyzeStackRequest, EnforcementLevel } from '@pulumi/pulumi/proto/analyzer_pb';
import * as pulumi from '@pulumi/pulumi';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { REPO_ROOT } from '../infra/harness';

/** What the engine sends for a value not known until the update (the same sentinel as in Pulumi's wire protocol). */
export const UNKNOWN = pulumi.runtime.unknownValue;

export interface Diagnostic {
  policy: string;
  message: string;
  level: 'advisory' | 'mandatory' | 'other';
}

export interface Analyzer {
  analyze(type: string, props: Record<string, unknown>, stack?: string): Promise<Diagnostic[]>;
  /** The stack policies, over the root stack resource whose outputs are `outputs`. */
  analyzeStackOutputs(outputs: Record<string, unknown>, stack?: string): Promise<Diagnostic[]>;
  close(): void;
}

function diagnostics(resp: AnalyzeResponse): Diagnostic[] {
  return resp.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    level: d.getEnforcementlevel() === EnforcementLevel.ADVISORY ? 'advisory' : d.getEnforcementlevel() === EnforcementLevel.MANDATORY ? 'mandatory' : 'other',
  }));
}

/** Starts the pack's analyzer and connects to the port it announces. */
export async function startAnalyzer(): Promise<Analyzer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'index.ts'], { cwd: path.join(REPO_ROOT, 'policy'), stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0].trim());
    });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('exit', (code) => reject(new Error(`the analyzer exited with ${code}; stderr: ${err}`)));
  });
  const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (fn: (cb: (e: grpc.ServiceError | null, r: AnalyzeResponse) => void) => void) =>
    new Promise<Diagnostic[]>((resolve, reject) => fn((e, r) => (e ? reject(e) : resolve(diagnostics(r)))));
  const urnOf = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::meshscope::${type}::${name}`;
  return {
    analyze(type, props, stack = 'dev') {
      // The CLI always sends resource options; the SDK refuses a request without them.
      const req = new AnalyzeRequest().setType(type).setName('x').setUrn(urnOf(stack, type, 'x'))
        .setProperties(Struct.fromJavaScript(props as Record<string, any>)).setOptions(new AnalyzerResourceOptions());
      return call((cb) => client.analyze(req, cb));
    },
    analyzeStackOutputs(outputs, stack = 'dev') {
      const root = new AnalyzerResource().setType('pulumi:pulumi:Stack').setName(`meshscope-${stack}`)
        .setUrn(urnOf(stack, 'pulumi:pulumi:Stack', `meshscope-${stack}`)).setProperties(Struct.fromJavaScript(outputs as Record<string, any>))
        .setOptions(new AnalyzerResourceOptions());
      return call((cb) => client.analyzeStack(new AnalyzeStackRequest().setResourcesList([root]), cb));
    },
    close() {
      client.close();
      child.kill();
    },
  };
}
