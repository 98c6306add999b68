// Select text, run Summarize Selection from the palette: the summary editor opens beside, fills with
// generated text, and its header names the level and the kept layers (Quality: all of them).
import assert from "node:assert/strict";
import path from "node:path";
import {closeSummaryEditors, summarizeStory} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

export const summarizeSelection: Scenario = {
    name: "summarize-selection",
    description: "palette → Summarize Selection: the summary editor fills; the header names level and kept layers",
    async run({workbench, modelPath, screenshot}) {
        const {header, headerLine, body} = await summarizeStory(workbench);
        await screenshot();
        assert.equal(header.model, path.basename(modelPath), headerLine);
        assert.equal(header.level, "Quality", headerLine);
        assert.equal(header.target, "1x", headerLine);
        assert.equal(header.layerCount, 5, `stories260K has 5 layers: ${headerLine}`);
        assert.equal(header.keptLayers, header.layerCount, `Quality keeps every layer: ${headerLine}`);
        assert.match(body, /[A-Za-z]{2,}/, "the summary has no generated text");
        await closeSummaryEditors(workbench);
    }
};
