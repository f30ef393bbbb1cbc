// renderVmBootstrap: what a VM gets as metadata, and what it refuses to render.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { vmBootstrapRbacRules } from "../../vm-bootstrap/cluster-access";
import { literalEnvFile, shellEnvFile } from "../../vm-bootstrap/env-file";
import { metadataPrefix } from "../../vm-bootstrap/metadata-keys";
import { renderVmBootstrap, VmBootstrapInput } from "../../vm-bootstrap/render";
import { namespace, vmInput } from "./inputs";

const caPem = execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", "/dev/null", "-days", "1", "-subj", "/CN=meshscope-render-test"], { stdio: ["ignore", "pipe", "ignore"] }).toString();
const cluster = { endpoint: "34.118.0.5", caCertPem: caPem };
const checkout = () => vmInput("checkoutservice", cluster);
const payment = () => vmInput("paymentservice", cluster);

const script = (name: string) => readFileSync(join(__dirname, "../../vm-bootstrap", name), "utf8");

function meshConfig(input: VmBootstrapInput) {
    return YAML.parse(renderVmBootstrap(input).metadata["meshscope-mesh-config"]).defaultConfig;
}

/** cluster.env as bash reads it (istio-start.sh sources it): name -> value. */
function sourcedClusterEnv(input: VmBootstrapInput): Record<string, string> {
    const dir = mkdtempSync(join(tmpdir(), "meshscope-env-"));
    try {
        const file = join(dir, "cluster.env");
        const text = renderVmBootstrap(input).metadata["meshscope-cluster-env"];
        writeFileSync(file, text);
        const names = text.split("\n").filter((line) => line !== "").map((line) => line.slice(0, line.indexOf("=")));
        const out = execFileSync("bash", ["-c", `. "$1"; shift; for n in "$@"; do printf '%s\\0%s\\0' "$n" "\${!n}"; done`, "bash", file, ...names]).toString();
        const fields = out.split("\0").slice(0, -1);
        const env: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) env[fields[i]] = fields[i + 1];
        return env;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

describe("renderVmBootstrap", () => {
    it("makes launcher.sh the startup script, in metadata where GCE updates it in place, the same for every VM", () => {
        const launcher = script("launcher.sh");
        for (const rendered of [renderVmBootstrap(checkout()), renderVmBootstrap(payment())]) {
            assert.equal(rendered.startupScript, launcher);
            assert.equal(rendered.metadata["startup-script"], launcher);
        }
    });

    it("carries the agent and the bootstrap as the attributes the launcher and the agent read", () => {
        const metadata = renderVmBootstrap(checkout()).metadata;
        assert.equal(metadata["meshscope-agent"], script("agent.sh"));
        assert.equal(metadata["meshscope-bootstrap"], script("bootstrap.sh"));
        assert.match(script("launcher.sh"), /instance\/attributes\/meshscope-agent"/);
        assert.match(script("agent.sh"), /attribute meshscope-bootstrap /);
    });

    it("stays within GCE's metadata limits: 256 KB a value, 512 KB in all", () => {
        const metadata = renderVmBootstrap(checkout()).metadata;
        const sizes = Object.values(metadata).map((value) => Buffer.byteLength(value));
        assert.ok(Math.max(...sizes) <= 256 * 1024, String(Math.max(...sizes)));
        const total = Object.entries(metadata).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
        assert.ok(total <= 512 * 1024, String(total));
    });

    it("emits exactly the meshscope-* inputs bootstrap.sh requires besides the scripts, none empty", () => {
        const required = /readonly REQUIRED_ATTRS=\(([^)]*)\)/.exec(script("bootstrap.sh"))?.[1].trim().split(/\s+/) ?? [];
        const metadata = renderVmBootstrap(checkout()).metadata;
        const inputs = Object.keys(metadata).filter((key) => !["startup-script", "meshscope-agent", "meshscope-bootstrap", "meshscope-status-report"].includes(key));
        assert.deepEqual(inputs.sort(), required.map((name) => metadataPrefix + name).sort());
        for (const [key, value] of Object.entries(metadata)) assert.notEqual(value.trim(), "", key);
    });

    it("names the pinned Online Boutique image of the workload", () => {
        assert.equal(renderVmBootstrap(payment()).metadata["meshscope-workload-image"],
            "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/paymentservice:v0.10.6");
    });

    it("points the sidecar at istiod on port 15012 by its service name", () => {
        assert.equal(meshConfig(checkout()).discoveryAddress, "istiod.istio-system.svc:15012");
        assert.equal(renderVmBootstrap(checkout()).metadata["meshscope-istiod-host"], "istiod.istio-system.svc");
    });

    it("sends the sidecar's access logs to the receiver's internal load balancer IP:port", () => {
        assert.deepEqual(meshConfig(checkout()).envoyAccessLogService, { address: "10.128.0.30:11800" });
    });

    it("turns on DNS capture in proxyMetadata, as istioctl does", () => {
        assert.equal(meshConfig(checkout()).proxyMetadata.ISTIO_META_DNS_CAPTURE, "true");
    });

    it("leaves out ISTIO_META_DNS_AUTO_ALLOCATE, which Istio 1.30 deprecates for istiod's own address allocation", () => {
        assert.ok(!("ISTIO_META_DNS_AUTO_ALLOCATE" in meshConfig(checkout()).proxyMetadata));
        assert.doesNotMatch(renderVmBootstrap(checkout()).metadata["meshscope-cluster-env"], /DNS_AUTO_ALLOCATE/);
    });

    it("carries the WorkloadGroup's probe as defaultConfig.readinessProbe, as istioctl copies it", () => {
        const input = checkout();
        input.workload.readinessProbe = { grpc: { port: 5050 }, periodSeconds: 5, failureThreshold: 2 };
        assert.deepEqual(meshConfig(input).readinessProbe, { grpc: { port: 5050 }, periodSeconds: 5, failureThreshold: 2 });
    });

    it("probes the workload's TCP port every 10 s when no probe is given", () => {
        assert.deepEqual(meshConfig(payment()).readinessProbe, { tcpSocket: { port: 50051 }, periodSeconds: 10 });
    });

    it("names its WorkloadEntry (ISTIO_META_WORKLOAD_ENTRY) so istiod applies the probe's reports to it", () => {
        assert.equal(meshConfig(checkout()).proxyMetadata.ISTIO_META_WORKLOAD_ENTRY, "checkoutservice");
    });

    it("names no WorkloadEntry when istiod registers one itself", () => {
        assert.equal(meshConfig({ ...checkout(), autoRegister: true }).proxyMetadata.ISTIO_META_WORKLOAD_ENTRY, undefined);
    });

    it("carries mesh id, cluster id, network, workload, namespace, service account and trust domain like istioctl", () => {
        const config = meshConfig(checkout());
        assert.equal(config.meshId, "mesh1");
        assert.deepEqual(
            [config.proxyMetadata.ISTIO_META_MESH_ID, config.proxyMetadata.ISTIO_META_CLUSTER_ID, config.proxyMetadata.ISTIO_META_NETWORK,
                config.proxyMetadata.ISTIO_META_WORKLOAD_NAME, config.proxyMetadata.POD_NAMESPACE, config.proxyMetadata.SERVICE_ACCOUNT,
                config.proxyMetadata.TRUST_DOMAIN],
            ["mesh1", "meshscope-dev", "", "checkoutservice", namespace, "checkoutservice", "cluster.local"]);
    });

    it("declares the workload's port, named for its protocol, in ISTIO_META_POD_PORTS", () => {
        assert.deepEqual(JSON.parse(meshConfig(payment()).proxyMetadata.ISTIO_META_POD_PORTS), [{ name: "grpc", containerPort: 50051 }]);
    });

    it("derives the canonical service and revision from the app and version labels", () => {
        const metadata = meshConfig(checkout()).proxyMetadata;
        assert.equal(metadata.CANONICAL_SERVICE, "checkoutservice");
        assert.equal(metadata.CANONICAL_REVISION, "v0.10.6");
        assert.deepEqual(JSON.parse(metadata.ISTIO_METAJSON_LABELS), {
            app: "checkoutservice",
            version: "v0.10.6",
            "service.istio.io/canonical-name": "checkoutservice",
            "service.istio.io/canonical-revision": "v0.10.6",
        });
    });

    it("falls back to the workload name and 'latest' when no label names them", () => {
        const input = checkout();
        input.workload.labels = {};
        const metadata = meshConfig(input).proxyMetadata;
        assert.deepEqual([metadata.CANONICAL_SERVICE, metadata.CANONICAL_REVISION], ["checkoutservice", "latest"]);
    });

    it("asks istiod to register the VM only when auto-registration is on", () => {
        assert.equal(meshConfig(checkout()).proxyMetadata.ISTIO_META_AUTO_REGISTER_GROUP, undefined);
        assert.equal(meshConfig({ ...checkout(), autoRegister: true }).proxyMetadata.ISTIO_META_AUTO_REGISTER_GROUP, "checkoutservice");
    });

    it("writes cluster.env with istioctl's workload keys on top of proxyMetadata, as bash reads it", () => {
        const env = sourcedClusterEnv(checkout());
        const proxyMetadata = meshConfig(checkout()).proxyMetadata;
        assert.deepEqual(env, {
            ...proxyMetadata,
            ISTIO_INBOUND_PORTS: "5050",
            ISTIO_NAMESPACE: namespace,
            ISTIO_SERVICE: `checkoutservice.${namespace}`,
            ISTIO_SERVICE_CIDR: "*",
            ISTIO_LOCAL_EXCLUDE_PORTS: "22,15090,15021,15020",
            ISTIO_SERVICE_EXCLUDE_CIDR: "169.254.169.254/32,34.118.0.5/32",
            ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: "root",
            SERVICE_ACCOUNT: "checkoutservice",
        });
    });

    it("keeps the metadata server and the cluster endpoint of the stack out of the sidecar's capture, and root's connections", () => {
        const input = checkout();
        input.cluster.endpoint = "10.0.0.2:443";
        const env = sourcedClusterEnv(input);
        assert.equal(env.ISTIO_SERVICE_EXCLUDE_CIDR, "169.254.169.254/32,10.0.0.2/32");
        assert.equal(env.ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE, "root");
    });

    it("leaves a DNS-named cluster endpoint (GKE's DNS-based endpoint) to the owner-group exclusion: it has no fixed range", () => {
        const input = checkout();
        input.cluster.endpoint = "gke-0123456789abcdef.europe-west1.gke.goog";
        const env = sourcedClusterEnv(input);
        assert.equal(env.ISTIO_SERVICE_EXCLUDE_CIDR, "169.254.169.254/32");
        assert.equal(env.ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE, "root");
    });


    it("sorts cluster.env lines and quotes only what the shell would change", () => {
        const lines = renderVmBootstrap(checkout()).metadata["meshscope-cluster-env"].trimEnd().split("\n");
        assert.deepEqual(lines, [...lines].sort());
        assert.ok(lines.includes("ISTIO_SERVICE_CIDR='*'"), lines.join("\n"));
        assert.ok(lines.includes("ISTIO_INBOUND_PORTS=5050"), lines.join("\n"));
    });

    it("keeps JSON labels and a dotted network intact through bash", () => {
        const input = checkout();
        input.workload.labels = { app: "checkoutservice", "app.kubernetes.io/part-of": "online-boutique" };
        input.cluster.network = "net.1";
        const env = sourcedClusterEnv(input);
        assert.equal(JSON.parse(env.ISTIO_METAJSON_LABELS)["app.kubernetes.io/part-of"], "online-boutique");
        assert.equal(env.ISTIO_META_NETWORK, "net.1");
    });

    it("writes the workload env for podman literally, one NAME=value a line", () => {
        assert.equal(renderVmBootstrap(payment()).metadata["meshscope-workload-env"], "PORT=50051\nDISABLE_PROFILER=1\n");
    });

    it("keeps the cluster CA as PEM ending in a newline", () => {
        const metadata = renderVmBootstrap({ ...checkout(), cluster: { ...checkout().cluster, caCertPem: caPem.trimEnd() } }).metadata;
        assert.equal(metadata["meshscope-cluster-ca-cert"], caPem.trimEnd() + "\n");
    });

    describe("rejects a bad input, naming the field, the value and what is allowed", () => {
        const base64Ca = Buffer.from(caPem).toString("base64");
        const cases: Array<[string, (input: VmBootstrapInput) => void, RegExp]> = [
            ["a cluster endpoint with a scheme", (i) => { i.cluster.endpoint = "https://34.118.0.5"; }, /cluster\.endpoint = "https:\/\/34\.118\.0\.5" is invalid: expected an IPv4 address or DNS name/],
            ["a base64 cluster CA", (i) => { i.cluster.caCertPem = base64Ca; }, /cluster\.caCertPem = ".*" is invalid: expected a PEM certificate .*decode GKE's base64/],
            ["a PEM cluster CA that does not parse", (i) => { i.cluster.caCertPem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"; }, /cluster\.caCertPem .* is invalid: expected a PEM certificate that parses/],
            ["an ALS address by cluster DNS name", (i) => { i.receiverAlsAddress = "skywalking-oap.istio-system.svc.cluster.local:11800"; }, /receiverAlsAddress = "skywalking-oap\.istio-system\.svc\.cluster\.local:11800" is invalid: expected an IPv4 address and port .*cannot resolve cluster DNS/],
            ["an ALS address without a port", (i) => { i.receiverAlsAddress = "10.128.0.30"; }, /receiverAlsAddress = "10\.128\.0\.30" is invalid/],
            ["an east-west gateway IP out of range", (i) => { i.eastWestGatewayIp = "10.128.0.256"; }, /eastWestGatewayIp = "10\.128\.0\.256" is invalid: expected an IPv4 address/],
            ["a workload name that is not a DNS label", (i) => { i.workload.name = "Checkout_Service"; }, /workload\.name = "Checkout_Service" is invalid: expected a DNS label/],
            ["a namespace that is not a DNS label", (i) => { i.workload.namespace = "boutique.prod"; }, /workload\.namespace = "boutique\.prod" is invalid: expected a DNS label/],
            ["a port out of range", (i) => { i.workload.port = 70000; }, /workload\.port = 70000 is invalid: expected an integer port 1\.\.65535/],
            ["a probe with two handlers", (i) => { i.workload.readinessProbe = { tcpSocket: { port: 5050 }, grpc: { port: 5050 } }; }, /workload\.readinessProbe handlers = \["tcpSocket","grpc"\] is invalid: expected exactly one of httpGet, tcpSocket, grpc, exec/],
            ["a probe with no handler", (i) => { i.workload.readinessProbe = { periodSeconds: 10 }; }, /workload\.readinessProbe handlers = \[\] is invalid: expected exactly one of/],
            ["a probe port out of range", (i) => { i.workload.readinessProbe = { tcpSocket: { port: 0 } }; }, /workload\.readinessProbe\.tcpSocket\.port = 0 is invalid: expected an integer port/],
            ["a negative probe period", (i) => { i.workload.readinessProbe = { tcpSocket: { port: 5050 }, periodSeconds: -1 }; }, /workload\.readinessProbe\.periodSeconds = -1 is invalid: expected a whole number/],
            ["an unknown protocol", (i) => { (i.workload as { protocol: string }).protocol = "udp"; }, /workload\.protocol = "udp" is invalid: expected one of grpc, http, http2, tcp/],
            ["an Istio version that is not x.y.z", (i) => { i.versions.istio = "1.31"; }, /versions\.istio = "1\.31" is invalid: expected a version like 1\.31\.0/],
            ["an Online Boutique version without its v", (i) => { i.versions.onlineBoutique = "0.10.6"; }, /versions\.onlineBoutique = "0\.10\.6" is invalid: expected a version like v0\.10\.6/],
            ["an env name that is not a shell name", (i) => { i.workload.env = { "1PORT": "5050" }; }, /workload\.env key = "1PORT" is invalid: expected an environment variable name/],
            ["an env value with a newline", (i) => { i.workload.env = { PORT: "5050\nEVIL=1" }; }, /workload\.env\[PORT\] = "5050\\nEVIL=1" is invalid: expected a string without newlines/],
            ["an empty env", (i) => { i.workload.env = {}; }, /workload\.env = \{\} is invalid: expected at least one variable/],
            ["a label name with a space", (i) => { i.workload.labels = { "my app": "x" }; }, /workload\.labels key = "my app" is invalid: expected a Kubernetes label name/],
            ["an empty cluster id", (i) => { i.cluster.clusterId = ""; }, /cluster\.clusterId = "" is invalid: expected an id/],
            ["a service account with capitals", (i) => { i.workload.serviceAccount = "Checkout"; }, /workload\.serviceAccount = "Checkout" is invalid: expected a DNS name/],
        ];
        for (const [what, spoil, message] of cases) {
            it(`rejects ${what}`, () => {
                const input = checkout();
                spoil(input);
                assert.throws(() => renderVmBootstrap(input), message);
            });
        }
    });
});

describe("env files", () => {
    it("shell-quotes values so bash reads quotes, dollars, backticks and spaces back unchanged", () => {
        const value = "it's $HOME `id` a\\b \"q\" *";
        const out = execFileSync("bash", ["-c", 'eval "$1"; printf %s "$V"', "bash", shellEnvFile({ V: value })]).toString();
        assert.equal(out, value);
    });

    it("leaves shell-safe values bare and quotes an empty one", () => {
        assert.equal(shellEnvFile({ B: "a.b:c/d,e=f@g%h+i-j_k", A: "" }), "A=''\nB=a.b:c/d,e=f@g%h+i-j_k\n");
    });

    it("writes podman env lines without quoting, since podman would keep the quotes", () => {
        assert.equal(literalEnvFile({ A: "x y", B: "'q'" }), "A=x y\nB='q'\n");
    });
});

describe("vmBootstrapRbacRules", () => {
    it("allows creating the token of the one service account and getting the one root cert ConfigMap, nothing else", () => {
        assert.deepEqual(vmBootstrapRbacRules("paymentservice"), [
            { apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["paymentservice"], verbs: ["create"] },
            { apiGroups: [""], resources: ["configmaps"], resourceNames: ["istio-ca-root-cert"], verbs: ["get"] },
        ]);
    });
});
