// A self-contained SVG of quality against predicted speedup, one line per strategy and one panel per
// metric, so a benchmark result opens in any browser without a plotting library.
import type {DepthQuality} from "./sweep.js";

export type QualityPlotOptions = {
    title: string;
    subtitle?: string;
    /** the full model's bits per byte, drawn as a reference line in the bits-per-byte panel */
    fullModelBitsPerByte?: number;
};

type Panel = {title: string; value: (row: DepthQuality) => number; lowerIsBetter: boolean; reference?: number};

const COLOURS: Record<string, string> = {
    even: "#1f77b4",
    paper: "#ff7f0e",
    top: "#2ca02c",
    bottom: "#d62728",
    middle: "#9467bd",
    calibrated: "#111111"
};
const SPARE_COLOURS = ["#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

const PANEL_WIDTH = 400;
const PANEL_HEIGHT = 330;
const MARGIN = {left: 62, right: 18, top: 34, bottom: 48};
const TOP = 96;

export function renderQualityPlotSvg(rows: readonly DepthQuality[], options: QualityPlotOptions): string {
    const panels: Panel[] = [
        {title: "Top-1 agreement with the full model (%)", value: (row) => row.top1Agreement * 100, lowerIsBetter: false},
        {title: "Mean KL(full ‖ skipped), nats/token", value: (row) => row.meanKl, lowerIsBetter: true},
        {title: "Bits per byte of the real next token", value: (row) => row.bitsPerByte, lowerIsBetter: true, reference: options.fullModelBitsPerByte}
    ];
    const strategies = [...new Set(rows.map((row) => row.strategy))];
    const colourOf = (strategy: string, index: number) => COLOURS[strategy] ?? SPARE_COLOURS[index % SPARE_COLOURS.length];
    const width = panels.length * PANEL_WIDTH + 20;
    const height = TOP + PANEL_HEIGHT + 20;
    const xs = rows.map((row) => row.predictedSpeedup);
    const xScale = speedupScale(Math.max(...xs));

    const parts: string[] = [];
    parts.push(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`
    );
    parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
    parts.push(`<text x="16" y="26" font-size="17" font-weight="bold">${escapeXml(options.title)}</text>`);
    if (options.subtitle != null) parts.push(`<text x="16" y="46" fill="#444">${escapeXml(options.subtitle)}</text>`);

    // legend: one entry per strategy, in a row under the title
    let legendX = 16;
    strategies.forEach((strategy, index) => {
        const colour = colourOf(strategy, index);
        parts.push(`<line x1="${legendX}" y1="68" x2="${legendX + 24}" y2="68" stroke="${colour}" stroke-width="${strategy === "calibrated" ? 3 : 2}"/>`);
        parts.push(`<circle cx="${legendX + 12}" cy="68" r="3.5" fill="${colour}"/>`);
        parts.push(`<text x="${legendX + 30}" y="72">${escapeXml(strategy)}</text>`);
        legendX += 44 + strategy.length * 7.5;
    });

    panels.forEach((panel, panelIndex) => {
        const originX = 10 + panelIndex * PANEL_WIDTH;
        const plot = {
            left: originX + MARGIN.left,
            right: originX + PANEL_WIDTH - MARGIN.right,
            top: TOP + MARGIN.top,
            bottom: TOP + PANEL_HEIGHT - MARGIN.bottom
        };
        const values = rows.map(panel.value).filter(Number.isFinite);
        if (panel.reference != null && Number.isFinite(panel.reference)) values.push(panel.reference);
        const yScale = niceScale(Math.min(0, ...values), Math.max(...values));
        // speedup on a log axis: the stops bunch up near 1× and spread out towards the fastest
        const x = (value: number) => plot.left + (Math.log(value / xScale.min) / Math.log(xScale.max / xScale.min)) * (plot.right - plot.left);
        const y = (value: number) => plot.bottom - ((value - yScale.min) / (yScale.max - yScale.min)) * (plot.bottom - plot.top);

        parts.push(`<g>`);
        parts.push(`<text x="${originX + MARGIN.left}" y="${TOP + 10}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`);
        parts.push(
            `<text x="${originX + MARGIN.left}" y="${TOP + 26}" fill="#777" font-size="11">${panel.lowerIsBetter ? "lower is better" : "higher is better"}</text>`
        );
        for (const tick of yScale.ticks) {
            parts.push(`<line x1="${plot.left}" y1="${y(tick).toFixed(1)}" x2="${plot.right}" y2="${y(tick).toFixed(1)}" stroke="#e4e4e4"/>`);
            parts.push(`<text x="${plot.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#333">${formatTick(tick)}</text>`);
        }
        for (const tick of xScale.ticks) {
            parts.push(`<line x1="${x(tick).toFixed(1)}" y1="${plot.top}" x2="${x(tick).toFixed(1)}" y2="${plot.bottom}" stroke="#f0f0f0"/>`);
            parts.push(`<text x="${x(tick).toFixed(1)}" y="${plot.bottom + 16}" text-anchor="middle" fill="#333">${formatTick(tick)}×</text>`);
        }
        parts.push(`<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#888"/>`);
        parts.push(
            `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 36}" text-anchor="middle">predicted speedup, log scale (tensor-bytes cost model)</text>`
        );
        if (panel.reference != null && Number.isFinite(panel.reference)) {
            parts.push(
                `<line x1="${plot.left}" y1="${y(panel.reference).toFixed(1)}" x2="${plot.right}" y2="${y(panel.reference).toFixed(1)}" stroke="#555" stroke-dasharray="5 4"/>`
            );
            parts.push(`<text x="${plot.right - 4}" y="${(y(panel.reference) - 5).toFixed(1)}" text-anchor="end" fill="#555" font-size="11">full model</text>`);
        }
        strategies.forEach((strategy, index) => {
            const colour = colourOf(strategy, index);
            const points = rows
                .filter((row) => row.strategy === strategy && Number.isFinite(panel.value(row)))
                .sort((a, b) => a.predictedSpeedup - b.predictedSpeedup);
            const path = points.map((row) => `${x(row.predictedSpeedup).toFixed(1)},${y(panel.value(row)).toFixed(1)}`).join(" ");
            parts.push(
                `<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="${strategy === "calibrated" ? 2.6 : 1.6}" stroke-linejoin="round"/>`
            );
            for (const row of points)
                parts.push(
                    `<circle cx="${x(row.predictedSpeedup).toFixed(1)}" cy="${y(panel.value(row)).toFixed(1)}" r="2.8" fill="${colour}"><title>${escapeXml(`${strategy}, ${row.depth} layers kept: ${panel.value(row).toFixed(3)} at ${row.predictedSpeedup.toFixed(2)}×`)}</title></circle>`
                );
        });
        parts.push(`</g>`);
    });
    parts.push(`</svg>`);
    return `${parts.join("\n")}\n`;
}

/** A log axis from 1× to a round value at or above the fastest stop, with ticks people read easily. */
export function speedupScale(maxSpeedup: number): {min: number; max: number; ticks: number[]} {
    const candidates = [1, 1.25, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];
    const top = Number.isFinite(maxSpeedup) && maxSpeedup > 1 ? maxSpeedup : 1.25;
    const max = candidates.find((tick) => tick >= top - 1e-9) ?? top;
    // on a wide axis the ticks near 1× would overlap; 1.25× only appears on a short one
    const ticks = candidates.filter((tick) => tick <= max && (tick !== 1.25 || max <= 3));
    return {min: 1, max, ticks: ticks.length > 9 ? ticks.filter((tick, index) => tick <= 2 || index % 2 === 0 || tick === max) : ticks};
}

/** Axis bounds widened to round numbers and about five round ticks between them. */
export function niceScale(min: number, max: number, targetTicks = 5): {min: number; max: number; ticks: number[]} {
    if (!(Number.isFinite(min) && Number.isFinite(max))) return {min: 0, max: 1, ticks: [0, 0.5, 1]};
    if (max - min < 1e-12) {
        min -= 0.5;
        max += 0.5;
    }
    const rough = (max - min) / targetTicks;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
    const low = Math.floor(min / step + 1e-9) * step;
    const high = Math.ceil(max / step - 1e-9) * step;
    const ticks: number[] = [];
    for (let tick = low; tick <= high + step / 2; tick += step) ticks.push(Number(tick.toPrecision(12)));
    return {min: low, max: high, ticks};
}

function formatTick(value: number): string {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

export function escapeXml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
