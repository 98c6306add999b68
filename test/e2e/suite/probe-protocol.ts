// The DOM probe: a loopback HTTP endpoint the e2e harness serves, so tests running inside the extension
// host can ask what the workbench shows (the status bar item's text has no API). Outside the harness
// (e.g. npm run test:vscode) the variable is unset and the tests that need it are skipped.
export const PROBE_URL_VARIABLE = "LAYER_DIAL_E2E_PROBE_URL";

export type ProbeRequest =
    /** The Layer Dial status bar item's text as rendered (icon excluded), or null when it is not shown. */
    | {kind: "statusBarItem"}
    /** Clicks the item and returns the labels of the quick pick it opens, then closes the pick. */
    | {kind: "statusBarPick"};

export type ProbeResponse = {kind: "statusBarItem"; text: string | null} | {kind: "statusBarPick"; labels: string[]} | {kind: "error"; message: string};

export function isProbeRequest(value: unknown): value is ProbeRequest {
    if (typeof value !== "object" || value === null) return false;
    const kind = (value as {kind?: unknown}).kind;
    return kind === "statusBarItem" || kind === "statusBarPick";
}
