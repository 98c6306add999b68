// Writes a `layerDial.*` setting where the user defined it (folder, then workspace), else in the user
// settings: a command that changes a setting must not be overridden by a value it did not see.
import * as vscode from "vscode";

export async function updateSetting(key: string, value: unknown): Promise<void> {
    const configuration = vscode.workspace.getConfiguration("layerDial");
    const inspected = configuration.inspect(key);
    const target =
        inspected?.workspaceFolderValue !== undefined
            ? vscode.ConfigurationTarget.WorkspaceFolder
            : inspected?.workspaceValue !== undefined
              ? vscode.ConfigurationTarget.Workspace
              : vscode.ConfigurationTarget.Global;
    await configuration.update(key, value, target);
}
