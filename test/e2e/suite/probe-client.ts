// The extension-host side of the DOM probe (see probe-protocol.ts).
import {PROBE_URL_VARIABLE, type ProbeRequest, type ProbeResponse} from "./probe-protocol.js";

export class ProbeError extends Error {
    override name = "ProbeError";
}

type Answer<K extends ProbeRequest["kind"]> = Extract<ProbeResponse, {kind: K}>;

export function probeAvailable(): boolean {
    return process.env[PROBE_URL_VARIABLE] !== undefined;
}

export async function probe<K extends ProbeRequest["kind"]>(request: {kind: K}): Promise<Answer<K>> {
    const url = process.env[PROBE_URL_VARIABLE];
    if (url === undefined) throw new ProbeError(`${PROBE_URL_VARIABLE} is not set; this test needs the e2e harness`);
    const response = await fetch(url, {method: "POST", body: JSON.stringify(request), headers: {"content-type": "application/json"}});
    const body = (await response.json()) as ProbeResponse;
    if (body.kind === "error") throw new ProbeError(body.message);
    if (body.kind !== request.kind) throw new ProbeError(`asked ${request.kind}, got ${body.kind}`);
    return body as Answer<K>;
}

/** Asks until `test` accepts the answer: the DOM changes only after the extension host's update reaches the workbench. */
export async function probeUntil<K extends ProbeRequest["kind"]>(
    request: {kind: K},
    test: (answer: Answer<K>) => boolean,
    timeoutMs = 10_000
): Promise<Answer<K>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const answer = await probe(request);
        if (test(answer)) return answer;
        if (Date.now() > deadline)
            throw new ProbeError(`${request.kind}: the condition did not hold within ${timeoutMs} ms; last answer ${JSON.stringify(answer)}`);
        await new Promise<void>((resolve) => setTimeout(resolve, 100));
    }
}
