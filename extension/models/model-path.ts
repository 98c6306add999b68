// Where the `layerDial.model` setting points: a local .gguf file (absolute, ~/…, or relative to the
// first workspace folder) or an hf: URI that resolves to a file in the extension's models folder once
// downloaded. Resolving never touches the network; downloading is a separate, explicit step.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
    ModelFileMissingError,
    ModelNotDownloadedError,
    NoModelConfiguredError,
    NotAGgufFileError,
    RelativeModelPathError,
    UnsupportedModelUriError
} from "../errors.js";
import {fileURLToPath} from "node:url";

export type HfModelUri = {
    uri: string;
    owner: string;
    repo: string;
    /** `hf:<owner>/<repo>/<file path>` */
    filePath?: string;
    /** `hf:<owner>/<repo>:<quant>` */
    quant?: string;
    branch?: string;
};

const NAME = "[A-Za-z0-9][A-Za-z0-9._-]*";
const HF_URI = new RegExp(`^hf:(${NAME})/(${NAME})(?::([A-Za-z0-9._-]+)|/([^#]+))?(?:#([A-Za-z0-9._/-]+))?$`);

/** The parts of an `hf:` URI in the forms node-llama-cpp downloads, or undefined for anything else. */
export function parseHfUri(uri: string): HfModelUri | undefined {
    const match = HF_URI.exec(uri.trim());
    if (match === null) return undefined;
    const [, owner, repo, quant, filePath, branch] = match;
    if (filePath !== undefined && (filePath.split("/").some((part) => part === ".." || part === "") || !filePath.endsWith(".gguf"))) return undefined;
    return {uri: uri.trim(), owner, repo, quant, filePath, branch};
}

/** The file name a download of `uri` is saved under: unique per repository and file, safe on every file system. */
export function downloadFileName(uri: HfModelUri): string | undefined {
    if (uri.filePath === undefined) return undefined;
    return [uri.owner, uri.repo, uri.filePath.replace(/\//g, "_")].join("__").replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Downloads made by URI form `hf:<owner>/<repo>:<quant>` are looked up here (their file name comes from the server). */
export const DOWNLOADS_INDEX_FILE = "downloads.json";

export type DownloadsIndex = Record<string, string>;

export function readDownloadsIndex(modelsDirectory: string): DownloadsIndex {
    try {
        const parsed: unknown = JSON.parse(fs.readFileSync(path.join(modelsDirectory, DOWNLOADS_INDEX_FILE), "utf8"));
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
        return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
    } catch {
        return {};
    }
}

export function recordDownload(modelsDirectory: string, uri: string, filePath: string): void {
    const index = {...readDownloadsIndex(modelsDirectory), [uri]: filePath};
    fs.mkdirSync(modelsDirectory, {recursive: true});
    const file = path.join(modelsDirectory, DOWNLOADS_INDEX_FILE);
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, `${JSON.stringify(index, null, 2)}\n`);
    fs.renameSync(partial, file);
}

export type ModelLocation = {kind: "file"; path: string} | {kind: "hf"; uri: HfModelUri; path: string; downloaded: boolean};

export type ResolveModelOptions = {
    /** the first workspace folder, for relative paths */
    workspaceFolder?: string;
    /** where downloads live (the extension's global storage) */
    modelsDirectory: string;
    /** Defaults to os.homedir(). */
    homeDirectory?: string;
};

/** Turns the setting into a location; throws a named error with the next step when it cannot. */
export function resolveModelSetting(setting: string, options: ResolveModelOptions): ModelLocation {
    const value = setting.trim();
    if (value === "")
        throw new NoModelConfiguredError(
            'No model is configured. Run "Layer Dial: Select Model" to pick a .gguf file, ' + 'or "Layer Dial: Download Recommended Model".'
        );
    if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) {
        // fileURLToPath decodes %20 and UTF-8 escapes (and drive letters on Windows), which URL.pathname does not
        if (value.startsWith("file://")) return {kind: "file", path: fileURLToPath(value)};
        const uri = parseHfUri(value);
        if (uri === undefined)
            throw new UnsupportedModelUriError(
                `layerDial.model "${value}" is not a file path or a supported hf: URI ` +
                    '(hf:<owner>/<repo>/<file>.gguf or hf:<owner>/<repo>:<quant>). Fix the setting or run "Layer Dial: Select Model".'
            );
        const indexed = readDownloadsIndex(options.modelsDirectory)[uri.uri];
        const fileName = downloadFileName(uri);
        const expected = indexed ?? (fileName === undefined ? undefined : path.join(options.modelsDirectory, fileName));
        return {
            kind: "hf",
            uri,
            path: expected ?? path.join(options.modelsDirectory, "(not downloaded)"),
            downloaded: expected !== undefined && isFile(expected)
        };
    }
    const home = options.homeDirectory ?? os.homedir();
    const expanded = value === "~" ? home : value.startsWith("~/") ? path.join(home, value.slice(2)) : value;
    if (path.isAbsolute(expanded)) return {kind: "file", path: path.normalize(expanded)};
    if (options.workspaceFolder === undefined)
        throw new RelativeModelPathError(
            `layerDial.model "${value}" is a relative path, and no folder is open to resolve it against. ` +
                'Open the folder it is relative to, or use an absolute path ("Layer Dial: Select Model" writes one).'
        );
    return {kind: "file", path: path.resolve(options.workspaceFolder, expanded)};
}

function isFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

const GGUF_MAGIC = Buffer.from("GGUF", "ascii");

/**
 * Checks what can be checked without loading: the file exists, is a file, and starts with the GGUF
 * magic. A half-downloaded or renamed file is caught here with a clear message instead of llama.cpp's.
 */
export async function checkModelFile(location: ModelLocation): Promise<string> {
    if (location.kind === "hf" && !location.downloaded)
        throw new ModelNotDownloadedError(
            `The model ${location.uri.uri} has not been downloaded yet. ` +
                'Download it (about 1 GB for the recommended model), or pick a local .gguf file with "Layer Dial: Select Model".',
            location.uri.uri
        );
    const file = location.path;
    let stat: fs.Stats;
    try {
        stat = await fs.promises.stat(file);
    } catch {
        throw new ModelFileMissingError(
            `Model file not found: ${file}. Pick an existing .gguf file with "Layer Dial: Select Model", ` + "or fix the layerDial.model setting."
        );
    }
    if (!stat.isFile()) throw new ModelFileMissingError(`${file} is not a file. Pick a .gguf model file with "Layer Dial: Select Model".`);
    const header = Buffer.alloc(4);
    const handle = await fs.promises.open(file, "r");
    try {
        await handle.read(header, 0, 4, 0);
    } finally {
        await handle.close();
    }
    if (!header.equals(GGUF_MAGIC))
        throw new NotAGgufFileError(
            `${path.basename(file)} is not a GGUF model file` +
                (stat.size === 0 ? " (it is empty)" : "") +
                ". It may be an incomplete download or another format; " +
                'download it again, or pick a .gguf file with "Layer Dial: Select Model".'
        );
    return file;
}
