// Where Layer Dial keeps what it measures or builds, outside any repo: $LAYER_DIAL_CACHE_DIR, else
// $XDG_CACHE_HOME/layer-dial, else ~/.cache/layer-dial.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function layerDialCacheDir(...parts: string[]): string {
    const root = process.env.LAYER_DIAL_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "layer-dial");
    return path.join(root, ...parts);
}

/** write-then-rename, so a reader never sees half a file and an interrupted write leaves none */
export function writeFileAtomically(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), {recursive: true});
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, content);
    fs.renameSync(partial, file);
}
