// buildPanelHtml: the CSP and the tags it emits, and that bad inputs are refused rather than escaped
// into something unexpected.
import {test} from "node:test";
import assert from "node:assert/strict";
import {buildPanelHtml, createNonce, InvalidPanelHtmlOptionsError, type PanelHtmlOptions} from "../../extension/panel/panel-html.js";

const source = "https://file+.vscode-resource.vscode-cdn.net";
const options: PanelHtmlOptions = {
    cspSource: source,
    nonce: createNonce(),
    scriptUri: `${source}/ext/dist/webview/panel.js`,
    styleUris: [`${source}/ext/dist/webview/panel.css`],
    codiconUri: `${source}/ext/dist/webview/codicons/codicon.css`
};

test("createNonce: 128 random bits, base64, different every time", () => {
    const nonces = new Set(Array.from({length: 100}, createNonce));
    assert.equal(nonces.size, 100);
    for (const nonce of nonces) assert.equal(Buffer.from(nonce, "base64").length, 16);
});

test("emits the CSP with the nonce, the codicons before the panel's styles, and one nonce'd script", () => {
    const html = buildPanelHtml({...options, title: 'Speed <&> "dial"'});
    assert.ok(
        html.includes(
            `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${options.nonce}'; ` +
                `style-src ${source}; font-src ${source}; img-src ${source} data:">`
        )
    );
    assert.ok(html.indexOf(options.codiconUri) < html.indexOf(options.styleUris[0]));
    assert.deepEqual(html.match(/<script[^>]*>/g), [`<script nonce="${options.nonce}" src="${options.scriptUri}">`]);
    assert.ok(html.includes("<title>Speed &#60;&#38;&#62; &#34;dial&#34;</title>"));
    assert.doesNotMatch(html, /\son[a-z]+=|\sstyle=|<style/i);
});

test("refuses a weak nonce, a CSP source that would add directives, and script-capable URIs", () => {
    const bad: readonly Partial<PanelHtmlOptions>[] = [
        {nonce: "abc"},
        {nonce: "abcdefghijklmnopqrstuvwx' 'unsafe-inline"},
        {cspSource: "https://a; script-src *"},
        {cspSource: "'unsafe-inline'"},
        {cspSource: ""},
        {scriptUri: "javascript:alert(1)"},
        {scriptUri: 'https://x/"><script>'},
        {styleUris: ["data:text/css,body{}"]},
        {codiconUri: ""}
    ];
    for (const override of bad) assert.throws(() => buildPanelHtml({...options, ...override}), InvalidPanelHtmlOptionsError, JSON.stringify(override));
});
