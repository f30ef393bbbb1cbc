// bootstrap.sh really run with bash, per VM workload, in a throwaway root against loopback fakes of the
// GCE metadata server and the Kubernetes API, with package/unit/ownership/firewall commands shimmed.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import YAML from "yaml";
import { boutiqueService } from "../../catalog/src/online-boutique";
import { renderVmBootstrap, VmBootstrap } from "../../vm-bootstrap/render";
import { FakeGcp, jwtClaims, useFakeGcp } from "./fake-gcp";
import { namespace, VM_SERVICES, vmInput, VmServiceName } from "./inputs";
import { HANG_GUARD_MS, RunResult, Sandbox } from "./sandbox";

// Every apt-get call waits for the dpkg lock the image's unattended-upgrades may hold at first boot.
const aptGet = "apt-get -q -o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root";
const istiodLine = /^(\S+)\s+istiod\.istio-system\.svc$/;
const tokenPath = "var/run/secrets/tokens/istio-token";
const bootstrapOf = (rendered: VmBootstrap) => rendered.metadata["meshscope-bootstrap"];
/** What the workload's uid may not reach: the metadata server, on every TCP port but DNS. */
const guardRule = (uid: string) => `-p tcp -m owner --uid-owner ${uid} -m conntrack --ctorigdst 169.254.169.254/32 ! --ctorigdstport 53 -j REJECT --reject-with tcp-reset`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const restartsOrStarts = (calls: string[]) => calls.filter((call) => /^systemctl (enable|start|restart|stop)/.test(call));

describe("bootstrap.sh run in a throwaway root", function () {
    this.timeout(HANG_GUARD_MS);
    const fake = useFakeGcp();

    before(() => {
        // The VM installs jq itself; here the apt-get shim only pretends, so the real one must exist.
        if (spawnSync("jq", ["--version"]).error) throw new Error("jq is not installed: apt-get install -y jq (the boot script reads the Kubernetes API's JSON with it)");
    });

    function render(name: VmServiceName, caCertPem = fake.pki.clusterCaPem): VmBootstrap {
        const rendered = renderVmBootstrap(vmInput(name, { endpoint: fake.gcp.kubeEndpoint, caCertPem }));
        fake.gcp.reset();
        fake.gcp.attributes = { ...rendered.metadata };
        fake.gcp.grant = { namespace, serviceAccount: name };
        return rendered;
    }

    for (const name of VM_SERVICES) {
        describe(`for ${name}`, () => {
            const unit = `meshscope-${name}.service`;
            let sandbox: Sandbox;
            let rendered: VmBootstrap;
            let first: RunResult;
            let second: RunResult;
            let firstCalls: string[];
            let secondCalls: string[];
            let afterFirst: Record<string, string>;
            let afterSecond: Record<string, string>;
            let kubeRequests: FakeGcp["requests"];
            let guardAfterFirst: { chain: string[]; output: string[] };
            let mintedFirst: string[];
            let mintedSecond: string[];
            let activeAtBoot: string[];
            let afterReboot: RunResult;
            let rebootCalls: string[];

            before(async () => {
                // A stale istiod line from an earlier gateway address must be replaced, not kept.
                sandbox = new Sandbox("127.0.0.1 localhost\n10.9.9.9 istiod.istio-system.svc\n::1 ip6-localhost\n");
                rendered = render(name);
                first = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
                kubeRequests = fake.gcp.requests.filter((request) => request.server === "kube");
                firstCalls = sandbox.calls();
                afterFirst = sandbox.snapshot();
                mintedFirst = [...fake.gcp.minted];
                guardAfterFirst = { chain: sandbox.iptables("MESHSCOPE-NO-METADATA"), output: sandbox.iptables("OUTPUT") };
                second = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
                secondCalls = sandbox.calls().slice(firstCalls.length);
                afterSecond = sandbox.snapshot();
                mintedSecond = fake.gcp.minted.slice(mintedFirst.length);
                activeAtBoot = sandbox.reboot();
                const before = sandbox.calls().length;
                afterReboot = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
                rebootCalls = sandbox.calls().slice(before);
            });

            after(() => sandbox.remove());

            it("exits 0 on the first run", () => {
                assert.equal(first.code, 0, first.stderr);
            });

            it("installs podman and jq with apt-get", () => {
                assert.ok(firstCalls.includes(`${aptGet} install -y --no-install-recommends podman jq`), firstCalls.join("\n"));
            });

            it("downloads the pinned istio-sidecar.deb and the checksum published next to it from the Istio release bucket", () => {
                const url = "https://storage.googleapis.com/istio-release/releases/1.31.0/deb/istio-sidecar.deb";
                assert.deepEqual(firstCalls.filter((call) => call.startsWith("curl-download")), [`curl-download ${url}`, `curl-download ${url}.sha256`]);
            });

            it("bounds each download in time: connect, stall (speed over a window), each attempt and all retries", () => {
                for (const call of sandbox.shimState("curl-args")) {
                    for (const option of ["--connect-timeout 10", "--speed-limit 10240 --speed-time 60", "--max-time 600", "--retry-max-time 1200"]) {
                        assert.ok(call.includes(option), `${option} missing from: ${call}`);
                    }
                }
            });

            it("checks the deb against the published checksum before installing it", () => {
                assert.match(sandbox.journal(), /^meshscope-bootstrap: istio-sidecar\.deb 1\.31\.0 matches SHA-256 [0-9a-f]{64}$/m);
            });

            it("installs the downloaded deb with apt-get so its dependencies come along, older versions allowed", () => {
                const deb = join(sandbox.root, "var/cache/meshscope/istio-sidecar-1.31.0.deb");
                assert.ok(firstCalls.includes(`${aptGet} install -y --no-install-recommends --allow-downgrades ${deb}`), firstCalls.join("\n"));
            });

            it("writes cluster.env exactly as rendered, mode 644", () => {
                assert.equal(sandbox.file("var/lib/istio/envoy/cluster.env"), rendered.metadata["meshscope-cluster-env"]);
                assert.equal(sandbox.mode("var/lib/istio/envoy/cluster.env"), "644");
            });

            it("writes the mesh config with the receiver's IP:port as the ALS address, mode 644", () => {
                const mesh = YAML.parse(sandbox.file("etc/istio/config/mesh"));
                assert.equal(mesh.defaultConfig.envoyAccessLogService.address, "10.128.0.30:11800");
                assert.equal(mesh.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE, "true");
                assert.equal(sandbox.mode("etc/istio/config/mesh"), "644");
            });

            it("writes the mesh root certificate read from ConfigMap istio-ca-root-cert", () => {
                assert.equal(sandbox.file("etc/certs/root-cert.pem"), fake.pki.meshRootPem);
                assert.equal(sandbox.mode("etc/certs/root-cert.pem"), "644");
            });

            it("writes the token the TokenRequest returned, without a newline, mode 600", () => {
                assert.equal(mintedFirst.length, 1);
                assert.equal(afterFirst[tokenPath].split(" ")[0], sha256(mintedFirst[0]));
                assert.equal(jwtClaims(mintedFirst[0]).sub, `system:serviceaccount:${namespace}:${name}`);
                assert.equal(afterFirst[tokenPath].split(" ")[1], "600");
            });

            it("asks the Kubernetes API for an istio-ca token of one hour with a Google access token of this VM", () => {
                const post = kubeRequests.find((request) => request.method === "POST");
                assert.ok(post, "no TokenRequest reached the API");
                assert.equal(post.path, `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`);
                assert.match(post.headers.authorization ?? "", /^Bearer ya29\.meshscope-test-access-token-\d+$/);
                assert.deepEqual(JSON.parse(post.body).spec, { audiences: ["istio-ca"], expirationSeconds: 3600 });
            });

            it("asks the metadata server for a new access token for every API call", () => {
                const bearers = kubeRequests.map((request) => request.headers.authorization);
                assert.equal(new Set(bearers).size, bearers.length, bearers.join("\n"));
            });

            it("keeps the cluster CA it verified the API with in /etc/meshscope", () => {
                assert.equal(sandbox.file("etc/meshscope/cluster-ca.pem"), fake.pki.clusterCaPem);
            });

            it("replaces the stale istiod hosts line with the east-west gateway's, keeping the others", () => {
                const lines = sandbox.file("etc/hosts").split("\n").filter((line) => line !== "");
                assert.deepEqual(lines.filter((line) => istiodLine.test(line)), ["10.128.0.20 istiod.istio-system.svc"]);
                assert.deepEqual(lines.filter((line) => !istiodLine.test(line)), ["127.0.0.1 localhost", "::1 ip6-localhost"]);
            });

            it("hands the sidecar's files to istio-proxy", () => {
                const r = sandbox.root;
                assert.ok(firstCalls.includes(`chown -R istio-proxy:istio-proxy ${r}/var/lib/istio ${r}/etc/certs ${r}/etc/istio/proxy ${r}/etc/istio/config ${r}/var/run/secrets`),
                    firstCalls.filter((call) => call.startsWith("chown")).join("\n"));
                assert.ok(sandbox.exists("etc/istio/proxy"));
            });

            it("holds istio.service back at boot until the token it needs exists", () => {
                assert.equal(sandbox.file("etc/systemd/system/istio.service.d/10-meshscope.conf"),
                    "[Unit]\nConditionPathExists=/var/run/secrets/tokens/istio-token\n");
            });

            it("reloads systemd after installing the sidecar and its drop-in", () => {
                const install = firstCalls.findIndex((call) => call.includes("istio-sidecar-1.31.0.deb"));
                const reload = firstCalls.indexOf("systemctl daemon-reload");
                assert.ok(install >= 0 && reload > install, firstCalls.join("\n"));
                assert.ok(reload < firstCalls.indexOf("systemctl enable --now istio.service"), firstCalls.join("\n"));
            });

            it("enables and starts istio.service after its files are in place", () => {
                const enable = firstCalls.indexOf("systemctl enable --now istio.service");
                assert.ok(enable >= 0, firstCalls.join("\n"));
                assert.ok(firstCalls.findIndex((call) => call.startsWith("chown")) < enable);
            });

            it("writes the workload's env file as rendered, mode 640", () => {
                assert.equal(sandbox.file(`etc/meshscope/${name}.env`), rendered.metadata["meshscope-workload-env"]);
                assert.match(sandbox.file(`etc/meshscope/${name}.env`), new RegExp(`^PORT=${boutiqueService(name).containerPort}$`, "m"));
                assert.equal(sandbox.mode(`etc/meshscope/${name}.env`), "640");
            });

            it("writes a systemd unit that runs the pinned image with podman on the host network, restarted always", () => {
                const text = sandbox.file(`etc/systemd/system/${unit}`);
                const image = `us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/${name}:v0.10.6`;
                assert.match(text, /^Restart=always$/m);
                const exec = /^ExecStart=(.*)$/m.exec(text)?.[1] ?? "";
                assert.ok(exec.startsWith("/usr/bin/podman run "), exec);
                assert.ok(exec.includes(" --network host "), exec);
                assert.ok(exec.includes(` --env-file /etc/meshscope/${name}.env `), exec);
                assert.ok(exec.endsWith(` ${image}`), exec);
            });

            it("binds the workload unit to istio.service, after it and under the same token condition", () => {
                const text = sandbox.file(`etc/systemd/system/${unit}`);
                assert.match(text, /^BindsTo=istio\.service$/m);
                assert.match(text, /^After=network-online\.target istio\.service$/m);
                assert.match(text, /^ConditionPathExists=\/var\/run\/secrets\/tokens\/istio-token$/m);
            });

            it("runs the container as its own system user, created once", () => {
                assert.deepEqual(firstCalls.filter((call) => call.startsWith("useradd")),
                    ["useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin meshscope-app"]);
                assert.ok(sandbox.file(`etc/systemd/system/${unit}`).includes(" --user 999:999 "));
                assert.deepEqual(secondCalls.filter((call) => call.startsWith("useradd")), []);
            });

            it("rejects the workload user's TCP connections to the metadata server, checked before any other OUTPUT rule", () => {
                assert.deepEqual(guardAfterFirst.chain, [guardRule("999")]);
                assert.equal(guardAfterFirst.output[0], "-j MESHSCOPE-NO-METADATA");
            });

            it("adds no second copy of the metadata rule on the second run", () => {
                assert.deepEqual(sandbox.iptables("MESHSCOPE-NO-METADATA"), [guardRule("999")]);
                assert.deepEqual(sandbox.iptables("OUTPUT"), ["-j MESHSCOPE-NO-METADATA"]);
            });

            it("reloads systemd and enables and starts the workload unit", () => {
                const reload = firstCalls.lastIndexOf("systemctl daemon-reload");
                const enable = firstCalls.indexOf(`systemctl enable --now ${unit}`);
                assert.ok(reload >= 0 && enable > reload, firstCalls.join("\n"));
            });

            it("logs its progress to the journal under meshscope-bootstrap", () => {
                assert.match(sandbox.journal(), new RegExp(`^meshscope-bootstrap: done: istio.service and ${unit} are enabled and running$`, "m"));
            });

            it("exits 0 on the second run", () => {
                assert.equal(second.code, 0, second.stderr);
            });

            it("leaves every file byte-identical and untouched on the second run", () => {
                assert.deepEqual(afterSecond, afterFirst);
            });

            it("installs, downloads, reloads, enables, starts and restarts nothing on the second run", () => {
                const changing = secondCalls.filter((call) => /^(apt-get|curl-download|dpkg |podman)|^systemctl (enable|start|restart|daemon-reload)/.test(call));
                assert.deepEqual(changing, []);
            });

            it("mints no new istio-token on the second run while the one on disk has most of its hour left", () => {
                assert.deepEqual(mintedSecond, []);
            });

            it("keeps exactly one istiod hosts line after the second run", () => {
                assert.equal(sandbox.file("etc/hosts").split("\n").filter((line) => istiodLine.test(line)).length, 1);
            });

            it("at boot, before the token exists, lets systemd start neither the sidecar nor the workload", () => {
                assert.deepEqual(activeAtBoot, []);
            });

            it("after a reboot emptied /run, mints the token again and starts istio.service, then the workload", () => {
                assert.equal(afterReboot.code, 0, afterReboot.stderr);
                assert.equal(sandbox.file(tokenPath), fake.gcp.minted[fake.gcp.minted.length - 1]);
                assert.deepEqual(restartsOrStarts(rebootCalls), ["systemctl start istio.service", `systemctl start ${unit}`]);
                assert.deepEqual(sandbox.active(), ["istio.service", unit]);
            });

            it("after a reboot installs nothing and puts the metadata rule back", () => {
                assert.deepEqual(rebootCalls.filter((call) => /^(apt-get|curl-download)/.test(call)), []);
                assert.deepEqual(sandbox.iptables("MESHSCOPE-NO-METADATA"), [guardRule("999")]);
            });
        });
    }

    describe("with bad or missing inputs", () => {
        let sandbox: Sandbox;
        beforeEach(() => {
            sandbox = new Sandbox();
        });
        afterEach(() => sandbox.remove());

        it("fails before changing anything, naming meshscope-cluster-endpoint, when that attribute is missing", async () => {
            const script = bootstrapOf(render("paymentservice"));
            delete fake.gcp.attributes["meshscope-cluster-endpoint"];
            const result = await sandbox.run(script, fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /^meshscope-bootstrap: ERROR: instance metadata attribute meshscope-cluster-endpoint is missing$/m);
            assert.match(result.stderr, /meshscope-cluster-endpoint is missing/);
            assert.deepEqual(sandbox.calls(), []);
        });

        it("fails before changing anything, naming the attribute and value, when the east-west gateway IP is malformed", async () => {
            const script = bootstrapOf(render("checkoutservice"));
            fake.gcp.attributes["meshscope-east-west-gateway-ip"] = "10.128.0.300";
            const result = await sandbox.run(script, fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /ERROR: instance metadata attribute meshscope-east-west-gateway-ip='10\.128\.0\.300' is not an IPv4 address/);
            assert.deepEqual(sandbox.calls(), []);
        });

        it("fails before changing anything when the workload env has a line that is not NAME=value", async () => {
            const script = bootstrapOf(render("paymentservice"));
            fake.gcp.attributes["meshscope-workload-env"] += "not an assignment\n";
            const result = await sandbox.run(script, fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /ERROR: instance metadata attribute meshscope-workload-env is not an env file of NAME=value lines/);
            assert.deepEqual(sandbox.calls(), []);
        });

        it("refuses a Kubernetes API whose certificate the cluster CA did not sign, writing no token", async () => {
            const script = bootstrapOf(render("paymentservice", fake.pki.otherCaPem));
            const result = await sandbox.run(script, fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /ERROR: Kubernetes API GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/boutique\/configmaps\/istio-ca-root-cert failed after 1 attempt\(s\): no answer \(connection or TLS verification with the cluster CA failed\)/);
            assert.equal(sandbox.exists("var/run/secrets/tokens/istio-token"), false);
        });

        it("reports the API's answer when RBAC forbids the TokenRequest", async () => {
            const script = bootstrapOf(render("paymentservice"));
            fake.gcp.grant = { namespace, serviceAccount: "someone-else" };
            const result = await sandbox.run(script, fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /ERROR: Kubernetes API POST .*\/serviceaccounts\/paymentservice\/token failed after 1 attempt\(s\): HTTP 403: .*forbidden/);
        });

        it("retries the Kubernetes API as many times as allowed before giving up", async () => {
            const script = bootstrapOf(render("paymentservice"));
            fake.gcp.grant = { namespace, serviceAccount: "someone-else" };
            const result = await sandbox.run(script, fake.gcp.metadataUrl, { MESHSCOPE_KUBE_ATTEMPTS: "3", MESHSCOPE_KUBE_RETRY_DELAY: "0" });
            assert.notEqual(result.code, 0);
            assert.equal(fake.gcp.requests.filter((request) => request.server === "kube" && request.method === "POST").length, 3);
            assert.match(sandbox.journal(), /failed after 3 attempt\(s\)/);
        });
    });
});
