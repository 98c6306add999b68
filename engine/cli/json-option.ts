// `--json [FILE]`, the same for every command of layer-dial and layer-dial-bench:
//   --json            print one JSON object on stdout instead of the text output
//   --json FILE       write that object to FILE and keep the text output; the next word is FILE only when it
//                     ends in .json, so `summarize --json notes.txt` still summarizes notes.txt
//   --json=FILE       the same, for a file of any name
import fs from "node:fs";
import path from "node:path";
import {CliUsageError} from "./usage-error.js";

export type JsonOption = {
    /** print the JSON object on stdout, instead of the text output */
    stdout: boolean;
    /** write the JSON object to this file, as well as the text output */
    file?: string;
};

/** Takes `--json`, `--json FILE` and `--json=FILE` out of argv; what is left goes to the command's own parser. */
export function extractJsonOption(argv: readonly string[]): {args: string[]; json: JsonOption} {
    const args: string[] = [];
    let json: JsonOption | undefined;
    const set = (option: JsonOption) => {
        if (json !== undefined) throw new CliUsageError("--json is given more than once");
        json = option;
    };
    for (let index = 0; index < argv.length; index++) {
        const word = argv[index];
        if (word === "--") {
            // everything after -- is a positional, even a word that looks like --json
            args.push(...argv.slice(index));
            break;
        }
        if (word.startsWith("--json=")) {
            const file = word.slice("--json=".length);
            if (file.length === 0) throw new CliUsageError("--json= needs a file name (or use --json alone to print the JSON)");
            set({stdout: false, file});
        } else if (word === "--json") {
            const next = argv[index + 1];
            if (next !== undefined && isJsonFileName(next)) {
                set({stdout: false, file: next});
                index++;
            } else set({stdout: true});
        } else args.push(word);
    }
    return {args, json: json ?? {stdout: false}};
}

/** a word after --json is its file only when it is no option and ends in .json (any case) */
function isJsonFileName(word: string): boolean {
    return !word.startsWith("-") && /\.json$/i.test(word);
}

/** Prints the value (one line) or writes it to the file (indented, parent folders made), as the option says. */
export function emitJson(option: JsonOption, value: unknown, stdout: (text: string) => void = (text) => void process.stdout.write(text)): void {
    if (option.file !== undefined) {
        const file = path.resolve(option.file);
        fs.mkdirSync(path.dirname(file), {recursive: true});
        fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
    }
    if (option.stdout) stdout(`${JSON.stringify(value)}\n`);
}
