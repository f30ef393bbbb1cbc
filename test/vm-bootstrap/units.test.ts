// The systemd units the VM scripts write, checked by systemd itself: `systemd-analyze verify` loads each one
// in a throwaway root holding the host's own systemd units, a stand-in for the istio.service that
// istio-sidecar.deb ships, and the executables the units name, and must have nothing to say.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { renderVmBootstrap } from "../../vm-bootstrap/render";
import { FakeGcp, makePki } from "./fake-gcp";
import { namespace, VM_SERVICES, vmInput } from "./inputs";
import { HANG_GUARD_MS, Sandbox } from "./sandbox";

const hostUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((dir) => existsSync(join(dir, "multi-user.target")));

/** verify UNIT in ROOT: what systemd-analyze prints (empty when it has no objection) and its exit code. */
function verify(root: string, unit: string): { output: string; status: number | null } {
    const result = spawnSync("systemd-analyze", ["verify", `--root=${root}`, "--man=no", unit], { encoding: "utf8" });
    return { output: (result.stdout + result.stderr).trim(), status: result.status };
}

function executable(root: string, path: string): void {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), "#!/bin/sh\n");
    chmodSync(join(root, path), 0o755);
}

describe("systemd-analyze verify on the units the VM scripts write", function () {
    this.timeout(HANG_GUARD_MS);
    const dir = mkdtempSync(join(tmpdir(), "meshscope-units-"));
    const root = join(dir, "root");
    const written: string[] = [];

    before(async function () {
        if (spawnSync("systemd-analyze", ["--version"]).error || hostUnits === undefined) {
            throw new Error("systemd-analyze and the host's systemd units are needed: apt-get install -y systemd");
        }
        const pki = makePki(dir);
        const gcp = await FakeGcp.start(pki);
        try {
            for (const name of VM_SERVICES) {
                const rendered = renderVmBootstrap(vmInput(name, { endpoint: gcp.kubeEndpoint, caCertPem: pki.clusterCaPem }));
                gcp.reset();
                gcp.attributes = { ...rendered.metadata };
                gcp.grant = { namespace, serviceAccount: name };
                const sandbox = new Sandbox();
                try {
                    for (const script of [rendered.metadata["startup-script"], rendered.metadata["meshscope-bootstrap"]]) {
                        const result = await sandbox.run(script, gcp.metadataUrl);
                        assert.equal(result.code, 0, result.stderr);
                    }
                    cpSync(join(sandbox.root, "etc/systemd/system"), join(root, "etc/systemd/system"), { recursive: true });
                } finally {
                    sandbox.remove();
                }
            }
        } finally {
            await gcp.close();
        }
        cpSync(hostUnits, join(root, "lib/systemd/system"), { recursive: true });
        // Where istio-sidecar.deb puts its unit; only its name and command matter to the units that bind to it.
        writeFileSync(join(root, "lib/systemd/system/istio.service"),
            "[Unit]\nDescription=stand-in for istio-sidecar.deb's unit\n\n[Service]\nExecStart=/usr/local/bin/istio-start.sh\n\n[Install]\nWantedBy=multi-user.target\n");
        for (const path of ["/usr/local/bin/istio-start.sh", "/usr/bin/podman", "/usr/local/sbin/meshscope-agent"]) executable(root, path);
        written.push(...readdirSync(join(root, "etc/systemd/system")).filter((name) => name.endsWith(".service")).sort());
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    it("finds the agent's unit and one unit per VM workload among what the scripts wrote", () => {
        assert.deepEqual(written, ["meshscope-agent.service", ...VM_SERVICES.map((name) => `meshscope-${name}.service`)].sort());
    });

    for (const unit of ["meshscope-agent.service", ...VM_SERVICES.map((name) => `meshscope-${name}.service`)]) {
        it(`has nothing to say about ${unit}`, () => {
            assert.deepEqual(verify(root, unit), { output: "", status: 0 });
        });
    }

    it("has nothing to say about istio.service with the drop-in that holds it back until the token exists", () => {
        assert.ok(readFileSync(join(root, "etc/systemd/system/istio.service.d/10-meshscope.conf"), "utf8").includes("ConditionPathExists="));
        assert.deepEqual(verify(root, "istio.service"), { output: "", status: 0 });
    });

    it("would object to a unit with an unknown key or a bad value, so a silent pass means something", () => {
        writeFileSync(join(root, "etc/systemd/system/broken.service"), "[Unit]\nBindsToo=istio.service\n\n[Service]\nExecStart=/usr/bin/podman\nRestart=sometimes\n");
        const { output } = verify(root, "broken.service");
        assert.match(output, /Unknown key 'BindsToo'/);
        assert.match(output, /restart specifier.*sometimes/);
    });
});
