// The harness side of the DOM probe (suite/probe-protocol.ts): answers the extension-host tests'
// questions about what the workbench page shows. Loopback only; one page at a time.
import http from "node:http";
import type {AddressInfo} from "node:net";
import type {Page} from "playwright-core";
import {isProbeRequest, type ProbeRequest, type ProbeResponse} from "../suite/probe-protocol.js";
import {Workbench} from "./workbench.js";

/** The Layer Dial item is the one showing the dashboard codicon. */
export const SPEED_ITEM_SELECTOR = ".codicon-dashboard";

export class ProbeServer {
    private page: Page | undefined;

    private constructor(
        private readonly server: http.Server,
        readonly url: string,
        private readonly screenshotDir: string
    ) {}

    static async start(screenshotDir: string): Promise<ProbeServer> {
        const server = http.createServer();
        server.listen(0, "127.0.0.1");
        await new Promise<void>((resolve, reject) => {
            server.once("listening", resolve);
            server.once("error", reject);
        });
        const {port} = server.address() as AddressInfo;
        const probe = new ProbeServer(server, `http://127.0.0.1:${port}/probe`, screenshotDir);
        server.on("request", (request, response) => {
            void probe.handle(request, response);
        });
        return probe;
    }

    /** The page whose workbench the answers describe. */
    attach(page: Page | undefined): void {
        this.page = page;
    }

    private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
        let body = "";
        for await (const chunk of request) body += String(chunk);
        let answer: ProbeResponse;
        try {
            const parsed: unknown = JSON.parse(body);
            if (!isProbeRequest(parsed)) throw new Error(`not a probe request: ${body}`);
            answer = await this.answer(parsed);
        } catch (error) {
            answer = {kind: "error", message: error instanceof Error ? error.message : String(error)};
        }
        response.writeHead(200, {"content-type": "application/json"});
        response.end(JSON.stringify(answer));
    }

    private async answer(request: ProbeRequest): Promise<ProbeResponse> {
        const page = this.page;
        if (page === undefined) throw new Error("no workbench page is attached to the probe");
        const workbench = new Workbench(page, this.screenshotDir);
        const item = workbench.statusBarItem(SPEED_ITEM_SELECTOR);
        switch (request.kind) {
            case "statusBarItem":
                return {kind: "statusBarItem", text: (await item.isVisible()) ? await workbench.statusBarText(item) : null};
            case "statusBarPick": {
                await item.click();
                const labels = await workbench.waitForQuickPickLabels();
                await page.keyboard.press("Escape");
                await page.locator(".quick-input-widget").waitFor({state: "hidden"});
                return {kind: "statusBarPick", labels};
            }
        }
    }

    async stop(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}
