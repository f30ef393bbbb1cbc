// Every script of vm-bootstrap/ (and the test's own shims) passes Debian's shellcheck with zero findings,
// style level included.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { HANG_GUARD_MS } from "./sandbox";

const repo = join(__dirname, "../..");

function scriptsUnder(dir: string): string[] {
    return readdirSync(dir)
        .map((name) => join(dir, name))
        .filter((path) => statSync(path).isFile())
        .filter((path) => path.endsWith(".sh") || /^#!.*\b(ba)?sh\b/.test(readFileSync(path, "utf8").split("\n", 1)[0]));
}

const scripts = [...scriptsUnder(join(repo, "vm-bootstrap")), ...scriptsUnder(join(__dirname, "shims"))];

describe("shellcheck", function () {
    // shellcheck takes seconds per script on a busy machine; only a hang should stop it.
    this.timeout(HANG_GUARD_MS);
    before(function () {
        const found = spawnSync("shellcheck", ["--version"]);
        if (found.error) throw new Error("shellcheck is not installed: apt-get install -y shellcheck (.ci/run installs it)");
    });

    it("finds the boot script among the scripts to check", () => {
        assert.ok(scripts.some((path) => path.endsWith("vm-bootstrap/bootstrap.sh")), scripts.join(", "));
    });

    for (const script of scripts) {
        it(`passes ${relative(repo, script)} with zero findings`, () => {
            const result = spawnSync("shellcheck", ["--severity=style", "--external-sources", script], { cwd: repo, encoding: "utf8" });
            assert.equal(result.stdout + result.stderr, "");
            assert.equal(result.status, 0);
        });
    }

    it("would report a finding, so a silent pass means something", () => {
        let failed = false;
        try {
            execFileSync("shellcheck", ["-"], { input: "#!/bin/bash\necho $1\n", stdio: ["pipe", "pipe", "pipe"] });
        } catch {
            failed = true;
        }
        assert.ok(failed);
    });
});
