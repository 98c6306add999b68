// Writes the fixtures the device check needs into test/.fixtures/: the tiny test models, and with --bench
// the 24-layer speed-benchmark model (about 1.3 GB; `npm run fixtures` would also write its FIM twin,
// which the check does not use). Files already current are skipped, so a second call costs nothing.
//   node --import tsx bench/device/write-fixtures.ts [--bench]
import {BENCH_FIXTURE, TEST_FIXTURES, ensureFixture} from "../../test/fixtures/fixture-models.js";

const unknown = process.argv.slice(2).filter((argument) => argument !== "--bench");
if (unknown.length > 0) {
    console.error(`Unknown argument(s): ${unknown.join(" ")}. Use --bench or no argument.`);
    process.exit(2);
}
const models = process.argv.includes("--bench") ? [...TEST_FIXTURES, BENCH_FIXTURE] : TEST_FIXTURES;
for (const model of models) {
    const result = await ensureFixture(model);
    const megabytes = (result.bytes / (1024 * 1024)).toFixed(result.bytes < 10 * 1024 * 1024 ? 2 : 0);
    console.log(`${result.action === "written" ? "wrote  " : "current"} ${model.id}.gguf (${megabytes} MiB, ${(result.ms / 1000).toFixed(1)} s)`);
}
