// Change the level through the status bar item's quick pick: the item's text changes, and the next
// summary's header reports the level and the kept-layer count the pick predicted.
import assert from "node:assert/strict";
import {SPEED_LEVEL_NAMES} from "../../../common/speed-levels.js";
import {closeSummaryEditors, speedItem, summarizeStory, waitForSpeedItemText} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

const LEVELS = [...SPEED_LEVEL_NAMES];

export const speedLevelStatusBar: Scenario = {
    name: "speed-level-status-bar",
    description: "status bar item → pick Fast: the item shows 1.5x; the next summary keeps fewer layers",
    async run({workbench, screenshot}) {
        const before = await waitForSpeedItemText(workbench, (text) => /^[\d.]+x$/.test(text));
        assert.equal(before, "1x", "the run starts at Quality");
        await speedItem(workbench).click();
        const labels = await workbench.waitForQuickPickLabels();
        assert.deepEqual(
            labels.map((label) => /^\w+/.exec(label)?.[0]),
            LEVELS,
            labels.join(" | ")
        );
        // with the model loaded (the previous scenario), each row says what it keeps: "1.5x · 3/5 layers · predicted 1.43x"
        const description = await workbench.quickPickDescription("Fast");
        const predicted = /(\d+)\/(\d+) layers/.exec(description);
        assert.ok(predicted !== null, `the Fast row does not say how many layers it keeps: ${description}`);
        await screenshot("pick");
        await workbench.pickQuickPickItem("Fast");
        await waitForSpeedItemText(workbench, (text) => text === "1.5x");

        const {header, headerLine, body} = await summarizeStory(workbench);
        await screenshot();
        assert.equal(header.level, "Fast", headerLine);
        assert.equal(header.target, "1.5x", headerLine);
        assert.equal(header.keptLayers, Number(predicted[1]), `the pick predicted ${predicted[0]}: ${headerLine}`);
        assert.ok(header.keptLayers < header.layerCount, `Fast skips at least one layer: ${headerLine}`);
        assert.match(body, /[A-Za-z]{2,}/, "the summary has no generated text");
        await closeSummaryEditors(workbench);
    }
};
