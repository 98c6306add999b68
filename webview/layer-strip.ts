// One cell per transformer layer, marked "run" or "skipped" for the step on show. Cells are reused
// between updates (only classes change), so dragging the slider over an 80-layer model stays cheap.
import type {SpeedStep} from "../common/panel-messages.js";
import {el} from "./dom.js";

export class LayerStrip {
    readonly element: HTMLElement;
    private readonly cells: HTMLElement;
    private cellList: HTMLElement[] = [];

    constructor() {
        this.cells = el("div", {className: "layer-cells"});
        this.element = el(
            "div",
            {
                className: "layer-strip",
                attrs: {role: "img", id: "layer-strip", "aria-label": "No model loaded"}
            },
            [this.cells]
        );
    }

    update(layerCount: number, step: SpeedStep | undefined): void {
        if (this.cellList.length !== layerCount) {
            this.cellList = Array.from({length: layerCount}, (_, layer) => el("span", {className: "layer-cell", attrs: {"data-layer": String(layer)}}));
            this.cells.replaceChildren(...this.cellList);
            this.cells.style.setProperty("--layers", String(Math.max(1, layerCount)));
        }
        const kept = new Set(step?.keptLayers ?? []);
        for (const [layer, cell] of this.cellList.entries()) {
            const runs = kept.has(layer);
            cell.classList.toggle("run", runs);
            cell.classList.toggle("skipped", !runs);
            cell.title = `Layer ${layer}: ${runs ? "runs" : "skipped"}`;
        }
        const skipped = this.cellList.length - kept.size;
        this.element.setAttribute("aria-label", layerCount === 0 ? "No model loaded" : `${kept.size} of ${layerCount} layers run, ${skipped} skipped`);
    }
}
