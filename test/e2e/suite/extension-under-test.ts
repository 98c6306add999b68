// Finds and activates Layer Dial in the extension host the tests run in (dev mode or installed).
import * as vscode from "vscode";

/** A command only Layer Dial contributes: the extension is found by what it contributes, not by a publisher id. */
const MARKER_COMMAND = "layerDial.summarizeSelection";

export type ContributedCommand = {command: string; title: string};
export type ContributedSetting = {type?: string | string[]; default?: unknown; description?: string; markdownDescription?: string};
export type Manifest = {
    name: string;
    publisher: string;
    contributes: {
        commands: ContributedCommand[];
        configuration: {properties: Record<string, ContributedSetting>} | {properties: Record<string, ContributedSetting>}[];
    };
};

export class ExtensionNotFoundError extends Error {
    override name = "ExtensionNotFoundError";
}

export function layerDial(): vscode.Extension<unknown> {
    const found = vscode.extensions.all.find((extension) => {
        const manifest = extension.packageJSON as Partial<Manifest>;
        return manifest.contributes?.commands?.some((command) => command.command === MARKER_COMMAND) === true;
    });
    if (found === undefined) throw new ExtensionNotFoundError(`no extension contributes ${MARKER_COMMAND}; is Layer Dial installed or in development mode?`);
    return found;
}

export async function activateLayerDial(): Promise<vscode.Extension<unknown>> {
    const extension = layerDial();
    await extension.activate();
    return extension;
}

export function manifest(): Manifest {
    return layerDial().packageJSON as Manifest;
}

/** Every `layerDial.*` setting the manifest contributes, by full key. */
export function contributedSettings(): Record<string, ContributedSetting> {
    const configuration = manifest().contributes.configuration;
    const sections = Array.isArray(configuration) ? configuration : [configuration];
    return Object.assign({}, ...sections.map((section) => section.properties)) as Record<string, ContributedSetting>;
}
