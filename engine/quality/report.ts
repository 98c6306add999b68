// Quality results as plain-text tables: one pivot per metric, a row per depth, a column per strategy,
// the layout people compare strategies in.
import type {DepthQuality} from "./sweep.js";

type Metric = {title: string; value: (row: DepthQuality) => number; format: (value: number) => string};

export const QUALITY_METRICS: readonly Metric[] = [
    {title: "top-1 agreement with the full model (%)", value: (row) => row.top1Agreement * 100, format: (v) => v.toFixed(1)},
    {title: "mean KL(full‖skipped), nats per token", value: (row) => row.meanKl, format: (v) => v.toFixed(3)},
    {title: "bits per byte of the real next token", value: (row) => row.bitsPerByte, format: (v) => v.toFixed(3)}
];

export function formatQualityTables(rows: readonly DepthQuality[], layerCount: number): string {
    const strategies = [...new Set(rows.map((row) => row.strategy))];
    const depths = [...new Set(rows.map((row) => row.depth))].sort((a, b) => b - a);
    const find = (strategy: string, depth: number) => rows.find((row) => row.strategy === strategy && row.depth === depth);
    const width = Math.max(8, ...strategies.map((name) => name.length + 1));
    const header = `${`kept/${layerCount}`.padStart(8)} ${"speedup".padStart(11)}${strategies.map((name) => name.padStart(width)).join("")}`;
    const sections = QUALITY_METRICS.map((metric) => {
        const lines = depths.map((depth) => {
            const cells = strategies.map((strategy) => {
                const row = find(strategy, depth);
                return (row === undefined ? "-" : metric.format(metric.value(row))).padStart(width);
            });
            return `${String(depth).padStart(8)} ${speedupCell(rows.filter((row) => row.depth === depth)).padStart(11)}${cells.join("")}`;
        });
        return [metric.title, header, ...lines].join("\n");
    });
    return `${sections.join("\n\n")}\n`;
}

/** predicted speedup at a depth: one number when the strategies agree to 2 decimals, else their range */
function speedupCell(rows: readonly DepthQuality[]): string {
    const values = rows.map((row) => row.predictedSpeedup);
    const low = Math.min(...values).toFixed(2);
    const high = Math.max(...values).toFixed(2);
    return low === high ? `${low}x` : `${low}-${high}x`;
}
