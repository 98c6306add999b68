// README.md is the Marketplace page: it stays true to the manifest (every setting with its default, every
// command) and to its privacy promise, and vsce can package it (no relative links, images from the
// package's media/ folder as PNG).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {SPEED_LEVEL_NAMES} from "../../common/speed-levels.js";
import {readmeImagePaths} from "../../tools/packaging/vsix-contents.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

type Manifest = {
    contributes: {
        commands: {command: string; title: string}[];
        configuration: {properties: Record<string, {default: unknown}>};
    };
};
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Manifest;

/** The rows of the first Markdown table whose header row starts with `| <firstHeader> |`, as cells. */
function tableRows(firstHeader: string): string[][] {
    const lines = readme.split("\n");
    const start = lines.findIndex((line) => line.startsWith(`| ${firstHeader} |`));
    assert.ok(start >= 0, `README has no table headed "${firstHeader}"`);
    const rows: string[][] = [];
    for (const line of lines.slice(start + 2)) {
        if (!line.startsWith("|")) break;
        rows.push(
            line
                .slice(1, -1)
                .split(" | ")
                .map((cell) => cell.trim())
        );
    }
    return rows;
}

/** GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped. */
function anchor(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, "")
        .replace(/ /g, "-");
}

describe("README", () => {
    test("the settings table lists every setting, with its default", () => {
        const rows = tableRows("setting");
        const documented = Object.fromEntries(rows.map(([setting, value]) => [setting.replace(/`/g, ""), value.replace(/`/g, "")]));
        const properties = manifest.contributes.configuration.properties;
        assert.deepEqual(Object.keys(documented).sort(), Object.keys(properties).sort());
        for (const [key, {default: value}] of Object.entries(properties)) assert.equal(documented[key], String(value), key);
    });

    test("the levels table lists every speed level, in the dial's order", () => {
        assert.deepEqual(
            tableRows("level").map(([level]) => level),
            [...SPEED_LEVEL_NAMES]
        );
    });

    test("the commands table lists every command by its title", () => {
        const titles = tableRows("command").map(([title]) => title);
        assert.deepEqual(titles.slice().sort(), manifest.contributes.commands.map((command) => command.title).sort());
    });

    test("no relative links: a link is absolute or an anchor of a heading here (vsce refuses others; the developer documents are not in the VSIX)", () => {
        const headings = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1])));
        const links = [...readme.matchAll(/(?<!!)\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => match[1]);
        assert.ok(links.length > 0);
        for (const link of links) {
            if (link.startsWith("#")) assert.ok(headings.has(link.slice(1)), `${link} names no heading`);
            else assert.match(link, /^https:\/\//, `${link} is relative`);
        }
        assert.doesNotMatch(readme, /<a\s[^>]*href=/i, "a raw HTML link");
    });

    test("its images are PNGs from media/ that exist, a few hundred KB in all", () => {
        const images = readmeImagePaths(readme);
        assert.ok(images.length >= 4, "a picture of the panel, the status bar menu and Summarize Selection's steps");
        let bytes = 0;
        for (const image of images) {
            assert.match(image, /^media\/[\w-]+\.png$/, `${image}: vsce refuses SVG, and the VSIX ships media/`);
            assert.ok(fs.existsSync(path.join(root, image)), `${image} is missing; run npm run screenshots`);
            bytes += fs.statSync(path.join(root, image)).size;
        }
        assert.ok(bytes < 500_000, `README's images weigh ${Math.round(bytes / 1000)} KB`);
        const absolute = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((match) => match[1]).filter((source) => /^[a-z]+:/i.test(source));
        assert.deepEqual(absolute, [], "every image comes from the package");
    });

    test("the privacy promise: the runtime reaches the network only in the two downloads a user starts", () => {
        assert.match(readme, /no network connection except a download you start/);
        // what can open a connection: fetch, node's network modules, WebSocket, node-llama-cpp's downloaders
        const network =
            /\bfetch\(|from "node:(http|https|net|tls|dgram|http2)"|\bWebSocket\b|\bXMLHttpRequest\b|createModelDownloader|resolveModelFile|downloadSequence/;
        const files = runtimeSources();
        assert.ok(files.length > 50, `only ${files.length} runtime sources found`);
        assert.deepEqual(
            files.filter(({text}) => network.test(text)).map(({file}) => file),
            [
                // Enable CUDA (and the CLI's gpu install)
                "common/gpu-backends/install-backend.ts",
                // the CLI's hf: models
                "engine/model-source.ts",
                // Download Recommended Model, after the user confirms the size and source
                "extension/models/model-download.ts"
            ]
        );
        // the engine host never downloads a model: only the command-line tool resolves hf: URIs
        const importers = files.filter(({file, text}) =>
            [...text.matchAll(/from "(\.[^"]+)"/g)].some((match) => path.posix.join(path.posix.dirname(file), match[1]) === "engine/model-source.js")
        );
        assert.deepEqual(
            importers.map(({file}) => file),
            ["engine/cli/main.ts"]
        );
    });
});

/** Every TypeScript file of the rooms that run in the product (extension host, engine host, panel), sorted. */
function runtimeSources(): {file: string; text: string}[] {
    const files: {file: string; text: string}[] = [];
    for (const room of ["common", "engine", "extension", "webview"])
        for (const entry of fs.readdirSync(path.join(root, room), {recursive: true, withFileTypes: true}))
            if (entry.isFile() && entry.name.endsWith(".ts")) {
                const file = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
                files.push({file, text: fs.readFileSync(path.join(root, file), "utf8")});
            }
    return files.sort((a, b) => a.file.localeCompare(b.file));
}
