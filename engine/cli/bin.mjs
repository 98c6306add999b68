#!/usr/bin/env node
// The layer-dial command. Runs the TypeScript sources through tsx, so the CLI needs no build step.
import {register} from "tsx/esm/api";

register();
const {main, CliUsageError} = await import("./main.ts");
const {ModelFileNotFoundError} = await import("../native/model-file.ts");
try {
    await main(process.argv.slice(2));
} catch (error) {
    const known = error instanceof CliUsageError || error instanceof ModelFileNotFoundError ||
        (error instanceof Error && /Error$/.test(error.name) && error.name !== "Error" && error.name !== "TypeError");
    console.error(`layer-dial: ${known ? error.message : error?.stack ?? error}`);
    // a request to an unreachable host may still hold the event loop open; nothing else is left to do
    process.exit(1);
}
