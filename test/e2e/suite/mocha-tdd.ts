// Mocha's TDD interface, typed here rather than through @types/mocha: the root type-check covers these
// files and runs before test/e2e's own packages are installed. index.ts installs mocha's globals
// ("pre-require") before any test file is required, so reading them at call time is safe.
/** `this` in a test: skip() marks it pending (e.g. a check that needs the e2e harness's DOM probe). */
export type TestContext = {skip(): never};
export type TestFunction = (this: TestContext) => void | Promise<void>;

type MochaGlobals = {
    suite: (title: string, body: () => void) => void;
    test: (title: string, body: TestFunction) => void;
    suiteSetup: (body: TestFunction) => void;
    suiteTeardown: (body: TestFunction) => void;
    setup: (body: TestFunction) => void;
    teardown: (body: TestFunction) => void;
};

function globals(): MochaGlobals {
    return globalThis as unknown as MochaGlobals;
}

export function suite(title: string, body: () => void): void {
    globals().suite(title, body);
}
export function test(title: string, body: TestFunction): void {
    globals().test(title, body);
}
export function suiteSetup(body: TestFunction): void {
    globals().suiteSetup(body);
}
export function suiteTeardown(body: TestFunction): void {
    globals().suiteTeardown(body);
}
export function teardown(body: TestFunction): void {
    globals().teardown(body);
}
