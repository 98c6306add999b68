// The top-level error handling of a command-line entry (layer-dial, layer-dial-bench): an error the user can
// act on prints its message on one line, anything else its stack; either way the exit status is 1.
import {ModelFileNotFoundError} from "../native/model-file.js";
import {CliUsageError} from "./usage-error.js";

export async function runCli(name: string, main: (argv: string[]) => Promise<void>, argv: string[]): Promise<void> {
    try {
        await main(argv);
    } catch (error) {
        const known =
            error instanceof CliUsageError ||
            // node:util parseArgs: an unknown option, or a value that looks like one (--speed -2)
            String((error as {code?: unknown} | undefined)?.code).startsWith("ERR_PARSE_ARGS_") ||
            error instanceof ModelFileNotFoundError ||
            (error instanceof Error && /Error$/.test(error.name) && error.name !== "Error" && error.name !== "TypeError");
        // a known error is one line, even where its message has several (node's parseArgs adds its hint below)
        console.error(`${name}: ${known ? (error as Error).message.replace(/\s*\n\s*/g, " ") : ((error as Error)?.stack ?? error)}`);
        // a request to an unreachable host may still hold the event loop open; nothing else is left to do
        process.exit(1);
    }
}
