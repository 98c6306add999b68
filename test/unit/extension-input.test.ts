// Settings, selections and the order requests run in: the extension's checks before the engine sees anything.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {BinarySelectionError, BlankSelectionError, NoSelectionError, SelectionTooLargeError} from "../../extension/errors.js";
import {SerialQueue} from "../../extension/serial-queue.js";
import {DEFAULT_SETTINGS, gpuEnvironment, readSettings, type LayerDialSettings} from "../../extension/settings.js";
import {checkSelection, looksBinary, MAX_SELECTION_CHARACTERS} from "../../extension/commands/text-input.js";

describe("settings", () => {
    test("unset values take the defaults without warnings", () => {
        assert.deepEqual(
            readSettings(() => undefined),
            {settings: DEFAULT_SETTINGS, warnings: []}
        );
        assert.equal(DEFAULT_SETTINGS.speedLevel, "Quality");
        assert.match(DEFAULT_SETTINGS.model, /^hf:Qwen\/Qwen2\.5-Coder-1\.5B-Instruct-GGUF\/.*q4_k_m\.gguf$/);
    });

    test("valid values are kept; the model path is trimmed", () => {
        const values: Record<string, unknown> = {
            model: "  /m/a.gguf ",
            speedLevel: "Faster",
            prefill: "skip",
            gpu: "cpu",
            gpuLayers: 12,
            contextSize: 2048,
            maxTokens: 64,
            temperature: 0
        };
        const {settings, warnings} = readSettings((key) => values[key]);
        assert.deepEqual(settings, {...values, model: "/m/a.gguf"} as LayerDialSettings);
        assert.deepEqual(warnings, []);
    });

    test("a hand-edited bad value falls back to its default and is reported", () => {
        const values: Record<string, unknown> = {
            speedLevel: "fast",
            contextSize: -1,
            maxTokens: 1.5,
            temperature: "hot",
            gpu: "tpu",
            gpuLayers: "most",
            model: 42
        };
        const {settings, warnings} = readSettings((key) => values[key]);
        assert.deepEqual(settings, DEFAULT_SETTINGS);
        assert.equal(warnings.length, 7);
        assert.match(warnings.join("\n"), /layerDial\.speedLevel = "fast" is not valid; using "Quality"/);
    });

    test("gpuLayers takes auto, a whole number, or its digits as a string", () => {
        assert.equal(readSettings((key) => (key === "gpuLayers" ? "auto" : undefined)).settings.gpuLayers, "auto");
        assert.equal(readSettings((key) => (key === "gpuLayers" ? "8" : undefined)).settings.gpuLayers, 8);
        assert.equal(readSettings((key) => (key === "gpuLayers" ? 0 : undefined)).settings.gpuLayers, 0);
        const negative = readSettings((key) => (key === "gpuLayers" ? -3 : undefined));
        assert.equal(negative.settings.gpuLayers, "auto");
        assert.match(negative.warnings.join(), /layerDial\.gpuLayers = -3 is not valid/);
    });

    test("the gpu setting reaches the host as the loader's choice, with where CUDA is installed", () => {
        assert.deepEqual(gpuEnvironment("auto", "/s/backends"), {LAYER_DIAL_GPU: "auto", LAYER_DIAL_BACKENDS_DIR: "/s/backends"});
        assert.deepEqual(gpuEnvironment("cpu", "/s/backends"), {LAYER_DIAL_GPU: "cpu", LAYER_DIAL_BACKENDS_DIR: "/s/backends"});
        assert.deepEqual(gpuEnvironment("cuda", "/s/backends"), {LAYER_DIAL_GPU: "cuda", LAYER_DIAL_BACKENDS_DIR: "/s/backends"});
    });
});

describe("selections", () => {
    test("nothing selected, only whitespace, and binary data each get their own error", () => {
        assert.throws(() => checkSelection({text: undefined, languageId: "python"}), NoSelectionError);
        assert.throws(() => checkSelection({text: "", languageId: "python"}), NoSelectionError);
        assert.throws(() => checkSelection({text: " \n\t\n ", languageId: "python"}), BlankSelectionError);
        assert.throws(() => checkSelection({text: "ELF\u0000\u0001\u0002", languageId: "plaintext"}), BinarySelectionError);
    });

    test("a 10 MB selection is refused before anything is counted or sent, with the limit and what to select instead", () => {
        const tenMegabytes = "def f(x):\n    return x + 1\n".repeat(400_000);
        assert.ok(tenMegabytes.length >= 10_000_000);
        assert.throws(
            () => checkSelection({text: tenMegabytes, languageId: "python"}),
            (error: Error) => error instanceof SelectionTooLargeError && /10\.\d million characters.*at most 1\.0 million.*Select a part/.test(error.message)
        );
        const largest = "x".repeat(MAX_SELECTION_CHARACTERS);
        assert.equal(checkSelection({text: largest, languageId: "plaintext"}), largest);
    });

    test("ordinary code and prose pass unchanged, including tabs, CRLF and non-Latin text", () => {
        const text = "def f(x):\r\n\treturn x  # 数字 → ok\r\n";
        assert.equal(checkSelection({text, languageId: "python"}), text);
    });

    test("binary: any NUL, or many control/replacement characters; a few stray ones are fine", () => {
        assert.equal(looksBinary("abc\u0000def"), true);
        assert.equal(looksBinary("\uFFFD\uFFFD\u0003PNG\u001a\uFFFD".repeat(20)), true);
        assert.equal(looksBinary(`${"normal text ".repeat(50)}\uFFFD`), false);
        assert.equal(looksBinary(""), false);
    });
});

describe("SerialQueue", () => {
    function deferred() {
        let resolve!: () => void;
        const promise = new Promise<void>((done) => {
            resolve = done;
        });
        return {promise, resolve};
    }

    test("a second job waits for the first, is told so, and both complete in order", async () => {
        const queue = new SerialQueue();
        const order: string[] = [];
        const gate = deferred();
        let waited = -1;
        const first = queue.run(async () => {
            order.push("first start");
            await gate.promise;
            order.push("first end");
            return 1;
        });
        const second = queue.run(
            async () => {
                order.push("second");
                return 2;
            },
            {onWait: (ahead) => (waited = ahead)}
        );
        assert.equal(waited, 1);
        assert.equal(queue.size, 2);
        gate.resolve();
        assert.deepEqual(await Promise.all([first, second]), [1, 2]);
        assert.deepEqual(order, ["first start", "first end", "second"]);
        assert.equal(queue.size, 0);
    });

    test("a failing job does not block the next", async () => {
        const queue = new SerialQueue();
        const failed = queue.run(async () => {
            throw new Error("boom");
        });
        const next = queue.run(async () => "ran");
        await assert.rejects(failed, /boom/);
        assert.equal(await next, "ran");
    });

    test("a waiting job can be cancelled without running, and the one after still waits its turn", async () => {
        const queue = new SerialQueue();
        const gate = deferred();
        const order: string[] = [];
        const first = queue.run(async () => {
            await gate.promise;
            order.push("first");
        });
        const controller = new AbortController();
        const cancelled = queue.run(
            async () => {
                order.push("cancelled ran");
            },
            {signal: controller.signal}
        );
        const third = queue.run(async () => {
            order.push("third");
        });
        controller.abort();
        await assert.rejects(cancelled, {name: "AbortError"});
        assert.deepEqual(order, []);
        gate.resolve();
        await Promise.all([first, third]);
        assert.deepEqual(order, ["first", "third"]);
    });
});
