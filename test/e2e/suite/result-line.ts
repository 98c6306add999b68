// The one line the in-extension-host suite prints when it ends; shared by the suite and the harness.
export const RESULT_LINE_PREFIX = "@@layer-dial-e2e-result ";

/** When set, only the suite files whose name contains it run (the harness's --only). */
export const SUITE_FILTER_VARIABLE = "LAYER_DIAL_E2E_SUITE_FILTER";

export type TestOutcome = {
    title: string;
    state: "passed" | "failed" | "skipped";
    durationMs: number;
    error?: string;
};

export type SuiteResult = {tests: TestOutcome[]};

/** The result in a log line, or undefined when the line is something else. */
export function parseResultLine(line: string): SuiteResult | undefined {
    const at = line.indexOf(RESULT_LINE_PREFIX);
    if (at < 0) return undefined;
    const parsed: unknown = JSON.parse(line.slice(at + RESULT_LINE_PREFIX.length));
    if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as {tests?: unknown}).tests)) return undefined;
    return parsed as SuiteResult;
}
