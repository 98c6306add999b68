// Which architectures can skip layers is the patched libllama's own list, read at run time. The synthetic
// GGUF writer knows which architectures it can write (its layout table); the two must be the same set, so
// an architecture added to the patch without a fixture layout (or the reverse) fails here. A binary
// without the list (stock node-llama-cpp, or a Layer Dial build older than the list) is refused.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {test} from "node:test";
import {layerSkipArchitecturesOf} from "../../engine/native/loader.js";
import {SYNTHETIC_ARCHITECTURES} from "../fixtures/gguf/synthetic.js";
import {patchedBuild} from "./harness.js";

const sorted = (names: Iterable<string>) => [...names].sort();

test("the patched build can skip layers of exactly the architectures the synthetic writer writes", async () => {
    const {llama, layerSkipArchitectures} = await patchedBuild();
    assert.deepEqual(
        sorted(layerSkipArchitectures),
        sorted(SYNTHETIC_ARCHITECTURES),
        "native/patches/llama.cpp (LLAMA_LAYER_SKIP_ARCHS) and test/fixtures/gguf/architectures.ts (LAYOUTS) disagree: " +
            "give every architecture with the skip guard a fixture layout, and only those"
    );
    assert.equal(new Set(SYNTHETIC_ARCHITECTURES).size, SYNTHETIC_ARCHITECTURES.length);
    // openModel asks the Llama it loads with; that answer is the same list
    assert.deepEqual(sorted(layerSkipArchitecturesOf(llama)), sorted(layerSkipArchitectures));
});

test("a stock node-llama-cpp binary, which cannot list the architectures, is refused", {timeout: 60_000}, (t) => {
    const stockBins = path.join(
        import.meta.dirname,
        "../../node_modules/@node-llama-cpp",
        `${process.platform}-${process.arch}`,
        "bins",
        `${process.platform}-${process.arch}`
    );
    if (!fs.existsSync(path.join(stockBins, "llama-addon.node"))) {
        t.skip(`no stock node-llama-cpp binary for ${process.platform}-${process.arch}`);
        return;
    }
    // in its own process: a stock libllama beside the patched one in the test process would share symbol names
    const loader = new URL("../../engine/native/loader.ts", import.meta.url).href;
    const script = `const {loadPatchedLlama} = await import(${JSON.stringify(loader)});
        try { await loadPatchedLlama({nativeDirectory: ${JSON.stringify(stockBins)}, gpu: "cpu"}); console.log("LOADED"); }
        catch (error) { console.log(\`\${error.name}: \${error.message}\`); }`;
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {encoding: "utf8", timeout: 50_000});
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^PatchedBuildInvalidError: .*stock node-llama-cpp binary.*lacks .*getLayerSkipArchitectures/m, result.stdout);
    assert.match(result.stdout, /npm run build:native -- --force/);
});
