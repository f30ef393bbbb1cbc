// The VM through failures and changes rather than one happy boot: the real launcher, agent and bootstrap
// run in a throwaway root against the loopback metadata server and Kubernetes API, which refuse, fail and
// change the way the real ones do. One `describe` per situation an operator would be paged for.
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { parseVmStatus, VM_STATUS_KEY, VM_STATUS_NAMESPACE } from "../../doctor/vm-status";
import { renderVmBootstrap, VmBootstrap } from "../../vm-bootstrap/render";
import { serviceAccountJwt, useFakeGcp } from "./fake-gcp";
import { namespace, vmInput } from "./inputs";
import { HANG_GUARD_MS, RunResult, Sandbox } from "./sandbox";

const name = "paymentservice";
const unit = `meshscope-${name}.service`;
const bootstrapOf = (rendered: VmBootstrap) => rendered.metadata["meshscope-bootstrap"];
const unitCalls = (calls: string[]) => calls.filter((call) => /^systemctl (enable|start|restart|stop)/.test(call));

/**
 * Waits until `done` holds: for a background agent to reach a point (a journal line), however long a busy machine
 * takes. It gives up early only when the agent has exited without getting there, and otherwise only at the hang guard.
 */
async function until(what: string, done: () => boolean, running: Promise<RunResult>): Promise<void> {
    let ended: RunResult | undefined;
    void running.then((result) => (ended = result));
    const giveUp = Date.now() + HANG_GUARD_MS;
    while (!done()) {
        if (ended !== undefined) throw new Error(`the agent exited (code ${ended.code}) before ${what}:\n${ended.stderr}`);
        if (Date.now() > giveUp) throw new Error(`gave up waiting until ${what} (hang guard)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe("a VM through failures and changes", function () {
    this.timeout(HANG_GUARD_MS);
    const fake = useFakeGcp();
    let sandbox: Sandbox;
    let rendered: VmBootstrap;

    beforeEach(() => {
        rendered = renderVmBootstrap(vmInput(name, { endpoint: fake.gcp.kubeEndpoint, caCertPem: fake.pki.clusterCaPem }));
        fake.gcp.reset();
        fake.gcp.attributes = { ...rendered.metadata };
        fake.gcp.grant = { namespace, serviceAccount: name };
        sandbox = new Sandbox();
    });

    afterEach(() => sandbox.remove());

    /** GCE's first boot: the startup script (the launcher), then the agent it installed, as systemd runs it. */
    async function boot(env: Record<string, string> = {}): Promise<RunResult> {
        const launched = await sandbox.run(rendered.metadata["startup-script"], fake.gcp.metadataUrl);
        assert.equal(launched.code, 0, launched.stderr);
        return sandbox.run(sandbox.file("usr/local/sbin/meshscope-agent"), fake.gcp.metadataUrl, env);
    }

    describe("the launcher, GCE's startup script", () => {
        beforeEach(async () => {
            const result = await sandbox.run(rendered.metadata["startup-script"], fake.gcp.metadataUrl);
            assert.equal(result.code, 0, result.stderr);
        });

        it("installs the agent from the meshscope-agent attribute, executable", () => {
            assert.equal(sandbox.file("usr/local/sbin/meshscope-agent"), rendered.metadata["meshscope-agent"]);
            assert.equal(sandbox.mode("usr/local/sbin/meshscope-agent"), "755");
        });

        it("enables and starts meshscope-agent.service, restarted always and never given up on", () => {
            const text = sandbox.file("etc/systemd/system/meshscope-agent.service");
            assert.match(text, /^ExecStart=\/usr\/local\/sbin\/meshscope-agent$/m);
            assert.match(text, /^Restart=always$/m);
            assert.match(text, /^StartLimitIntervalSec=0$/m);
            assert.deepEqual(unitCalls(sandbox.calls()), ["systemctl enable meshscope-agent.service", "systemctl restart meshscope-agent.service"]);
        });

        it("does nothing but make sure the agent runs at the next boot", async () => {
            const before = sandbox.calls().length;
            const again = await sandbox.run(rendered.metadata["startup-script"], fake.gcp.metadataUrl);
            assert.equal(again.code, 0, again.stderr);
            assert.deepEqual(sandbox.calls().slice(before), ["systemctl start meshscope-agent.service"]);
        });
    });

    describe("when the Kubernetes API refuses the VM for its first attempts (RBAC bound late)", () => {
        let result: RunResult;
        beforeEach(async () => {
            fake.gcp.refuseFirst = 3;
            result = await boot({ MESHSCOPE_AGENT_MAX_RUNS: "1" });
        });

        it("the agent keeps retrying until the bootstrap converges", () => {
            assert.equal(result.code, 0, result.stderr);
            assert.match(sandbox.journal(), /^meshscope-agent: converged \(run 1\)/m);
            assert.equal((sandbox.journal().match(/^meshscope-agent: bootstrap failed/gm) ?? []).length, 3);
        });

        it("backs off exponentially between attempts", () => {
            assert.deepEqual(sandbox.calls().filter((call) => call.startsWith("sleep")), ["sleep 5", "sleep 10", "sleep 20"]);
        });

        it("ends with the sidecar and the workload running", () => {
            assert.deepEqual(sandbox.active(), ["istio.service", "meshscope-agent.service", unit]);
        });

        it("reports every run to the guest attributes, the failed ones with the bootstrap's error, in the doctor's schema", () => {
            const reports = fake.gcp.guestAttributes.filter((a) => a.namespace === VM_STATUS_NAMESPACE && a.key === VM_STATUS_KEY)
                .map((a) => parseVmStatus(a.value, "the agent's report"));
            assert.deepEqual(reports.map((r) => [r.bootstrap.phase, r.bootstrap.exitCode]), [["failed", 1], ["failed", 1], ["failed", 1], ["done", 0]]);
            assert.match(reports[0].bootstrap.lastError ?? "", /Kubernetes API .* HTTP 403/);
            assert.equal(reports[3].bootstrap.lastError, null);
            assert.equal(reports[3].workload, name);
        });

        it("reports istiod's host and the east-west gateway IP from the attributes, and the ALS address of the mesh config", () => {
            const report = parseVmStatus(fake.gcp.guestAttributes.at(-1)!.value, "the agent's report");
            assert.deepEqual([report.istiod.host, report.istiod.expectedIp], ["istiod.istio-system.svc", "10.128.0.20"]);
            assert.equal(report.als.address, "10.128.0.30:11800");
            assert.deepEqual(report.units.map((u) => u.name), ["istio.service", unit]);
        });
    });

    describe("checkoutservice's status report", () => {
        it("checks DNS and the sidecar's cluster for every callee of its env", async () => {
            const checkout = renderVmBootstrap(vmInput("checkoutservice", { endpoint: fake.gcp.kubeEndpoint, caCertPem: fake.pki.clusterCaPem }));
            fake.gcp.attributes = { ...checkout.metadata };
            fake.gcp.grant = { namespace, serviceAccount: "checkoutservice" };
            const launched = await sandbox.run(checkout.metadata["startup-script"], fake.gcp.metadataUrl);
            assert.equal(launched.code, 0, launched.stderr);
            const result = await sandbox.run(sandbox.file("usr/local/sbin/meshscope-agent"), fake.gcp.metadataUrl, { MESHSCOPE_AGENT_MAX_RUNS: "1" });
            assert.equal(result.code, 0, result.stderr);
            const report = parseVmStatus(fake.gcp.guestAttributes.at(-1)!.value, "the agent's report");
            const callees = checkout.metadata["meshscope-workload-env"].split("\n").filter((l) => /_ADDR=/.test(l)).map((l) => l.split("=")[1].split(":")[0]);
            assert.equal(callees.length, 6);
            assert.deepEqual(report.dns.map((d) => d.host).sort(), [...callees].sort());
            // No sidecar runs in the sandbox: its admin is unreachable and no cluster is present, which the doctor reports.
            assert.equal(report.sidecar.adminReachable, false);
            assert.equal(report.sidecar.clusters.length, 6);
        });
    });

    describe("when each Google access token is good for only two API calls and the API refuses the first three", () => {
        let result: RunResult;
        beforeEach(async () => {
            fake.gcp.accessTokenUses = 2;
            fake.gcp.refuseFirst = 3;
            result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl, { MESHSCOPE_KUBE_ATTEMPTS: "5", MESHSCOPE_KUBE_RETRY_DELAY: "0" });
        });

        it("succeeds within its own retries, a fresh token per attempt", () => {
            assert.equal(result.code, 0, result.stderr);
            const bearers = fake.gcp.requests.filter((request) => request.server === "kube").map((request) => request.headers.authorization);
            assert.equal(new Set(bearers).size, bearers.length);
        });

        it("never meets a 401 from an outworn token", () => {
            assert.doesNotMatch(sandbox.journal(), /HTTP 401/);
        });
    });

    describe("when the cluster is down on a later boot", () => {
        let activeAtBoot: string[];
        let whileDown: RunResult;
        let activeWhileDown: string[];
        let tokenWhileDown: boolean;
        let afterRecovery: RunResult;
        beforeEach(async () => {
            const first = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(first.code, 0, first.stderr);
            activeAtBoot = sandbox.reboot();
            fake.gcp.kubeDown = true;
            whileDown = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            activeWhileDown = sandbox.active();
            tokenWhileDown = sandbox.exists("var/run/secrets/tokens/istio-token");
            fake.gcp.kubeDown = false;
            afterRecovery = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
        });

        it("systemd starts neither the sidecar nor the workload at boot", () => {
            assert.deepEqual(activeAtBoot, []);
        });

        it("the bootstrap fails, naming the API it could not reach", () => {
            assert.notEqual(whileDown.code, 0);
            assert.match(sandbox.journal(), /ERROR: Kubernetes API GET .* failed after 1 attempt\(s\): no answer/);
        });

        it("the workload stays stopped while its sidecar cannot start: it never runs outside the mesh", () => {
            assert.deepEqual(activeWhileDown, []);
            assert.equal(tokenWhileDown, false);
        });

        it("once the cluster answers, the next run starts the sidecar and then the workload", () => {
            assert.equal(afterRecovery.code, 0, afterRecovery.stderr);
            assert.deepEqual(sandbox.active(), ["istio.service", unit]);
        });
    });

    describe("when the sidecar stops", () => {
        it("systemd stops the workload with it (BindsTo)", async () => {
            const first = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(first.code, 0, first.stderr);
            sandbox.systemctl("stop", "istio.service");
            assert.deepEqual(sandbox.active(), []);
        });
    });

    describe("when the workload's env changes while the agent runs", () => {
        let result: RunResult;
        let callsBefore: number;
        let mintedBefore: number;
        beforeEach(async () => {
            const running = boot({ MESHSCOPE_AGENT_MAX_RUNS: "2" });
            await until("the agent converged once", () => /converged \(run 1\)/.test(sandbox.journal()), running);
            callsBefore = sandbox.calls().length;
            mintedBefore = fake.gcp.minted.length;
            fake.gcp.update({ "meshscope-workload-env": `${fake.gcp.attributes["meshscope-workload-env"]}LOG_LEVEL=debug\n` });
            result = await running;
        });

        it("the agent notices without a reboot and runs the bootstrap again", () => {
            assert.equal(result.code, 0, result.stderr);
            assert.match(sandbox.journal(), /converged \(run 2\)/);
            assert.match(sandbox.file(`etc/meshscope/${name}.env`), /^LOG_LEVEL=debug$/m);
        });

        it("restarts the workload only, not the sidecar", () => {
            assert.deepEqual(unitCalls(sandbox.calls().slice(callsBefore)), [`systemctl restart ${unit}`]);
        });

        it("mints no new istio-token for it", () => {
            assert.equal(fake.gcp.minted.length, mintedBefore);
        });
    });

    describe("when the mesh config changes (a new ALS address)", () => {
        let callsBefore: number;
        let mintedBefore: number;
        let result: RunResult;
        beforeEach(async () => {
            const first = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(first.code, 0, first.stderr);
            callsBefore = sandbox.calls().length;
            mintedBefore = fake.gcp.minted.length;
            const mesh = YAML.parse(fake.gcp.attributes["meshscope-mesh-config"]);
            mesh.defaultConfig.envoyAccessLogService.address = "10.128.0.31:11800";
            fake.gcp.update({ "meshscope-mesh-config": YAML.stringify(mesh) });
            result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
        });

        it("restarts the sidecar (systemd takes the bound workload along), and only that", () => {
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(unitCalls(sandbox.calls().slice(callsBefore)), ["systemctl restart istio.service"]);
        });

        it("gives the restarting sidecar a fresh istio-token", () => {
            assert.equal(fake.gcp.minted.length, mintedBefore + 1);
            assert.equal(sandbox.file("var/run/secrets/tokens/istio-token"), fake.gcp.minted[fake.gcp.minted.length - 1]);
        });
    });

    describe("when the istio-token on disk is about to run out", () => {
        let callsBefore: number;
        let mintedBefore: number;
        let result: RunResult;
        beforeEach(async () => {
            const first = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(first.code, 0, first.stderr);
            // Minted 50 minutes ago: 10 minutes left.
            const old = serviceAccountJwt(fake.gcp.grant, Math.floor(Date.now() / 1000) - 3000, 3600, 0);
            writeFileSync(join(sandbox.root, "var/run/secrets/tokens/istio-token"), old);
            callsBefore = sandbox.calls().length;
            mintedBefore = fake.gcp.minted.length;
            result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
        });

        it("mints a fresh one, so a sidecar restart always finds a valid token", () => {
            assert.equal(result.code, 0, result.stderr);
            assert.equal(fake.gcp.minted.length, mintedBefore + 1);
            assert.equal(sandbox.file("var/run/secrets/tokens/istio-token"), fake.gcp.minted[fake.gcp.minted.length - 1]);
        });

        it("restarts nothing for it", () => {
            assert.deepEqual(unitCalls(sandbox.calls().slice(callsBefore)), []);
        });
    });

    describe("when an operator runs `sudo systemctl restart meshscope-agent` (the doctor's advice)", () => {
        it("the restarted agent runs the bootstrap again at once, with no metadata change", async () => {
            const first = await boot({ MESHSCOPE_AGENT_MAX_RUNS: "1" });
            assert.equal(first.code, 0, first.stderr);
            const before = (sandbox.journal().match(/^meshscope-bootstrap: done: /gm) ?? []).length;
            // systemd's restart: the unit's ExecStart, the installed agent, started afresh.
            const execStart = /^ExecStart=(.*)$/m.exec(sandbox.file("etc/systemd/system/meshscope-agent.service"))?.[1];
            assert.equal(execStart, "/usr/local/sbin/meshscope-agent");
            const restarted = await sandbox.run(sandbox.file(execStart.slice(1)), fake.gcp.metadataUrl, { MESHSCOPE_AGENT_MAX_RUNS: "1" });
            assert.equal(restarted.code, 0, restarted.stderr);
            assert.equal((sandbox.journal().match(/^meshscope-bootstrap: done: /gm) ?? []).length, before + 1);
        });
    });

    describe("when the bootstrap logic itself is edited", () => {
        it("the running agent runs the new bootstrap from metadata, no new VM needed", async () => {
            const running = boot({ MESHSCOPE_AGENT_MAX_RUNS: "2" });
            await until("the agent converged once", () => /converged \(run 1\)/.test(sandbox.journal()), running);
            const edited = bootstrapOf(rendered).replace(/^log "done: /m, 'log "edited bootstrap ran"\nlog "done: ');
            fake.gcp.update({ "meshscope-bootstrap": edited });
            const result = await running;
            assert.equal(result.code, 0, result.stderr);
            assert.match(sandbox.journal(), /^meshscope-bootstrap: edited bootstrap ran$/m);
        });
    });

    describe("when the agent itself is edited", () => {
        it("the running agent installs the new one and exits for systemd to start it", async () => {
            const running = boot();
            await until("the agent converged once", () => /converged \(run 1\)/.test(sandbox.journal()), running);
            const edited = `${rendered.metadata["meshscope-agent"]}# edited\n`;
            fake.gcp.update({ "meshscope-agent": edited });
            const result = await running;
            assert.equal(result.code, 0, result.stderr);
            assert.equal(readFileSync(join(sandbox.root, "usr/local/sbin/meshscope-agent"), "utf8"), edited);
            assert.match(sandbox.journal(), /installed a new agent/);
        });
    });

    describe("when a wrong east-west gateway IP restarts the sidecar away from istiod, then the corrected IP arrives", () => {
        const captureEnv = () => ({ SHIM_REACHABLE_ISTIOD: "10.128.0.20", SHIM_KUBE_ENDPOINT: fake.gcp.kubeEndpoint });
        const reports = () => fake.gcp.guestAttributes.filter((a) => a.namespace === VM_STATUS_NAMESPACE && a.key === VM_STATUS_KEY)
            .map((a) => parseVmStatus(a.value, "the agent's report"));
        let result: RunResult;
        let activeWhileCut: string[];
        let hostsWhileCut: string;
        let reportsWhileCut: number;
        beforeEach(async () => {
            const running = boot({ ...captureEnv(), MESHSCOPE_AGENT_MAX_RUNS: "3" });
            await until("the agent converged once", () => /converged \(run 1\)/.test(sandbox.journal()), running);
            fake.gcp.update({ "meshscope-east-west-gateway-ip": "10.128.0.99" });
            await until("the agent converged on the wrong IP", () => /converged \(run 2\)/.test(sandbox.journal()), running);
            activeWhileCut = sandbox.active();
            hostsWhileCut = sandbox.file("etc/hosts");
            reportsWhileCut = reports().length;
            fake.gcp.update({ "meshscope-east-west-gateway-ip": "10.128.0.20" });
            result = await running;
        });

        it("the sidecar restarts onto the wrong IP, where istiod gives it no listener", () => {
            assert.ok(activeWhileCut.includes("istio.service"), activeWhileCut.join(", "));
            assert.match(hostsWhileCut, /^10\.128\.0\.99 istiod\.istio-system\.svc$/m);
            assert.match(sandbox.file("etc/hosts"), /^10\.128\.0\.20 istiod\.istio-system\.svc$/m);
        });

        it("the agent still sees the corrected metadata and converges without a reboot", () => {
            assert.equal(result.code, 0, result.stderr);
            assert.match(sandbox.journal(), /converged \(run 3\)/);
            assert.deepEqual(sandbox.calls().filter((call) => call.startsWith("captured-refused")), []);
        });

        it("reports each step to the guest attributes, the cut-off one included", () => {
            assert.ok(reportsWhileCut >= 2, String(reportsWhileCut));
            assert.deepEqual(reports().map((r) => [r.bootstrap.phase, r.istiod.expectedIp]).filter((_, i, all) => i === 0 || all[i - 1][1] !== all[i][1]),
                [["done", "10.128.0.20"], ["done", "10.128.0.99"], ["done", "10.128.0.20"]]);
        });

        it("without the capture exclusions the same VM could not even read its metadata (the model can fail)", async () => {
            const withoutExclusions = fake.gcp.attributes["meshscope-cluster-env"].split("\n")
                .filter((line) => !/^ISTIO_(SERVICE_EXCLUDE_CIDR|OUTBOUND_OWNER_GROUPS_EXCLUDE)=/.test(line)).join("\n");
            fake.gcp.update({ "meshscope-cluster-env": withoutExclusions, "meshscope-east-west-gateway-ip": "10.128.0.99" });
            const cut = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl, captureEnv());
            assert.equal(cut.code, 0, cut.stderr);
            const stuck = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl, captureEnv());
            assert.notEqual(stuck.code, 0);
            assert.match(sandbox.journal(), /ERROR: cannot reach the metadata server/);
            assert.ok(sandbox.calls().includes("captured-refused 169.254.169.254"), sandbox.calls().join("\n"));
        });
    });

    describe("when the pinned Istio version moves up and then back down", () => {
        const runs: RunResult[] = [];
        const versions: (string | undefined)[] = [];
        const sidecarRestarts: string[][] = [];
        beforeEach(async () => {
            runs.length = 0;
            versions.length = 0;
            sidecarRestarts.length = 0;
            for (const version of ["1.31.0", "1.31.1", "1.31.0"]) {
                fake.gcp.update({ "meshscope-istio-version": version });
                const before = sandbox.calls().length;
                runs.push(await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl));
                versions.push(sandbox.installed("istio-sidecar"));
                sidecarRestarts.push(unitCalls(sandbox.calls().slice(before)).filter((call) => call.includes("istio.service")));
            }
        });

        it("installs each version in turn, the older one again too (apt-get --allow-downgrades)", () => {
            assert.deepEqual(runs.map((r) => r.code), [0, 0, 0], runs.map((r) => r.stderr).join("\n"));
            assert.deepEqual(versions, ["1.31.0", "1.31.1", "1.31.0"]);
        });

        it("restarts the sidecar on each change of version", () => {
            assert.deepEqual(sidecarRestarts, [["systemctl enable --now istio.service"], ["systemctl restart istio.service"], ["systemctl restart istio.service"]]);
        });
    });

    describe("the istio-sidecar.deb checksum", () => {
        const fakeDebSha = (version: string) => createHash("sha256").update(`Package: istio-sidecar\nVersion: ${version}\n`).digest("hex");

        it("refuses a deb whose bytes differ from the checksum published next to it, installing nothing", async () => {
            const result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl, { SHIM_DEB_TAMPERED: "1" });
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), /ERROR: downloaded istio-sidecar\.deb 1\.31\.0 has SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} its checksum file names: not installing it/);
            assert.equal(sandbox.installed("istio-sidecar"), undefined);
            assert.equal(sandbox.exists("var/cache/meshscope/istio-sidecar-1.31.0.deb.part"), false);
        });

        it("refuses a release whose published checksum is not the one the stack pins", async () => {
            const pinned = renderVmBootstrap({ ...vmInput(name, { endpoint: fake.gcp.kubeEndpoint, caCertPem: fake.pki.clusterCaPem }),
                versions: { istio: "1.31.0", onlineBoutique: "v0.10.6", istioSidecarSha256: "0".repeat(64) } });
            fake.gcp.update({ "meshscope-istio-sidecar-sha256": pinned.metadata["meshscope-istio-sidecar-sha256"] });
            const result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.notEqual(result.code, 0);
            assert.match(sandbox.journal(), new RegExp(`ERROR: the release publishes SHA-256 ${fakeDebSha("1.31.0")} for istio-sidecar\\.deb 1\\.31\\.0, the stack pins 0{64} \\(meshscope:versions\\.istioSidecarSha256\\)`));
            assert.equal(sandbox.installed("istio-sidecar"), undefined);
        });

        it("installs the deb when the stack pins exactly its checksum", async () => {
            fake.gcp.update({ "meshscope-istio-sidecar-sha256": fakeDebSha("1.31.0") });
            const result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(result.code, 0, result.stderr);
            assert.equal(sandbox.installed("istio-sidecar"), "1.31.0");
        });
    });

    describe("when the hosts file has istiod's name among other aliases", () => {
        it("takes only istiod's name off that line and keeps the line's other names and comment", async () => {
            sandbox.remove();
            sandbox = new Sandbox("127.0.0.1 localhost\n10.0.0.5\tbuild-cache istiod.istio-system.svc registry.internal # pinned\n10.9.9.9 istiod.istio-system.svc\n");
            const result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(result.code, 0, result.stderr);
            assert.equal(sandbox.file("etc/hosts"),
                "127.0.0.1 localhost\n10.0.0.5 build-cache registry.internal # pinned\n10.128.0.20 istiod.istio-system.svc\n");
        });

        it("leaves lines that do not name istiod exactly as they were", async () => {
            sandbox.remove();
            sandbox = new Sandbox("# static\n127.0.0.1\tlocalhost\n10.0.0.6 istiod.istio-system.svc.example\n");
            const result = await sandbox.run(bootstrapOf(rendered), fake.gcp.metadataUrl);
            assert.equal(result.code, 0, result.stderr);
            assert.equal(sandbox.file("etc/hosts"), "# static\n127.0.0.1\tlocalhost\n10.0.0.6 istiod.istio-system.svc.example\n10.128.0.20 istiod.istio-system.svc\n");
        });
    });
});
