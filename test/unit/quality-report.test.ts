// The benchmark's table and SVG plot, from made-up results.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {formatQualityTables, niceScale, renderQualityPlotSvg, speedupScale, type DepthQuality} from "../../engine/quality/index.js";

function row(strategy: string, depth: number, top1: number): DepthQuality {
    return {
        strategy,
        depth,
        keptLayers: Array.from({length: depth}, (_, i) => i),
        predictedSpeedup: 8 / depth,
        positions: 100,
        top1Agreement: top1,
        meanKl: 1 - top1,
        bitsPerToken: 3 - top1,
        bitsPerByte: 3 - top1
    };
}

const rows = [8, 6, 4, 2].flatMap((depth) => [row("even", depth, depth / 8), row("calibrated", depth, Math.min(1, depth / 7)), row("a<b&c", depth, depth / 9)]);

describe("quality report", () => {
    it("tabulates each metric with a row per depth and a column per strategy", () => {
        const table = formatQualityTables(rows, 8);
        assert.match(table, /top-1 agreement with the full model \(%\)/);
        assert.match(table, /mean KL\(full‖skipped\)/);
        assert.match(table, /bits per byte/);
        const lines = table.split("\n");
        const header = lines.find((line) => line.includes("kept/8"));
        assert.ok(header?.includes("even") && header.includes("calibrated"));
        assert.match(lines.find((line) => /^\s+4\s+2\.00x/.test(line)) ?? "", /50\.0\s+57\.1\s+44\.4/);
    });

    it("draws a self-contained SVG with a legend entry and a line per strategy in each panel", () => {
        const svg = renderQualityPlotSvg(rows, {title: "Quality & speed", subtitle: "on <text>", fullModelBitsPerByte: 2});
        assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        assert.ok(svg.trimEnd().endsWith("</svg>"));
        assert.equal((svg.match(/<polyline /g) ?? []).length, 3 * 3);
        assert.match(svg, />even</);
        assert.match(svg, />calibrated</);
        assert.match(svg, /a&lt;b&amp;c/);
        assert.match(svg, /Quality &amp; speed/);
        assert.ok(!svg.includes("NaN"), "no coordinate may be NaN");
        assert.match(svg, /full model/);
        // every opened element is closed (a cheap well-formedness check without an XML parser)
        const opened = (svg.match(/<(svg|g|text|circle|title)[\s>]/g) ?? []).length;
        const closed = (svg.match(/<\/(svg|g|text|circle|title)>/g) ?? []).length + (svg.match(/<circle [^>]*\/>/g) ?? []).length;
        assert.equal(opened, closed);
    });

    it("picks round axis bounds and ticks", () => {
        assert.deepEqual(niceScale(0, 97), {min: 0, max: 100, ticks: [0, 20, 40, 60, 80, 100]});
        assert.deepEqual(niceScale(0, 2.6).ticks, [0, 1, 2, 3]);
        assert.deepEqual(
            niceScale(1.9, 6.1).ticks,
            [0, 1, 2, 3, 4, 5, 6, 7].filter((tick) => tick >= 1)
        );
        assert.deepEqual(speedupScale(7.46), {min: 1, max: 8, ticks: [1, 1.5, 2, 3, 4, 6, 8]});
        assert.deepEqual(speedupScale(1.2).ticks, [1, 1.25]);
    });
});
